"""Pictures of segmentations: VOC colours, overlays, legends, comparison grids, curves, confusion.

Plots are drawn on matplotlib `Figure` objects with the Agg renderer, never
through pyplot, so they need no display and leave a notebook's backend alone;
masks and grids are plain NumPy images saved with Pillow, so every pixel is
where you expect it.
"""

import csv
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image, ImageDraw, ImageFont

from fcn_keras.data.classes import voc_palette
from fcn_keras.labels import IGNORE_LABEL

IGNORE_COLOR = (224, 224, 192)  # VOC's colour for its "void" label, IGNORE_LABEL
TITLE_HEIGHT = 14  # rows of the title band above a comparison grid
MIN_CELL_WIDTH = 80  # comparison grids enlarge smaller images to this width
LEGEND_ROW_HEIGHT = 16  # rows of one line of a legend
SWATCH_SIZE = 10  # side of a legend's colour squares


def colorize(mask, ignore_index=IGNORE_LABEL):
    """Paints a class map with the VOC palette; `ignore_index` pixels get `IGNORE_COLOR`.

    Args:
        mask: integer class map `(H, W)` (or `(H, W, 1)`), values >= 0.
        ignore_index: label drawn in VOC's void colour (224, 224, 192).

    Returns:
        A uint8 RGB image `(H, W, 3)`.

    Example:
        >>> colorize(np.array([[0, 1], [2, 255]]))[1].tolist()
        [[0, 128, 0], [224, 224, 192]]
    """
    mask = _as_class_map(mask)
    if mask.size and mask.min() < 0:
        raise ValueError(f"Class maps hold non-negative labels, got {mask.min()}.")
    colors = voc_palette(max(256, int(mask.max(initial=0)) + 1))[mask]
    colors[mask == ignore_index] = IGNORE_COLOR
    return colors


def overlay(image, mask, alpha=0.5, ignore_index=IGNORE_LABEL):
    """Blends a colourized class map over an image; ignored pixels show the image alone.

    Args:
        image: RGB image `(H, W, 3)`, uint8 or float in [0, 255].
        mask: class map `(H, W)` of the same size.
        alpha: weight of the mask colours, in [0, 1].
        ignore_index: label left unpainted.

    Returns:
        A uint8 RGB image `(H, W, 3)`: `(1 - alpha) * image + alpha * colour`, rounded.

    Example:
        >>> overlay(np.full((1, 1, 3), 200, np.uint8), np.array([[1]]), alpha=0.5).tolist()
        [[[164, 100, 100]]]
    """
    image = _as_rgb(image)
    mask = _as_class_map(mask)
    if image.shape[:2] != mask.shape:
        raise ValueError(
            f"Image size {image.shape[:2]} and mask size {mask.shape} differ; resize the mask "
            "with nearest-neighbour interpolation to the image first."
        )
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}.")
    blended = (1 - alpha) * image.astype(np.float64) + alpha * colorize(mask, ignore_index)
    blended = np.where((mask == ignore_index)[..., None], image, blended)
    return np.round(blended).astype(np.uint8)


def legend_entries(masks, class_names=None, ignore_index=IGNORE_LABEL):
    """The classes present in `masks`, by label: what a legend of them lists.

    Args:
        masks: class maps `(H, W)` (a sequence of them or a batch array).
        class_names: the names of the classes by label; default: "class <label>".
        ignore_index: label listed as "ignored", in `IGNORE_COLOR`.

    Returns:
        A list of `(label, name, (r, g, b))` by ascending label, in the colours `colorize` paints.

    Raises:
        ValueError: a label present has no name in `class_names`.

    Example:
        >>> legend_entries([np.array([[2, 0], [255, 2]])], ["background", "cat", "dog"])
        [(0, 'background', (0, 0, 0)), (2, 'dog', (0, 128, 0)), (255, 'ignored', (224, 224, 192))]
    """
    labels = np.unique(np.concatenate([_as_class_map(mask).ravel() for mask in masks]))
    unnamed = [label for label in labels if class_names is not None and label != ignore_index
               and label >= len(class_names)]
    if unnamed:
        raise ValueError(f"The masks hold label {unnamed[0]}, and class_names names only {len(class_names)} "
                         "classes; give a name for every class, in label order.")
    colors = colorize(labels[None], ignore_index)[0]
    return [(int(label), "ignored" if label == ignore_index else
             f"class {label}" if class_names is None else str(class_names[label]), tuple(map(int, color)))
            for label, color in zip(labels, colors)]


