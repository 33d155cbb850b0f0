"""The FCN authors' trained networks as presets: one call to a ready Keras model, offline after the first.

`from_preset(name)` looks in the cache (`$FCN_KERAS_HOME`, default
`~/.keras/fcn_keras`): the converted `.keras` file, else a weight file put into
`downloads/` by hand (used as it is, never removed or overwritten); else it
downloads the released weights (the authors' `.caffemodel` first, then converted
copies whose checksums are published), converts them once, caches the `.keras`
file and removes the download. A local `.keras`, `.caffemodel`, `.npz` or `.pth`
path works too. The registry (`PRESETS`, `Preset`, `WeightSource`, the cache
paths) lives in `fcn_keras.models.preset_table`, which needs no TensorFlow, and is
re-exported here.
"""

import importlib.util
import os

from fcn_keras.data.checks import DataError
from fcn_keras.data.download import check_existing, download_file
from fcn_keras.models.conversion import fcn_from_file
from fcn_keras.models.loading import load_fcn
from fcn_keras.models.preset_table import (  # noqa: F401  (the registry, re-exported: fcn_keras.presets.PRESETS)
    PRESETS,
    Preset,
    WeightSource,
    download_path,
    fcn_keras_home,
    get_preset,
    preset_path,
)
from fcn_keras.network import DownloadError
from fcn_keras.weight_files import READERS
from fcn_keras.write_policy import save_atomically


def from_preset(name, download=True, at_once=None):
    """A released FCN, ready: RGB in [0, 255] in, the original network's scores out.

    Args:
        name: a preset name (see `PRESETS`, `fcn-keras presets`), or the path of a
            `.keras` model or of a `.caffemodel` / `.npz` / `.pth` weight file.
        download: fetch the weights if the preset is not cached (False: cache only).
        at_once: for a `.npz` / `.pth` path: whether it holds at-once weights (those
            formats do not store the skip scaling); None: its name says ("atonce").

    Returns:
        A `keras.Model` in the paper geometry with the preset's mean built in.

    Raises:
        ValueError: an unknown name, or a file that is not the preset's network (one
            put into `downloads/` by hand is named and kept: replace or remove it).
        FileNotFoundError: nothing cached and no source could be fetched (names
            every URL tried, unreachable hosts at once, and where to put a file
            fetched by hand).
    """
    name = os.fspath(name)
    if os.path.splitext(name)[1].lower() in (".keras", *READERS) or os.sep in name:
        return _from_file(name, at_once)
    preset = get_preset(name)
    cached = preset_path(name)
    if os.path.exists(cached):
        return load_fcn(cached)
    model = _fetch_and_convert(preset, download)
    os.makedirs(os.path.dirname(cached), exist_ok=True)
    save_atomically(model, cached)
    return model


def _fetch_and_convert(preset, download):
    """The preset's network from a weight file put into `downloads/` by hand (the first of its sources' names found
    there), else from the first source that downloads and converts."""
    placed = [source for source in preset.sources if os.path.exists(download_path(source))]
    if placed:
        return _convert_placed(preset, placed[0])
    problems = []
    for source in preset.sources:
        try:
            return _download_and_convert(preset, source, download)
        except (ValueError, ImportError, DownloadError) as error:  # DataError is a ValueError
            problems.append(f"- {source.url}: {error}")
    raise FileNotFoundError(
        f"Could not get the preset {preset.name!r}:\n" + "\n".join(problems) + "\nDownload one of the files "
        f"above by hand into {os.path.dirname(download_path(preset.sources[0]))}/ under its name "
        f"({', '.join(source.filename for source in preset.sources)}) and call again, or convert it yourself "
        "with fcn_keras.models.convert_weights_file (`fcn-keras convert FILE --output model.keras`)."
    )


def _convert_placed(preset, source):
    """The network in the file found at `download_path(source)`; one that fails its checksum or is not the preset's
    network is refused, named and kept (this call did not download it)."""
    path = check_existing(download_path(source), source.checksum, source.url)
    try:
        return _convert(preset, path)
    except ValueError as error:
        raise ValueError(f"{str(error).rstrip('.')}. The file was there before this call (put there by hand?) and "
                         f"is kept: replace it with {source.filename} from {source.url}, or remove it to download "
                         "again.") from None


def _download_and_convert(preset, source, download):
    """`source` downloaded to `download_path(source)` and converted; the download is removed either way (a wrong
    file is never reused, a converted one lives on in the cached .keras file)."""
    if not download:
        raise DataError(f"{download_path(source)} is not there and download=False")
    if source.filename.endswith(".pth") and importlib.util.find_spec("torch") is None:
        raise ImportError("reading it needs PyTorch (pip install 'fcn-keras[torch]'); not downloaded")
    local = download_file(source.url, download_path(source), source.checksum)
    try:
        return _convert(preset, local)
    finally:
        os.remove(local)


def _convert(preset, path):
    """`path` converted; refused when it is not the preset's network."""
    model = fcn_from_file(path, preset.at_once, mean_bgr=preset.mean_bgr, name=preset.name.replace("-", "_"),
                          modalities=preset.modalities)
    found = (model.variant, model.num_classes)
    if found != (preset.variant, preset.num_classes):
        raise ValueError(f"{path} holds an {found[0]} of {found[1]} classes, not the preset's {preset.variant} "
                         f"of {preset.num_classes}")
    return model


def _from_file(path, at_once):
    return load_fcn(path) if path.lower().endswith(".keras") else fcn_from_file(path, at_once)
