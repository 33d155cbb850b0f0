"""A PyTorch peer of fcn_keras' FCN-8s: pytorch-fcn's `FCN8s` network, with a Keras model's weights.

For benchmarks that compare the Keras model with PyTorch on the same machine. The module is the
reference network as pytorch-fcn writes it (conv1_1 padding 100, ceil-mode 2x2/2 max pools, fc6 7x7
VALID, transposed-conv upsamplers without bias, crops 5, 9 and 31) and its parameters carry
pytorch-fcn's names ("conv1_1.weight", ..., "upscore8.weight"), so its `state_dict` has the same keys.
Unlike pytorch-fcn it also owns the Keras model's preprocessing: it takes RGB in [0, 255].
Needs the optional torch (`pip install "fcn-keras[torch]"`), imported only when called.
"""

import functools

import numpy as np

from fcn_keras.backbones.registry import PAPER_PAD

VGG16_BLOCKS = (2, 2, 3, 3, 3)  # 3x3 convolutions per block, each block ending in a 2x2/2 pool
CONVOLUTIONS = tuple(f"conv{block}_{i}" for block, n in enumerate(VGG16_BLOCKS, 1) for i in range(1, n + 1))
POOLS = tuple(f"pool{block}" for block in range(1, len(VGG16_BLOCKS) + 1))
CROPS = {"score_pool4c": 5, "score_pool3c": 9, "score": 31}  # pytorch-fcn's (and Caffe's) crop offsets
UPSAMPLERS = {"upscore2": (4, 2), "upscore_pool4": (4, 2), "upscore8": (16, 8)}  # kernel, stride
SCORES = ("score_fr", "score_pool4", "score_pool3")
OPTIONAL_LAYERS = {"drop6", "drop7", "images"}
LAYERS = {"preprocess", "conv1_1_pad", *CONVOLUTIONS, *POOLS, "fc6", "fc7", *SCORES, *UPSAMPLERS, *CROPS,
          "fuse_pool4", "fuse_pool3"}
FIX = ('build it with fcn_keras.build_fcn8s(num_classes, backbone="vgg16" (or "vgg16_slim", "vgg16_mini", '
       '"vgg16_tiny"), padding="paper")')


def pytorch_fcn8s(model):
    """A `torch.nn.Module` (eval mode) that is pytorch-fcn's FCN8s with `model`'s weights and preprocessing.

    It takes what the Keras model takes, float32 RGB in [0, 255], as an NCHW tensor, and returns NCHW
    logits of the input's size. Widths and class count are the Keras model's.

    Args:
        model: a Keras FCN-8s from `fcn_keras.build_fcn8s(num_classes, backbone=..., padding="paper")`
            with a VGG16-family backbone ("vgg16", "vgg16_slim", "vgg16_mini", "vgg16_tiny"), not `at_once`.

    Returns:
        The torch module, in eval mode, on the CPU.

    Raises:
        ValueError: `model` is not such an FCN-8s (another backbone or variant, padding="same", ...).
        ImportError: torch is not installed.

    Example:
        >>> import torch
        >>> keras_model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="paper")
        >>> peer = pytorch_fcn8s(keras_model)
        >>> images = np.random.default_rng(0).uniform(0, 255, (1, 37, 45, 3)).astype("float32")
        >>> with torch.inference_mode():
        ...     logits = peer(torch.from_numpy(images).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
        >>> logits.shape, bool(np.allclose(logits, keras_model(images), atol=1e-4))
        ((1, 37, 45, 3), True)
    """
    torch = _torch("pytorch_fcn8s")
    layers = _checked_layers(model)
    peer = _peer_class()(layers)
    bgr = layers["preprocess"].channel_order == "BGR"
    with torch.no_grad():
        for name, parameter in peer.named_parameters():
            layer_name, kind = name.rsplit(".", 1)
            parameter.copy_(torch.from_numpy(_torch_array(layers[layer_name], kind, bgr)))
    return peer.eval()


