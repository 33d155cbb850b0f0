"""What every exporter shares: never overwrite an existing file."""

import os


def ensure_new_file(path):
    """Refuses to overwrite: raises if `path` exists, creates its parent folder otherwise.

    Args:
        path: the file about to be written.

    Returns:
        `path` as a str.

    Raises:
        FileExistsError: something already exists at `path`.

    Example:
        >>> ensure_new_file("exports/fcn8s.tflite")  # doctest: +SKIP
        'exports/fcn8s.tflite'
    """
    path = os.fspath(path)
    if os.path.lexists(path):
        raise FileExistsError(
            f"{path} already exists and exports never overwrite files: "
            "choose another output path or remove the old file yourself."
        )
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return path
