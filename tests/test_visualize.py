"""Colours at known pixels and PNG sizes of the visualization helpers (NumPy, Pillow and matplotlib only: every
test runs under every Keras backend)."""

import numpy as np
import pytest
from PIL import Image

from fcn_keras.visualize import (
    IGNORE_COLOR,
    LEGEND_ROW_HEIGHT,
    MIN_CELL_WIDTH,
    SWATCH_SIZE,
    TITLE_HEIGHT,
    colorize,
    comparison_grid,
    legend_entries,
    overlay,
    plot_confusion_matrix,
    plot_training_curves,
    voc_palette,
    with_legend,
)

pytestmark = pytest.mark.backends

# From the VOC devkit's colour map: background, aeroplane, bicycle, bird, person, tvmonitor.
VOC_COLORS = {0: (0, 0, 0), 1: (128, 0, 0), 2: (0, 128, 0), 3: (128, 128, 0), 15: (192, 128, 128),
              20: (0, 64, 128), 255: IGNORE_COLOR}


def test_voc_palette_known_colours_and_distinct_beyond_256():
    palette = voc_palette(256)
    assert palette.shape == (256, 3) and palette.dtype == np.uint8
    for index, color in VOC_COLORS.items():
        assert tuple(palette[index]) == color
    large = voc_palette(1000)
    np.testing.assert_array_equal(large[:256], palette)
    assert len({tuple(c) for c in large}) == 1000


def test_colorize_uses_palette_and_void_colour():
    mask = np.array([[0, 1, 15], [20, 255, 300]])
    colors = colorize(mask[..., None])
    assert colors.shape == (2, 3, 3)
    for (i, j), value in np.ndenumerate(mask):
        expected = VOC_COLORS.get(value, tuple(voc_palette(301)[value]))
        assert tuple(colors[i, j]) == expected
    assert tuple(colorize(np.array([[7]]), ignore_index=7)[0, 0]) == IGNORE_COLOR


def test_overlay_blends_and_leaves_ignored_pixels_alone():
    image = np.full((2, 2, 3), 200, np.uint8)
    mask = np.array([[0, 1], [2, 255]])
    out = overlay(image, mask, alpha=0.25)
    assert out.dtype == np.uint8
    assert tuple(out[0, 0]) == (150, 150, 150)
    assert tuple(out[0, 1]) == (182, 150, 150)  # 0.75 * 200 + 0.25 * 128 = 182
    assert tuple(out[1, 1]) == (200, 200, 200)
    with pytest.raises(ValueError, match="differ"):
        overlay(image, np.zeros((3, 2), int))