def with_legend(picture, masks, class_names=None, ignore_index=IGNORE_LABEL, pad=4):
    """A picture with a white legend strip below it: a colour square and a name per class present.

    The picture's pixels stay as they are, on top. The strip lists `legend_entries(masks,
    class_names, ignore_index)` left to right in lines of `LEGEND_ROW_HEIGHT` rows, as many
    per line as fit in the picture's width: each a `SWATCH_SIZE` square of the class colour,
    then its name in Pillow's default font; the first square's left edge is `pad` pixels in.

    Args:
        picture: uint8 RGB image `(H, W, 3)`, e.g. from `overlay`.
        masks: the class maps the picture shows (a sequence of `(H, W)` maps).
        class_names: names of the classes by label; default: "class <label>".
        ignore_index: label listed as "ignored".
        pad: white pixels left of the first entry of a line.

    Returns:
        A uint8 RGB image `(H + lines * LEGEND_ROW_HEIGHT, W, 3)`.

    Example:
        >>> with_legend(np.zeros((20, 160, 3), np.uint8), [np.array([[0, 1]])]).shape  # one line
        (36, 160, 3)
    """
    picture = _as_rgb(picture)
    font = ImageFont.load_default()
    entries = legend_entries(masks, class_names, ignore_index)
    places, x, line = [], pad, 0
    for _, name, _ in entries:
        width = SWATCH_SIZE + 4 + math.ceil(font.getlength(name))
        if x > pad and x + width > picture.shape[1] - pad:
            x, line = pad, line + 1
        places.append((x, line * LEGEND_ROW_HEIGHT))
        x += width + 12
    strip = Image.new("RGB", (picture.shape[1], (line + 1) * LEGEND_ROW_HEIGHT), "white")
    draw = ImageDraw.Draw(strip)
    swatch_top = (LEGEND_ROW_HEIGHT - SWATCH_SIZE) // 2
    for (x, y), (_, name, color) in zip(places, entries):
        draw.rectangle((x, y + swatch_top, x + SWATCH_SIZE - 1, y + swatch_top + SWATCH_SIZE - 1), fill=color)
        draw.text((x + SWATCH_SIZE + 4, y + 1), name, fill=(0, 0, 0), font=font)
    return np.concatenate([picture, np.asarray(strip)])


def comparison_grid(images, truths, predictions, path=None, ignore_index=IGNORE_LABEL, pad=4, scale=None,
                    class_names=None):
    """Side-by-side rows of image | true mask | predicted mask, with a title band and a legend below.

    Layout (what the pixels are): every cell is enlarged `scale` times
    (nearest neighbour); a white title band of `TITLE_HEIGHT` rows comes first,
    then one row per sample; column `c` starts at `x = pad + c * (width + pad)`
    and row `r` at `y = TITLE_HEIGHT + pad + sum(previous heights + pad)`, where
    `width` is the widest enlarged image and heights are enlarged heights.
    Masks are drawn with `colorize`; below the last row, `with_legend` lists the
    classes of the masks.

    Args:
        images: sequence of RGB images `(H_i, W_i, 3)` (a batch array works too).
        truths: sequence of class maps `(H_i, W_i)`, or None for image | prediction only.
        predictions: sequence of class maps `(H_i, W_i)`.
        path: if given, the grid is saved there as a PNG.
        ignore_index: label drawn in VOC's void colour.
        pad: white pixels between cells and around the grid.
        scale: integer enlargement of every cell; default: the smallest that makes
            the widest image at least `MIN_CELL_WIDTH` (80) pixels wide, so titles fit.
        class_names: names of the classes by label, for the legend; default: "class <label>".

    Returns:
        The grid as a uint8 RGB array `(height, width, 3)`.

    Example:
        >>> image = np.zeros((8, 8, 3), np.uint8); mask = np.ones((8, 8), int)
        >>> comparison_grid([image], [mask], [mask], "grid.png", class_names=["background", "circle"]).shape
        (118, 256, 3)
    """
    truths, predictions = None if truths is None else list(truths), list(predictions)
    columns = [("image", [_as_rgb(im) for im in images])]
    if truths is not None:
        columns.append(("truth", [colorize(t, ignore_index) for t in truths]))
    columns.append(("prediction", [colorize(p, ignore_index) for p in predictions]))
    count = len(columns[0][1])
    if count == 0 or any(len(cells) != count for _, cells in columns):
        raise ValueError(
            "comparison_grid needs the same, non-zero number of images, truths and predictions; "
            f"got {[len(cells) for _, cells in columns]}."
        )
    for row, cells in enumerate(zip(*(cells for _, cells in columns))):
        if len({cell.shape[:2] for cell in cells}) != 1:
            raise ValueError(
                f"Sample {row}: image and masks differ in size {[c.shape[:2] for c in cells]}."
            )
    if scale is None:
        scale = max(1, math.ceil(MIN_CELL_WIDTH / max(cell.shape[1] for cell in columns[0][1])))
    columns = [
        (title, [cell.repeat(scale, axis=0).repeat(scale, axis=1) for cell in cells])
        for title, cells in columns
    ]
    width = max(cell.shape[1] for cell in columns[0][1])
    heights = [cell.shape[0] for cell in columns[0][1]]
    grid = np.full(
        (TITLE_HEIGHT + pad + sum(h + pad for h in heights), pad + len(columns) * (width + pad), 3),
        255,
        np.uint8,
    )
    top = TITLE_HEIGHT + pad
    for row, height in enumerate(heights):
        for col, (_, cells) in enumerate(columns):
            left = pad + col * (width + pad)
            grid[top : top + height, left : left + cells[row].shape[1]] = cells[row]
        top += height + pad
    picture = Image.fromarray(grid)
    draw = ImageDraw.Draw(picture)
    for col, (title, _) in enumerate(columns):
        draw.text((pad + col * (width + pad), 2), title, fill=(0, 0, 0))
    grid = with_legend(np.asarray(picture), [*(truths or []), *predictions], class_names, ignore_index, pad)
    if path is not None:
        Image.fromarray(grid).save(_writable(path))
    return grid



