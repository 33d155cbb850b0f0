"""A user's own images and masks in two folders, paired by file stem."""

from fcn_keras.data.checks import DataError
from fcn_keras.data.files import file_pairs_dataset
from fcn_keras.data.listing import IMAGE_EXTENSIONS, MASK_EXTENSIONS, files_by_stem
from fcn_keras.data.specs import Source


def _names(stems):
    stems = sorted(stems)
    return ", ".join(stems[:10]) + (f" and {len(stems) - 10} more" if len(stems) > 10 else "")


def folder_dataset(image_dir, mask_dir, num_classes=None):
    """Images and masks from two folders, paired by file stem (``a.jpg`` with ``a.png``).

    Args:
        image_dir: folder of PNG/JPEG images (RGB, grayscale or palette; read as RGB).
        mask_dir: folder of PNG masks holding class indices: palette PNGs (their indices are
            used, not their colours) or 8-bit grayscale; 255 = ignore.
        num_classes: if given, masks are checked to hold only ``0..num_classes-1`` and 255.

    Returns:
        ``tf.data.Dataset`` of ``(uint8 (H, W, 3), uint8 (H, W))`` sorted by stem.

    Raises:
        DataError: a missing or empty folder, or images/masks without a partner (named).

    Example:
        >>> import os
        >>> from PIL import Image
        >>> from fcn_keras.data import write_mask
        >>> for folder in ("my_data/images", "my_data/masks"):
        ...     os.makedirs(folder)
        >>> Image.new("RGB", (5, 4)).save("my_data/images/a.jpg")
        >>> _ = write_mask("my_data/masks/a.png", np.full((4, 5), 2))
        >>> ds = folder_dataset("my_data/images", "my_data/masks", num_classes=3)
        >>> image, mask = next(iter(ds))
        >>> image.shape, mask.shape
        (TensorShape([4, 5, 3]), TensorShape([4, 5]))
    """
    images = files_by_stem(image_dir, IMAGE_EXTENSIONS, "images")
    masks = files_by_stem(mask_dir, MASK_EXTENSIONS, "masks")
    problems = []
    if images.keys() - masks.keys():
        problems.append(f"images without a mask in {mask_dir}: {_names(images.keys() - masks.keys())}")
    if masks.keys() - images.keys():
        problems.append(f"masks without an image in {image_dir}: {_names(masks.keys() - images.keys())}")
    if problems:
        raise DataError("; ".join(problems) + ". Give every image a mask with the same stem.")
    stems = sorted(images)
    return file_pairs_dataset([images[s] for s in stems], [masks[s] for s in stems], num_classes=num_classes)


def open_folder(request):
    """Opens "folder:IMAGES,MASKS" for `fcn_keras.data.open_source` (a `SourceRequest`), of the classes given."""
    image_dir, mask_dir = request.arguments
    return Source(folder_dataset(image_dir, mask_dir, num_classes=request.num_classes), request.num_classes, None)