def pytorch_predictor(model, threads=None, channels_last=True):
    """`predict(images) -> logits` on NumPy NHWC arrays, run by the PyTorch peer under `torch.inference_mode()`.

    Args:
        model: a Keras FCN-8s as `pytorch_fcn8s` takes it, or a module `pytorch_fcn8s` returned (its
            weights are switched to the memory format asked for, in place).
        threads: `torch.set_num_threads(threads)` (process-wide) before each call; None leaves torch's.
        channels_last: run in torch's channels_last memory format: the NHWC batch is viewed as NCHW
            without a copy. False: the batch is copied to contiguous NCHW.

    Returns:
        A callable: float32 RGB images in [0, 255] (N, H, W, 3) -> float32 logits (N, H, W, num_classes).

    Example:
        >>> predict = pytorch_predictor(fcn_keras.build_fcn8s(2, backbone="vgg16_tiny"), threads=1)
        >>> predict(np.zeros((2, 33, 20, 3), "float32")).shape
        (2, 33, 20, 2)
    """
    torch = _torch("pytorch_predictor")
    peer = model if isinstance(model, torch.nn.Module) else pytorch_fcn8s(model)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    peer.to(memory_format=memory_format)

    def predict(images):
        batch = np.asarray(images, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[-1] != 3:
            raise ValueError(f"Expected RGB images (N, H, W, 3), got shape {batch.shape}; add a batch axis "
                             "with images[None] or convert grayscale/RGBA images to RGB.")
        if not batch.flags.writeable:  # torch.from_numpy warns about read-only arrays
            batch = batch.copy()
        if threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        with torch.inference_mode():
            nchw = torch.from_numpy(batch).permute(0, 3, 1, 2)  # an NCHW view with channels_last strides
            logits = peer(nchw.contiguous(memory_format=memory_format))  # no copy when already in the format
            return logits.permute(0, 2, 3, 1).contiguous().numpy()

    return predict


def _torch(caller):
    try:
        import torch
    except ImportError:
        raise ImportError(f"{caller} needs PyTorch: pip install 'fcn-keras[torch]'.") from None
    return torch


def _checked_layers(model):
    """{name: layer} of `model`, checked to be pytorch-fcn's FCN8s layer for layer; else a ValueError."""
    layers = {layer.name: layer for layer in getattr(model, "layers", ())}
    what = f"pytorch_fcn8s mirrors pytorch-fcn's FCN8s, but model {getattr(model, 'name', model)!r}"
    if {f"scale_{pool}" for pool in ("pool3", "pool4")} & set(layers):
        raise ValueError(f"{what} is the at-once FCN-8s (pool3/pool4 scaled); build it with at_once=False.")
    variant = _variant(model)
    if variant != "fcn8s":
        raise ValueError(f"{what} is {f'an {variant}' if variant else 'no FCN'}, not an FCN-8s; {FIX}.")
    if not {*SCORES, *UPSAMPLERS} <= set(layers):
        raise ValueError(f"{what} has several heads (layers score_fr_<head>, ...), not one; {FIX}.")
    if not {*CONVOLUTIONS, *POOLS, "fc6", "fc7"} <= set(layers):
        raise ValueError(f"{what} has no VGG16 backbone (conv1_1 ... conv5_3, fc6, fc7); {FIX}.")
    if "conv1_1_pad" not in layers:
        raise ValueError(f'{what} has padding="same" geometry, not the paper\'s (conv1_1 padded by 100); {FIX}.')
    missing, extra = LAYERS - set(layers), set(layers) - LAYERS - OPTIONAL_LAYERS
    if missing or extra:
        raise ValueError(f"{what} has layers {sorted(extra)} and lacks {sorted(missing)}; {FIX}.")
    _check_configs(layers, what)
    return layers


def _variant(model):
    from fcn_keras.models.fcn_model import variant_of

    try:
        return variant_of(model)
    except (ValueError, AttributeError, TypeError):
        return None


def _check_configs(layers, what):
    """The geometry and activations that the torch module hard-codes, checked on the Keras layers."""
    import keras

    from fcn_keras.layers import ImagePreprocessing

    def require(condition, detail):
        if not condition:
            raise ValueError(f"{what} differs from the reference network: {detail}; {FIX}.")

    require(isinstance(layers["preprocess"], ImagePreprocessing), "its preprocess layer is not ImagePreprocessing")
    require(tuple(map(tuple, layers["conv1_1_pad"].padding)) == ((PAPER_PAD,) * 2,) * 2, "conv1_1 is not padded by 100")
    for name in CONVOLUTIONS + ("fc6", "fc7") + SCORES:
        layer = layers[name]
        size = 7 if name == "fc6" else 3 if name.startswith("conv") else 1
        padding = "valid" if name in ("conv1_1", "fc6") or size == 1 else "same"
        activation = "linear" if name in SCORES else "relu"
        require(isinstance(layer, keras.layers.Conv2D) and tuple(layer.kernel_size) == (size, size)
                and tuple(layer.strides) == (1, 1) and tuple(layer.dilation_rate) == (1, 1) and layer.use_bias
                and layer.padding == padding and layer.activation.__name__ == activation,
                f"{name} is not a {size}x{size} {padding} convolution with a bias and {activation} activation")
    for name in POOLS:
        layer = layers[name]
        require(isinstance(layer, keras.layers.MaxPooling2D) and tuple(layer.pool_size) == (2, 2)
                and tuple(layer.strides) == (2, 2) and layer.padding == "same", f"{name} is not a 2x2/2 ceil max pool")
    for name, (size, stride) in UPSAMPLERS.items():
        layer = layers[name]
        require(isinstance(layer, keras.layers.Conv2DTranspose) and tuple(layer.kernel_size) == (size, size)
                and tuple(layer.strides) == (stride, stride) and layer.padding == "valid" and not layer.use_bias
                and tuple(layer.dilation_rate) == (1, 1), f"{name} is not a {size}/{stride} transposed conv")
    for name, offset in CROPS.items():
        require(tuple(layers[name].offset) == (offset, offset), f"{name} does not crop at offset {offset}")


@functools.cache
def _peer_class():
    """The torch module class, made once torch is imported."""
    torch = _torch("pytorch_fcn8s")
    nn = torch.nn

    class FCN8sPeer(nn.Module):
        """pytorch-fcn's FCN8s layer for layer, with widths read from a Keras model and its preprocessing."""

        def __init__(self, layers):
            super().__init__()
            preprocess, num_classes = layers["preprocess"], layers["score_fr"].filters
            self.register_buffer("mean", torch.tensor(preprocess.mean_rgb).view(1, 3, 1, 1), persistent=False)
            std = torch.tensor(preprocess.std_rgb, dtype=torch.float32).view(1, 3, 1, 1)
            self.register_buffer("std", None if bool((std == 1).all()) else std, persistent=False)
            channels = 3
            for name in CONVOLUTIONS:
                width = layers[name].filters
                setattr(self, name, nn.Conv2d(channels, width, 3, padding=PAPER_PAD if name == "conv1_1" else 1))
                channels = width
            self.pool = nn.MaxPool2d(2, stride=2, ceil_mode=True)
            fc6, fc7 = layers["fc6"].filters, layers["fc7"].filters
            self.fc6, self.drop6 = nn.Conv2d(channels, fc6, 7), nn.Dropout2d()
            self.fc7, self.drop7 = nn.Conv2d(fc6, fc7, 1), nn.Dropout2d()
            self.score_fr = nn.Conv2d(fc7, num_classes, 1)
            self.score_pool3 = nn.Conv2d(layers["conv3_3"].filters, num_classes, 1)
            self.score_pool4 = nn.Conv2d(layers["conv4_3"].filters, num_classes, 1)
            for name, (size, stride) in UPSAMPLERS.items():
                setattr(self, name, nn.ConvTranspose2d(num_classes, num_classes, size, stride=stride, bias=False))

        def forward(self, images):
            """RGB in [0, 255], NCHW -> logits, NCHW, of the images' height and width."""
            relu = nn.functional.relu
            h = images - self.mean
            if self.std is not None:
                h = h / self.std
            pools = []
            for block, count in enumerate(VGG16_BLOCKS, 1):
                for i in range(1, count + 1):
                    h = relu(getattr(self, f"conv{block}_{i}")(h), inplace=True)
                h = self.pool(h)
                pools.append(h)
            h = self.drop6(relu(self.fc6(h), inplace=True))
            h = self.drop7(relu(self.fc7(h), inplace=True))
            h = self.upscore2(self.score_fr(h))
            h = self.upscore_pool4(h + _crop(self.score_pool4(pools[3]), CROPS["score_pool4c"], h))
            h = self.upscore8(h + _crop(self.score_pool3(pools[2]), CROPS["score_pool3c"], h))
            return _crop(h, CROPS["score"], images)

    return FCN8sPeer


def _crop(scores, offset, reference):
    """`scores[:, :, o:o + h, o:o + w]` with (h, w) of the NCHW `reference`."""
    return scores[:, :, offset : offset + reference.shape[2], offset : offset + reference.shape[3]]


def _torch_array(layer, kind, bgr):
    """A Keras layer's kernel or bias in torch's layout: HWIO -> OIHW for Conv2D, (kH, kW, out, in) ->
    (in, out, kH, kW) for Conv2DTranspose (no spatial flip: both are the gradient of a correlation);
    conv1_1's input channels in RGB order when the model feeds it BGR (`bgr`): the peer takes RGB."""
    if kind == "bias":
        return np.asarray(layer.bias, dtype=np.float32)
    kernel = np.asarray(layer.kernel, dtype=np.float32)
    if layer.name == "conv1_1" and bgr:
        kernel = kernel[:, :, ::-1, :]
    return np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))

