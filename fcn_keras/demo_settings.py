"""The demo's settings and files: one source for `run_demo`'s defaults and `fcn-keras demo`'s options.

Importing this needs no TensorFlow, so the command line can show the defaults at once.
"""

import dataclasses

from fcn_keras.precision import DEFAULT_PRECISION

DEMO_OUTPUT = "fcn-demo"
METRICS_FILE = "metrics.json"  # written last: the mark of a finished demo
DEMO_FILES = (METRICS_FILE, "model.keras", "overlays.png", "training_curves.png", "confusion_matrix.png")
TRAINING_DIR = "training"
DEMO_VARIANT, DEMO_PADDING = "fcn8s", "same"  # what the demo trains: FCN-8s of the compact geometry


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    """What `fcn-keras demo` trains, on what, and how.

    The defaults keep the whole run (data, training, scoring, pictures) within
    3 minutes on 2 CPU cores of either kind the project runs on, AVX2-only or
    AVX-512 with bfloat16, and reach a held-out mean IU above 0.80 (0.83 for
    seeds 0 and 1, float32 or bfloat16). 72x72 images cost about 0.8x as much
    per image as 88x88 ones, and batches of 8 about as much per image as batches
    of 16 but give twice the updates: 8 epochs take about 0.7x the training time
    of the earlier 88x88, batch 16, 10 epochs (mean IU 0.87), for 0.04 less.

    Attributes:
        train_images, validation_images: sizes of the training and held-out sets
            (different seeds, so no held-out image is seen in training).
        image_size: (height, width) of the synthetic images.
        num_classes: classes of the synthetic set, background included.
        epochs, batch_size: passes over the training images, images per step.
        learning_rate, warmup_steps: Adam's peak rate, reached linearly over the
            first `warmup_steps`, then lowered along the practical recipe's polynomial
            (power 0.9) to 1% of it.
        backbone: a registered backbone; the model is always FCN-8s ("same" padding).
        dropout: after fc6 and fc7; none, unlike the paper's 0.5, which slows
            learning from scratch on a small data set.
        precision: "auto" (bfloat16 only where the CPU runs it natively) or a
            Keras dtype policy; `model.keras` is saved in float32 either way.
        seed: seed of data, initialization and augmentation.

    Example:
        >>> DemoSettings(epochs=2).epochs
        2
    """

    train_images: int = 2000
    validation_images: int = 200
    image_size: tuple = (72, 72)
    num_classes: int = 5
    epochs: int = 8
    batch_size: int = 8
    learning_rate: float = 3e-3
    warmup_steps: int = 100
    backbone: str = "vgg16_mini"
    dropout: float = 0.0
    precision: str = DEFAULT_PRECISION
    seed: int = 0


def demo_model(demo, policy=None, input_size=(None, None)):
    """The demo's FCN-8s ("same" padding) as `demo` (`DemoSettings`) names it, under a Keras dtype `policy`
    (None: the current one). Keras is imported only here.

    Example:
        >>> demo_model(DemoSettings(backbone="vgg16_tiny"), "mixed_bfloat16", (40, 48)).input.shape
        (None, 40, 48, 3)
    """
    import keras

    from fcn_keras.models import build_fcn
    from fcn_keras.precision import dtype_policy

    with dtype_policy(policy or keras.mixed_precision.global_policy().name):
        return build_fcn(DEMO_VARIANT, demo.num_classes, backbone=demo.backbone, padding=DEMO_PADDING,
                         dropout=demo.dropout, input_shape=(*input_size, 3))
