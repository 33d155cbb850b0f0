"""SavedModels of the presets, exported once into the cache so `fcn-keras serve --preset` starts at once."""

import os

from fcn_keras.export.saved_model import export_saved_model, saved_model_versions
from fcn_keras.models.presets import fcn_keras_home, from_preset, get_preset


def preset_saved_model(name):
    """The TF Serving model folder of a preset, `<home>/serving/<name>/`, exported on first use.

    Args:
        name: a preset name (see `fcn-keras presets`).

    Returns:
        The base folder (holding version `1/`), ready for `serve`.
    """
    get_preset(name)
    base = os.path.join(fcn_keras_home(), "serving", name)
    if not (os.path.isdir(base) and saved_model_versions(base)):
        export_saved_model(from_preset(name), base)
    return base
