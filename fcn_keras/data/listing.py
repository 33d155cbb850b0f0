"""Image files of a folder, by file stem. Needs no TensorFlow."""

import os

from fcn_keras.data.checks import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
MASK_EXTENSIONS = (".png",)


def files_by_stem(folder, extensions, what):
    """{file stem: path} of the files in `folder` with one of `extensions`, sorted by name.

    Args:
        folder: the folder to list.
        extensions: lower-case extensions to keep, e.g. (".png", ".jpg").
        what: what the files are, for error messages ("images", "masks").

    Returns:
        dict {stem: path}.

    Raises:
        DataError: the folder is missing or has no such file, or two files share a stem.

    Example:
        >>> import os
        >>> from PIL import Image
        >>> os.mkdir("photos")
        >>> for name in ("cat.jpg", "dog.png"):
        ...     Image.new("RGB", (2, 2)).save(f"photos/{name}")
        >>> open("photos/notes.txt", "w").close()  # not an image: left out
        >>> files_by_stem("photos", IMAGE_EXTENSIONS, "images")
        {'cat': 'photos/cat.jpg', 'dog': 'photos/dog.png'}
    """
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: {what} folder not found.")
    files = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext.lower() not in extensions:
            continue
        if stem in files:
            raise DataError(
                f"{folder}: two {what} share the stem {stem!r} ({os.path.basename(files[stem])}, {name}); "
                "keep one per stem."
            )
        files[stem] = os.path.join(folder, name)
    if not files:
        raise DataError(f"{folder}: no {what} ({'/'.join(extensions)} files) in this folder.")
    return files