def test_comparison_grid_layout_and_colours(tmp_path):
    images = [np.full((20, 40, 3), 10, np.uint8), np.full((30, 30, 3), 90, np.uint8)]
    truths = [np.full((20, 40), 1), np.full((30, 30), 255)]
    predictions = [np.full((20, 40), 2), np.full((30, 30), 15)]
    path = tmp_path / "grid.png"
    grid = comparison_grid(images, truths, predictions, path, pad=4)
    scale = -(-MIN_CELL_WIDTH // 40)  # 2
    width, heights = 40 * scale, [20 * scale, 30 * scale]
    rows_end = TITLE_HEIGHT + 4 + heights[0] + 4 + heights[1] + 4
    assert grid.shape == (rows_end + LEGEND_ROW_HEIGHT, 4 + 3 * (width + 4), 3)  # one line of legend
    assert swatches(grid[rows_end:]).keys() == {VOC_COLORS[1], VOC_COLORS[2], VOC_COLORS[15], IGNORE_COLOR}
    saved = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(saved, grid)
    row_tops = [TITLE_HEIGHT + 4, TITLE_HEIGHT + 4 + heights[0] + 4]
    expected = [[(10, 10, 10), VOC_COLORS[1], VOC_COLORS[2]], [(90, 90, 90), IGNORE_COLOR, VOC_COLORS[15]]]
    for row, top in enumerate(row_tops):
        for col in range(3):
            left = 4 + col * (width + 4)
            cell = grid[top : top + heights[row], left : left + 30 * scale]
            assert (cell == expected[row][col]).all(), (row, col)
    assert (grid[row_tops[1] + 5, 4 + 30 * scale + 1] == 255).all()  # narrower image: white beside it
    assert (grid[:TITLE_HEIGHT] < 128).any()  # the titles are drawn


def test_comparison_grid_without_truth_and_with_bad_counts():
    grid = comparison_grid([np.zeros((8, 8, 3), np.uint8)], None, [np.ones((8, 8), int)], scale=1, pad=2)
    assert grid.shape[1] == 2 + 2 * (8 + 2)
    assert swatches(grid[TITLE_HEIGHT + 2 + 8 + 2:]).keys() == {VOC_COLORS[1]}  # the legend, below the rows
    assert tuple(grid[TITLE_HEIGHT + 2, 2 + 10]) == VOC_COLORS[1]
    with pytest.raises(ValueError, match="same, non-zero number"):
        comparison_grid([np.zeros((8, 8, 3))], [], [np.ones((8, 8), int)])
    with pytest.raises(ValueError, match="differ in size"):
        comparison_grid([np.zeros((8, 8, 3))], [np.ones((8, 9), int)], [np.ones((8, 8), int)])


def swatches(strip):
    """{colour: (top, left)} of the legend squares in `strip` that are not grey (text is black on white)."""
    found = {}
    for color in {tuple(int(v) for v in pixel) for pixel in strip.reshape(-1, 3) if len(set(pixel)) > 1}:
        rows, cols = np.nonzero((strip == color).all(-1))
        assert rows.size == SWATCH_SIZE**2 and np.ptp(rows) == np.ptp(cols) == SWATCH_SIZE - 1, color  # a square
        found[color] = (int(rows.min()), int(cols.min()))
    return found


def test_legend_entries_list_the_classes_present_by_label():
    masks = [np.array([[15, 0], [0, 255]]), np.array([[2, 2]])]
    assert legend_entries(masks) == [(0, "class 0", VOC_COLORS[0]), (2, "class 2", VOC_COLORS[2]),
                                     (15, "class 15", VOC_COLORS[15]), (255, "ignored", IGNORE_COLOR)]
    names = [f"name{label}" for label in range(16)]
    assert [name for _, name, _ in legend_entries(masks, names)] == ["name0", "name2", "name15", "ignored"]
    assert legend_entries(np.array([[[3]], [[1]]])) == [(1, "class 1", VOC_COLORS[1]), (3, "class 3", VOC_COLORS[3])]
    with pytest.raises(ValueError, match="label 15, and class_names names only 3 classes"):
        legend_entries(masks, ["background", "a", "b"])


def test_with_legend_keeps_the_picture_and_draws_each_class_colour():
    picture = np.random.default_rng(0).integers(0, 256, (20, 300, 3), np.uint8)
    mask = np.array([[0, 1], [2, 15]])
    out = with_legend(picture, [mask], pad=4)
    assert out.shape == (20 + LEGEND_ROW_HEIGHT, 300, 3)  # four entries fit on one line
    np.testing.assert_array_equal(out[:20], picture)
    strip = out[20:]
    top = (LEGEND_ROW_HEIGHT - SWATCH_SIZE) // 2
    assert (strip[top : top + SWATCH_SIZE, 4 : 4 + SWATCH_SIZE] == 0).all()  # class 0's black square comes first
    found = swatches(strip)
    assert found.keys() == {VOC_COLORS[1], VOC_COLORS[2], VOC_COLORS[15]}
    assert {position[0] for position in found.values()} == {top}
    assert found[VOC_COLORS[1]][1] < found[VOC_COLORS[2]][1] < found[VOC_COLORS[15]][1]  # by label
    narrow = with_legend(picture[:, :40], [mask])
    assert narrow.shape[0] == 20 + 4 * LEGEND_ROW_HEIGHT  # a line per entry
    assert sorted(swatches(narrow[20:]).values()) == [(top + line * LEGEND_ROW_HEIGHT, 4) for line in (1, 2, 3)]


def test_with_legend_shows_the_class_names():
    picture = np.zeros((4, 400, 3), np.uint8)
    mask = np.array([[0, 1]])
    plain = with_legend(picture, [mask])
    named = with_legend(picture, [mask], ["a long name for the background", "cat"])
    (plain_left,) = [left for _, left in swatches(plain[4:]).values()]
    (named_left,) = [left for _, left in swatches(named[4:]).values()]
    assert named_left > plain_left + 50  # class 1's square comes after a longer name
    text = named[4:, 4 + SWATCH_SIZE : named_left]
    assert (text < 100).all(-1).sum() > 50  # dark letters


def write_log(path, rows):
    path.write_text("epoch,learning_rate,loss,mean_iou,val_loss,val_mean_iou\n" + "".join(
        f"{e},0.001,{1 / (e + 1)},{e / 5},{1.2 / (e + 1)},{e / 6}\n" for e in range(rows)))
    return path


def test_training_curves_png(tmp_path):
    out = plot_training_curves(write_log(tmp_path / "log.csv", 4), tmp_path / "curves.png")
    picture = np.asarray(Image.open(out).convert("RGB"))
    assert picture.shape == (350, 1000, 3)
    blue, orange = (31, 119, 180), (255, 127, 14)  # matplotlib's train and validation lines
    for color in (blue, orange):
        assert (np.abs(picture.astype(int) - color).sum(-1) < 10).sum() > 100


def test_training_curves_errors(tmp_path):
    log = write_log(tmp_path / "log.csv", 0)
    with pytest.raises(ValueError, match="holds no epoch"):
        plot_training_curves(log, tmp_path / "c.png")
    log = write_log(tmp_path / "log2.csv", 2)
    with pytest.raises(ValueError, match=r"no column for \['accuracy'\]"):
        plot_training_curves(log, tmp_path / "c.png", metrics=["accuracy"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plot_training_curves(log, tmp_path / "missing" / "c.png")


def test_confusion_matrix_png(tmp_path):
    out = plot_confusion_matrix(np.array([[50, 0], [0, 0]]), tmp_path / "cm.png", class_names=["bg", "cat"])
    picture = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert picture.shape == (700, 800, 3)
    dark_blue, pale = (8, 48, 107), (247, 251, 255)  # the Blues colour map at 1 and 0
    for color in (dark_blue, pale):
        assert (np.abs(picture - color).sum(-1) < 10).sum() > 1000
    with pytest.raises(ValueError, match="2 class names for 3 classes"):
        plot_confusion_matrix(np.eye(3), tmp_path / "x.png", class_names=["a", "b"])
