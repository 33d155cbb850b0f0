"""The defaults of the builders, the data pipeline and the command line: the paper's network. Needs no TensorFlow."""

DEFAULT_VARIANT = "fcn8s"
DEFAULT_BACKBONE = "vgg16"
DEFAULT_PADDING = "paper"
DEFAULT_NUM_CLASSES = 21  # PASCAL VOC: 20 classes and background
