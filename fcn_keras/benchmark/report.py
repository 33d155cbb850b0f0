"""The benchmark's results as files: JSON, Markdown tables and a plot of latency against pixels."""

import contextlib
import itertools
import json
import os

from fcn_keras.write_policy import claim_files

INFERENCE_COLUMNS = (
    ("model", "model", "{}"), ("size", "size", "{}"), ("batch", "batch", "{}"), ("runtime", "runtime", "{}"),
    ("ms_per_image", "ms/image", "{:.1f}"), ("images_per_s", "images/s", "{:.2f}"),
    ("gflop_per_image", "GFLOP/image", "{:.1f}"), ("gflop_per_s", "GFLOP/s", "{:.0f}"),
    ("of_matmul", "x matmul", "{:.2f}"), ("peak_mib", "+MiB", "{:.0f}"),
    ("max_relative_difference", "max rel. diff", "{:.1e}"), ("same_class", "same class", "{:.2%}"),
)
QUALITY_COLUMNS = (
    ("runtime", "runtime", "{}"), ("mean_iu", "mean IU", "{:.4f}"), ("points_lost", "points lost", "{:+.2f}"),
    ("same_class", "same class as float32", "{:.2%}"), ("ms_per_image", "ms/image", "{:.1f}"),
)
TRAINING_COLUMNS = (
    ("policy", "policy", "{}"), ("seconds", "step s", "{:.3f}"), ("images_per_s", "images/s", "{:.1f}"),
    ("gflop_per_step", "GFLOP/step", "{:.1f}"), ("gflop_per_s", "GFLOP/s", "{:.0f}"),
    ("of_matmul", "x matmul", "{:.2f}"), ("peak_mib", "+MiB", "{:.0f}"),
)


def markdown(results):
    """The results as Markdown: the machine, one table of inference cases, training, pipeline and serving.

    Example:
        >>> print(markdown({"machine": {"line": "CPU: x, 2 cores", "backend": "tensorflow", "onednn": "on"},
        ...                 "matmul": {"backend": 200.0, "numpy": 190.0, "best": 200.0}, "inference": [],
        ...                 "skipped": {"onnx, fcn8s vgg16 paper": "onnxruntime is not installed"}, "training": [],
        ...                 "pipeline": None, "serving_graphs": None}))
        CPU: x, 2 cores; backend tensorflow, oneDNN on; fp32 matmul 200 GFLOP/s (tensorflow 200, NumPy 190).
        <BLANKLINE>
        Skipped cases:
        <BLANKLINE>
        - onnx, fcn8s vgg16 paper: onnxruntime is not installed
    """
    machine, matmul = results["machine"], results["matmul"]
    parts = [f"{machine['line']}; backend {machine['backend']}, oneDNN {machine['onednn']}; fp32 matmul "
             f"{matmul['best']:.0f} GFLOP/s ({machine['backend']} {matmul['backend']:.0f}, "
             f"NumPy {matmul['numpy']:.0f})."]
    if results["inference"]:
        parts.append(table(results["inference"], INFERENCE_COLUMNS))
        parts.append("Runtimes:\n\n" + "\n".join(f"- `{name}`: {description}" for name, description in
                                                  results.get("runtimes", {}).items()))
    if results["skipped"]:
        parts.append("Skipped cases:\n\n" + "\n".join(f"- {case}: {why}" for case, why in
                                                      results["skipped"].items()))
    if results["training"]:
        parts.append("Training step of the demo's model:\n\n" + table(results["training"], TRAINING_COLUMNS))
    if results["pipeline"]:
        pipeline = results["pipeline"]
        parts.append(f"Input pipeline: {pipeline['pipeline_images_per_s']:.0f} images/s alone; a fit step takes "
                     f"{1000 * pipeline['step_seconds_with_pipeline']:.0f} ms on it and "
                     f"{1000 * pipeline['step_seconds_in_memory']:.0f} ms on batches in memory "
                     f"({pipeline['overhead']:+.1%}).")
    if results.get("quality"):
        parts.append("Each runtime on the demo's trained model, its held-out set:\n\n"
                     + table(results["quality"], QUALITY_COLUMNS))
    if results.get("quality_skipped"):
        parts.append("Not scored:\n\n" + "\n".join(f"- {name}: {why}" for name, why in
                                                   results["quality_skipped"].items()))
    if results["serving_graphs"]:
        graphs = results["serving_graphs"]
        parts.append(f"Serving {graphs['sizes']} input sizes traced {graphs['keras_predict']} graphs in Keras "
                     "`predict_on_batch`; the SavedModel (`fcn-keras serve`) is one graph for "
                     f"{'any size' if graphs['saved_model_any_size'] else 'one fixed size'}.")
    return "\n\n".join(parts)


