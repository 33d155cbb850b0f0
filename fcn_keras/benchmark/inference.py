"""Inference cases of the benchmark: which model, at what size and batch, on which runtime, and how one is measured."""

import dataclasses
import itertools

import numpy as np

from fcn_keras.backbones import get_backbone
from fcn_keras.benchmark.timing import PeakMemory, median_seconds
from fcn_keras.defaults import DEFAULT_PADDING
from fcn_keras.models import build_fcn, convolution_flops
from fcn_keras.models.variants import PADDINGS
from fcn_keras.precision import dtype_policy

@dataclasses.dataclass(frozen=True)
class ModelCase:
    """The model of some of the benchmark's inference cases: variant, backbone and geometry (21 classes, as for VOC).

    Example:
        >>> ModelCase("fcn8s", "vgg16", "same").name
        'fcn8s vgg16 same'
    """

    variant: str
    backbone: str
    padding: str
    num_classes: int = 21

    @property
    def name(self):
        return f"{self.variant} {self.backbone} {self.padding}"

    def build(self, policy="float32", size=None):
        """The model under the Keras dtype `policy`, for any input size or a fixed (H, W) `size`, its score
        layers randomized so that every runtime's logits and classes can be compared (fixed seed)."""
        return randomize_zero_kernels(self._plain(policy, size))

    def flops(self, size):
        """Convolution FLOPs of one (H, W) image."""
        return convolution_flops(self._plain("float32", size))

    def _plain(self, policy, size):
        with dtype_policy(policy):
            return build_fcn(self.variant, self.num_classes, backbone=self.backbone, padding=self.padding,
                             input_shape=(*(size or (None, None)), 3))


def model_cases(variants, backbones, paddings=None):
    """A `ModelCase` for every combination of `variants` and `backbones`; `paddings` None means both geometries
    for the VGG16 family and the builders' default for the other backbones.

    Raises:
        ValueError: an unknown backbone, before anything is measured.

    Example:
        >>> [model_case.name for model_case in model_cases(["fcn8s"], ["vgg16", "resnet50"])]
        ['fcn8s vgg16 paper', 'fcn8s vgg16 same', 'fcn8s resnet50 paper']
    """
    for backbone in backbones:
        get_backbone(backbone)
    return [ModelCase(variant, backbone, padding) for variant in variants for backbone in backbones
            for padding in (paddings or (PADDINGS if backbone.startswith("vgg16") else (DEFAULT_PADDING,)))]


def check_memory(model_cases, sizes, batches, available=None):
    """Refuses, before anything is measured, a size or batch whose activations do not fit in memory: each model's
    float32 activations (`fcn_keras.tiling.activation_bytes`; every runtime's logits are checked against them).

    Args:
        model_cases: `ModelCase`s.
        sizes: (H, W) input sizes.
        batches: batch sizes.
        available: bytes of memory the run may use (default: what psutil finds available now).

    Raises:
        ValueError: names the first size (with its smallest batch that does not fit) found too large, what it
            needs and what is available.

    Example:
        >>> check_memory([ModelCase("fcn8s", "vgg16_tiny", "same")], [(32, 32), (4000, 6000)], [1], available=2**30)
        Traceback (most recent call last):
        ...
        ValueError: `sizes` 4000x6000: one batch of 1 needs about 4.3 GiB of activations for fcn8s vgg16_tiny \
same, and this machine has 1.0 GiB available; give smaller `sizes`.
    """
    import psutil

    from fcn_keras.tiling import activation_bytes

    available = psutil.virtual_memory().available if available is None else available
    for model_case in model_cases:
        model = model_case._plain("float32", None)  # building it also refuses a backbone that cannot be built here
        for size, batch in itertools.product(sizes, sorted(batches)):  # the smallest batch that does not fit
            needed = activation_bytes(model, *size, batch)
            if needed > available:
                case, fix = (f", `batches` {batch}", " or `batches`") if batch > 1 else ("", "")
                raise ValueError(f"`sizes` {size[0]}x{size[1]}{case}: one batch of {batch} needs about "
                                 f"{needed / 2**30:,.1f} GiB of activations for {model_case.name}, and this machine "
                                 f"has {available / 2**30:,.1f} GiB available; give smaller `sizes`{fix}.")


def randomize_zero_kernels(model, seed=0, scale=0.01):
    """Fills the all-zero kernels (the FCN's score layers start at zero) with Gaussian noise of std `scale`.

    Example:
        >>> model = build_fcn32s(3, backbone="vgg16_tiny")
        >>> float(np.abs(model.get_layer("score_fr").kernel).max())
        0.0
        >>> float(np.abs(randomize_zero_kernels(model).get_layer("score_fr").kernel).max()) > 0
        True
    """
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        if len(weight.shape) == 4 and not np.any(weight.numpy()):
            weight.assign(rng.normal(0, scale, weight.shape).astype(weight.dtype))
    return model


def measure_inference(predict, images, reference, repeats):
    """Times `predict(images)` and compares its logits with `reference` (Keras float32 logits of the same images).

    Returns:
        dict: seconds (median per batch), peak_mib (memory gained during the calls),
        max_relative_difference (largest |logit difference| over the largest |reference logit|)
        and same_class (fraction of pixels whose argmax class agrees).

    Example:
        >>> images = np.ones((2, 8, 8, 3), np.float32)
        >>> row = measure_inference(lambda x: x * 2, images, images * 2, repeats=2)
        >>> row["max_relative_difference"], row["same_class"]
        (0.0, 1.0)
    """
    with PeakMemory() as memory:
        logits = np.asarray(predict(images), np.float32)
        seconds = median_seconds(lambda: predict(images), repeats, warmup=0)
    scale = float(np.abs(reference).max()) or 1.0
    return {
        "seconds": seconds,
        "peak_mib": round(memory.mib, 1),
        "max_relative_difference": float(np.abs(logits - reference).max() / scale),
        "same_class": float(np.mean(logits.argmax(-1) == reference.argmax(-1))),
    }


def test_images(batch, size, seed=0):
    """A fixed batch of uniform random RGB images, float32 (batch, H, W, 3) in [0, 255].

    Example:
        >>> test_images(2, (5, 7)).shape
        (2, 5, 7, 3)
    """
    return np.random.default_rng(seed).uniform(0, 255, (batch, *size, 3)).astype(np.float32)


def prepare_runtime(runtime, build, images, workdir):
    """The predictor of `build`'s model on `runtime`, or the reason it cannot run here.

    Args:
        runtime: a `Runtime`.
        build: `build(policy)` gives the model under a Keras dtype policy, with the same weights every time.
        images: a batch of the case (calibrates int8).
        workdir: an empty folder for the runtime's exports.

    Returns:
        (predict, None) or (None, reason).
    """
    reason = runtime.missing()
    if reason:
        return None, reason
    try:
        return runtime.prepare(build, workdir, images), None
    except Exception as error:  # an export or converter failing costs its runtime, not the whole run
        return None, failure_reason(error)


def failure_reason(error):
    """One line for a failure: the exception's type and its last non-empty line (converters print pages).

    Example:
        >>> failure_reason(RuntimeError("converting...\\nfailed to create XNNPACK runtime\\n"))
        'RuntimeError: failed to create XNNPACK runtime'
        >>> failure_reason(KeyError())
        'KeyError'
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1]}" if lines else type(error).__name__
