"""The keras.applications networks whose weights backbones load, refused in one line when they cannot be had.

`backbone_weights="imagenet"` is Keras' download (kept in Keras' cache,
`~/.keras/models/`, or `$KERAS_HOME/models/`): offline, it is refused before Keras
tries, naming the file and where to put it. A weights file (`.weights.h5`, `.keras`
or Keras 2 `.h5`) is read before loading: when the arrays it holds are not the
network's, the refusal names the registered network they belong to, if any.
Keras' own warnings during a load are silenced: they list every layer.
"""

import contextlib
import dataclasses
import io
import math
import os
import warnings
import zipfile
from typing import Callable

from fcn_keras.machine import keras_home
from fcn_keras.network import DownloadError, require_host

KERAS_APPLICATIONS = "https://storage.googleapis.com/tensorflow/keras-applications/"  # Keras' weights server
NOT_WEIGHTS = ("optimizer", "optimizer_weights")  # groups of a weights file that hold an optimizer's state


@dataclasses.dataclass(frozen=True)
class PretrainedNetwork:
    """A keras.applications network whose pretrained weights a registered backbone loads.

    Attributes:
        backbone: the backbone that loads it, e.g. "resnet50".
        class_name: its keras.applications class, e.g. "ResNet50".
        build: `build(weights) -> keras.Model`, the network as the backbone loads it (`weights` None,
            "imagenet" or a file path).
        imagenet_file: where Keras downloads its ImageNet weights from, under `KERAS_APPLICATIONS`
            (its last part is the file's name in Keras' cache).
        include_top: whether it has its classifier (what a weights file for it is saved with).
    """

    backbone: str
    class_name: str
    build: Callable
    imagenet_file: str
    include_top: bool = False

    @property
    def imagenet_url(self):
        """The address of its ImageNet weights."""
        return KERAS_APPLICATIONS + self.imagenet_file


# backbone -> PretrainedNetwork, as registered (the families register their smallest first): the order in which the
# owner of another network's file is looked for, building each
_NETWORKS = {}


def register_pretrained(network):
    """Makes `network` loadable by `load_pretrained(network.backbone, weights)` and a candidate owner of files.

    Args:
        network: the `PretrainedNetwork`.
    """
    _NETWORKS[network.backbone] = network


def load_pretrained(backbone, weights):
    """The pretrained network of `backbone`, with Keras' ImageNet weights or a file's.

    Args:
        backbone: a registered backbone with a keras.applications network, e.g. "mobilenetv2".
        weights: "imagenet" or the path of a weights file of that network.

    Returns:
        `keras.Model`.

    Raises:
        DownloadError: the ImageNet weights are not in Keras' cache and cannot be downloaded.
        ValueError: the file holds another network's weights (naming it when it is a registered one).
    """
    network = _NETWORKS[backbone]
    with warnings.catch_warnings():  # Keras' own: a non-square input's default, each layer a file does not fit
        warnings.simplefilter("ignore", UserWarning)
        if weights == "imagenet":
            with _keras_download(network):
                return network.build("imagenet")
        model = network.build(None)
        _check_weights_file(weights, model, network)
    return load_checked_weights(model, weights, network.class_name)