def table(rows, columns):
    """A Markdown table of `rows` (dicts) with `columns` as (key, heading, format); numbers right-aligned.

    Example:
        >>> print(table([{"name": "a", "ms": 1.25}], (("name", "name", "{}"), ("ms", "ms", "{:.1f}"))))
        | name | ms |
        | --- | ---: |
        | a | 1.2 |
    """
    lines = ["| " + " | ".join(heading for _, heading, _ in columns) + " |",
             "| " + " | ".join("---" if form == "{}" else "---:" for _, _, form in columns) + " |"]
    lines += ["| " + " | ".join(form.format(row[key]) for key, _, form in columns) + " |" for row in rows]
    return "\n".join(lines)


def plot_latency(rows, path):
    """Plots milliseconds per image against megapixels for each model and runtime at batch 1, one line each:
    a convolutional network's cost should grow linearly with the pixels.

    Example:
        >>> rows = [{"model": "m", "runtime": "keras", "batch": 1, "pixels": pixels, "ms_per_image": pixels / 1e3}
        ...         for pixels in (50176, 250000)]
        >>> plot_latency(rows, "latency.png")
        'latency.png'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    lines = {}
    for row in rows:
        if row["batch"] == 1:
            lines.setdefault(f"{row['model']}, {row['runtime']}", []).append((row["pixels"] / 1e6,
                                                                               row["ms_per_image"]))
    for label, points in lines.items():
        megapixels, milliseconds = zip(*sorted(points))
        axes.plot(megapixels, milliseconds, marker="o", label=label)
    axes.set(xlabel="megapixels per image", ylabel="ms per image (batch 1)", xlim=(0, None), ylim=(0, None),
             title="FCN inference latency against input size")
    axes.grid(alpha=0.3)
    if lines:
        axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def write_json(results, path):
    """Writes `results` to the JSON file `path` whole or not at all (a crash mid-write keeps the last file).

    Example:
        >>> write_json({"inference": []}, "results.json")
        >>> open("results.json").read()
        '{\\n "inference": []\\n}'
    """
    partial = f"{path}.partial"
    with open(partial, "w") as file:
        json.dump(results, file, indent=1, default=str)
    os.replace(partial, path)


def result_paths(folder):
    """The files `write_results` writes to `folder`: results.json, results.md and latency.png.

    Example:
        >>> [os.path.basename(path) for path in result_paths("bench")]
        ['results.json', 'results.md', 'latency.png']
    """
    return [os.path.join(folder, name) for name in ("results.json", "results.md", "latency.png")]


@contextlib.contextmanager
def claimed_results(folder, overwrite=False):
    """Claims `result_paths(folder)` for the run inside the block (`claim_files`: earlier results are refused
    unless `overwrite`); if the block fails, the folders the claim created are removed again while still empty.

    Args:
        folder: the output folder.
        overwrite: let earlier results be replaced.

    Yields:
        The claimed paths, results.json first.

    Example:
        >>> with claimed_results("runs/bench") as paths:
        ...     raise ValueError("a size too large, found before any result was written")
        Traceback (most recent call last):
        ValueError: a size too large, found before any result was written
        >>> os.path.exists("runs")
        False
    """
    created = []  # the folder and its missing parents, deepest first
    parent = os.path.abspath(folder)
    while not os.path.lexists(parent):
        created.append(parent)
        parent = os.path.dirname(parent)
    paths = claim_files(result_paths(folder), overwrite)
    try:
        yield paths
    except BaseException:
        for path in itertools.takewhile(lambda path: not os.listdir(path), created):
            os.rmdir(path)
        raise


def write_results(results, folder, overwrite=False):
    """Writes `result_paths(folder)`; existing ones are refused unless `overwrite`. Returns the paths.

    Example:
        >>> results = {"machine": {"line": "CPU: x", "backend": "tensorflow", "onednn": "on"},
        ...            "matmul": {"backend": 1.0, "numpy": 1.0, "best": 1.0}, "inference": [], "skipped": {},
        ...            "training": [], "pipeline": None, "serving_graphs": None}
        >>> paths = write_results(results, "bench")
        >>> write_results(results, "bench")
        Traceback (most recent call last):
        FileExistsError: ...bench/results.json...
    """
    paths = claim_files(result_paths(folder), overwrite)
    write_json(results, paths[0])
    with open(paths[1], "w") as file:
        file.write(markdown(results) + "\n")
    plot_latency(results["inference"], paths[2])
    return paths
