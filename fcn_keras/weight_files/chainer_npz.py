"""Reading the Chainer port's `.npz` weights (wkentaro/fcn: keys "conv1_1/W", "conv1_1/b") with NumPy alone."""

import zipfile

import numpy as np

from fcn_keras.weight_files.source_layer import SourceLayer, kind_by_name

PARAMETER_ORDER = {"W": 0, "b": 1}


def read_chainer_npz(path):
    """The weights of every layer of a Chainer `.npz` FCN.

    Keys are `<layer>/W` and `<layer>/b` (any prefix before the layer is
    dropped); Chainer keeps Caffe's layouts: convolution W (out, in, kh, kw),
    deconvolution W (in, out, kh, kw).

    Args:
        path: the `.npz` file.

    Returns:
        {layer name: `SourceLayer`}.

    Raises:
        ValueError: the file is not a readable npz or holds keys of another shape.

    Example:
        >>> np.savez("fcn8s_from_caffe.npz", **{"upscore8/W": np.zeros((21, 21, 16, 16)),
        ...                                     "score_fr/W": np.zeros((21, 4096, 1, 1)), "score_fr/b": np.zeros(21)})
        >>> layers = read_chainer_npz("fcn8s_from_caffe.npz")
        >>> layers["upscore8"].kind, layers["score_fr"].kind, len(layers["score_fr"].arrays)
        ('deconv', 'conv', 2)
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not a readable .npz file ({error}); the file may be truncated: download it "
                         "again.") from None
    grouped = {}
    for key, array in arrays.items():
        *prefix, layer, parameter = ["", *key.split("/")]
        if not layer or parameter not in PARAMETER_ORDER:
            raise ValueError(f"{path} is not a Chainer FCN file: its array {key!r} is not named '<layer>/W' or "
                             "'<layer>/b'. The Chainer port's .npz (wkentaro/fcn, e.g. fcn8s_from_caffe.npz) holds "
                             "one such pair per layer (conv1_1/W, conv1_1/b, ..., score_fr/W, upscore8/W).")
        grouped.setdefault(layer, {})[PARAMETER_ORDER[parameter]] = array
    return {layer: SourceLayer(kind_by_name(layer), tuple(parts[i] for i in sorted(parts)))
            for layer, parts in grouped.items()}