def load_checked_weights(model, path, what):
    """`model.load_weights(path)`, refusing first a file whose arrays are not `model`'s, and without Keras'
    warnings (one per layer a file does not fit).

    Args:
        model: the network to load into.
        path: a `.weights.h5` or `.keras` file (Keras 3) or a Keras 2 `.h5` file.
        what: how to name the network in the refusal, e.g. "the keras-hub preset 'resnet_50_imagenet'".

    Returns:
        `model`.

    Raises:
        ValueError: the file holds another network's arrays, or is no Keras weights file.

    Example:
        >>> dense = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> dense.save_weights("dense.weights.h5")
        >>> wider = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
        >>> load_checked_weights(wider, "dense.weights.h5", "the wider net")
        Traceback (most recent call last):
        ValueError: dense.weights.h5 holds the weights of another network (2 arrays, 8 values), not the wider net ...
    """
    stored = stored_shapes(path)
    if stored is not None and stored != _shapes(model):
        raise ValueError(f"{os.path.basename(path)} holds the weights of another network ({_size(stored)}), not "
                         f"{what} ({_size(_shapes(model))}): give a weights file of that network.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.load_weights(path)
    return model


def keras_cache_path(file_name):
    """Where Keras keeps a downloaded weights file: `models/` of its folder (`$KERAS_HOME`, by default `~/.keras`).

    Args:
        file_name: the file's name.

    Returns:
        str.

    Example:
        >>> os.environ["KERAS_HOME"] = "/data/keras"
        >>> keras_cache_path("vgg16_weights_tf_dim_ordering_tf_kernels.h5")
        '/data/keras/models/vgg16_weights_tf_dim_ordering_tf_kernels.h5'
    """
    return os.path.join(keras_home(), "models", file_name)


@contextlib.contextmanager
def _keras_download(network):
    """Refuses a download of `network`'s ImageNet weights whose host does not resolve before Keras tries, and
    turns Keras' bare `Exception("URL fetch failure on ...")` (a download that failed later) into a DownloadError."""
    file_name = os.path.basename(network.imagenet_file)
    fetching = f"the ImageNet weights of {network.class_name}"
    cached = keras_cache_path(file_name)
    by_hand = (f"put that file at {cached} (Keras' cache), or pass `backbone_weights` the path of "
               f"{_weights_file(network)}")
    if not os.path.exists(cached):
        require_host(network.imagenet_url, fetching, by_hand)
    try:
        yield
    except Exception as error:  # Keras raises a bare Exception, and only its text tells a failed download
        if not str(error).startswith("URL fetch failure"):
            raise
        reason = str(error).partition(": ")[2].removeprefix("None -- ")  # "URL fetch failure on URL: errno -- reason"
        raise DownloadError(f"Keras could not fetch {fetching} from {network.imagenet_url} ({reason}): no network "
                            f"access? Instead, {by_hand}.") from error


def _check_weights_file(path, model, network):
    """Refuses a weights file whose arrays are not `model`'s, naming the registered network whose they are."""
    stored = stored_shapes(path)
    if stored is None or stored == _shapes(model):
        return
    name, advice = os.path.basename(path), _weights_file(network)
    others = (other for other in _NETWORKS.values() if other is not network)
    owner = next((other for other in others if _shapes(other.build(None)) == stored), None)
    if owner is not None:
        raise ValueError(f"{name} holds the weights of {owner.class_name} (keras.applications), not "
                         f"{network.class_name}: give backbone='{owner.backbone}', or {advice}.")
    raise ValueError(f"{name} holds the weights of another network ({_size(stored)}), not {network.class_name} "
                     f"({_size(_shapes(model))}): give {advice}.")


def stored_shapes(path):
    """The shapes of the arrays a Keras weights file holds (its optimizer's state left out), sorted.

    Args:
        path: a `.weights.h5` or `.keras` file (Keras 3) or a Keras 2 `.h5` file.

    Returns:
        list of shape tuples, or None for a file of another kind (Keras' load names what it takes).

    Raises:
        ValueError: a file that is no Keras model archive or weights file.

    Example:
        >>> dense = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> dense.save_weights("dense.weights.h5")
        >>> stored_shapes("dense.weights.h5")
        [(2,), (3, 2)]
    """
    import h5py

    path = os.fspath(path)
    if path.endswith(".keras"):
        try:
            with zipfile.ZipFile(path) as archive:
                source = io.BytesIO(archive.read("model.weights.h5"))
        except (zipfile.BadZipFile, KeyError):
            raise ValueError(f"{path} is not a Keras model file: a .keras file is a zip archive holding "
                             "model.weights.h5 (written by model.save).") from None
    elif path.endswith(".h5"):
        source = path
    else:
        return None
    shapes = []

    def add(name, item):
        if isinstance(item, h5py.Dataset) and name.split("/")[0] not in NOT_WEIGHTS:
            shapes.append(item.shape)

    try:
        with h5py.File(source, "r") as file:
            file.visititems(add)
    except OSError as error:
        raise ValueError(f"{path} is not a Keras weights file (HDF5: {error}); give one written by "
                         "model.save_weights() or model.save().") from None
    return sorted(shapes)


def _weights_file(network):
    return f"a {network.class_name} weights file saved with include_top={network.include_top}"


def _shapes(model):
    return sorted(tuple(weight.shape) for weight in model.weights)


def _size(shapes):
    return f"{len(shapes)} arrays, {sum(math.prod(shape) for shape in shapes):,} values"