def plot_training_curves(csv_path, path, metrics=None):
    """Plots a Keras `CSVLogger` file: one panel per quantity, training and validation.

    Args:
        csv_path: the CSV written by `keras.callbacks.CSVLogger` (an `epoch` column,
            then e.g. `loss`, `mean_iou`, `val_loss`, `val_mean_iou`).
        path: where to save the PNG.
        metrics: names to plot (without `val_`); default: every column but `epoch`
            and learning rates.

    Returns:
        The `Path` of the saved PNG (1000 pixels wide, 350 per row of 3 panels).

    Example:
        >>> with open("log.csv", "w") as file:
        ...     _ = file.write("epoch,loss,mean_iou,val_loss,val_mean_iou\\n0,1.2,0.3,1.3,0.25\\n1,0.8,0.5,0.9,0.45\\n")
        >>> str(plot_training_curves("log.csv", "curves.png"))
        'curves.png'
    """
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{csv_path} holds no epoch; train at least one epoch first.")
    columns = list(rows[0])
    if metrics is None:
        skipped = {"epoch", "lr", "learning_rate"}
        metrics = [c for c in columns if not c.startswith("val_") and c not in skipped]
        metrics += [
            c[4:] for c in columns if c.startswith("val_") and c[4:] not in [*metrics, *skipped]
        ]
    unknown = [m for m in metrics if m not in columns and f"val_{m}" not in columns]
    if unknown or not metrics:
        raise ValueError(f"{csv_path} has no column for {unknown or metrics}; it has {columns}.")
    epochs = [int(r["epoch"]) + 1 if "epoch" in r else i + 1 for i, r in enumerate(rows)]
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    figure = Figure(figsize=(10, 3.5 * nrows), dpi=100)
    axes = figure.subplots(nrows, ncols, squeeze=False)
    for ax, name in zip(axes.flat, metrics):
        for column, label in ((name, "train"), (f"val_{name}", "validation")):
            if column in columns:
                ax.plot(epochs, [_to_float(r[column]) for r in rows], marker="o", ms=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in axes.flat[len(metrics) :]:
        ax.axis("off")
    figure.tight_layout()
    return _save_figure(figure, path)


def plot_confusion_matrix(confusion, path, class_names=None, normalize=True):
    """Saves a confusion-matrix heat map (rows: truth, columns: prediction) as a PNG.

    Args:
        confusion: square array of counts, e.g. from `fcn_keras.metrics.confusion_matrix`.
        path: where to save the PNG.
        class_names: optional labels for the classes (default: their indices).
        normalize: colour each row by its share of the true class (recall), so
            rare classes are readable; cells show these shares (or counts if False)
            when there are at most 30 classes.

    Returns:
        The `Path` of the saved PNG (800 x 700 pixels).

    Example:
        >>> path = plot_confusion_matrix(np.array([[5, 1], [0, 4]]), "confusion.png")
        >>> Image.open(path).size
        (800, 700)
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"A confusion matrix must be square, got shape {confusion.shape}.")
    num_classes = confusion.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        raise ValueError(f"Got {len(names)} class names for {num_classes} classes.")
    rows = confusion.sum(axis=1, keepdims=True)
    shown = confusion
    if normalize:
        shown = np.divide(confusion, rows, out=np.zeros_like(confusion), where=rows > 0)
    figure = Figure(figsize=(8, 7), dpi=100)
    ax = figure.subplots()
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    figure.colorbar(image, ax=ax, label="share of true class" if normalize else "pixels")
    ticks = np.arange(num_classes)
    ax.set_xticks(ticks, names, rotation=90 if num_classes > 8 else 0)
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("confusion matrix" + (" (rows normalized)" if normalize else ""))
    if num_classes <= 30:
        threshold = shown.max() / 2
        for i, j in np.ndindex(shown.shape):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(shown[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=10 if num_classes <= 10 else 6,
                    color="white" if shown[i, j] > threshold else "black")
    figure.tight_layout()
    return _save_figure(figure, path)


def _as_rgb(image):
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"Expected an RGB image (H, W, 3), got shape {image.shape}.")
    return np.clip(np.round(image), 0, 255).astype(np.uint8) if image.dtype != np.uint8 else image


def _as_class_map(mask):
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise ValueError(f"Expected a class map (H, W), got shape {mask.shape}.")
    return mask.astype(np.int64)


def _to_float(text):
    try:
        return float(text)
    except ValueError:
        return math.nan


def _writable(path):
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Folder {path.parent} does not exist; create it first.")
    return path


def _save_figure(figure, path):
    path = _writable(path)
    figure.savefig(path, format="png")
    return path
