"""The resource limits the package applies by default, in one place (no TensorFlow needed).

An FCN's activations grow with the pixels it scores: `DEFAULT_MEMORY_LIMIT` bounds
one forward pass of `predict`/`evaluate` (larger images are scored in tiles, see
`fcn_keras.tiling`); the local server refuses requests above
`DEFAULT_MAX_IMAGE_PIXELS` pixels with HTTP 413.
"""

DEFAULT_MEMORY_LIMIT = 4 * 2**30  # bytes of activations one forward pass may use
DEFAULT_MAX_IMAGE_PIXELS = 4 * 2**20  # per server request; e.g. one 2048x2048 image: a few GB of VGG16 activations
