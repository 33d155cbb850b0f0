"""Reading trained FCN weights from the formats they were released in: Caffe, Chainer, PyTorch.

`read_weights(path)` picks the reader by the file's extension; every reader returns
{layer name: `SourceLayer`} with arrays in the source's own layout, which
`fcn_keras.models.conversion` turns into a Keras FCN.
"""

import os

from fcn_keras.weight_files.caffemodel import read_caffemodel
from fcn_keras.weight_files.chainer_npz import read_chainer_npz
from fcn_keras.weight_files.source_layer import SourceLayer
from fcn_keras.weight_files.torch_pth import read_torch_pth

READERS = {".caffemodel": read_caffemodel, ".npz": read_chainer_npz, ".pth": read_torch_pth}


def read_weights(path):
    """The layers of a weight file, read by the reader its extension names.

    Args:
        path: a `.caffemodel`, `.npz` (Chainer) or `.pth` (PyTorch) file.

    Returns:
        {layer name: `SourceLayer`}.

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unknown extension, or a file its reader cannot read.

    Example:
        >>> import numpy as np
        >>> np.savez("fcn32s_from_caffe.npz", **{"conv1_1/W": np.zeros((64, 3, 3, 3)), "conv1_1/b": np.zeros(64),
        ...                                      "upscore/W": np.zeros((21, 21, 64, 64))})
        >>> layers = read_weights("fcn32s_from_caffe.npz")  # Chainer's format, by its extension
        >>> sorted(layers), layers["upscore"].kind
        (['conv1_1', 'upscore'], 'deconv')
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a folder; give the weight file itself ({', '.join(READERS)}).")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Weight file {path} does not exist.")
    extension = os.path.splitext(path)[1].lower()
    if extension not in READERS:
        raise ValueError(f"{path}: unknown weight format {extension!r}; give a {', '.join(READERS)} file.")
    return READERS[extension](path)


__all__ = ["READERS", "SourceLayer", "read_caffemodel", "read_chainer_npz", "read_torch_pth", "read_weights"]
