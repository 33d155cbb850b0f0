"""`run_benchmark`: every case measured in one run on the machine at hand, with a progress line per case."""

import itertools
import tempfile
import typing

import numpy as np

from fcn_keras.benchmark.inference import (
    ModelCase,
    check_memory,
    failure_reason,
    measure_inference,
    prepare_runtime,
    test_images,
)
from fcn_keras.benchmark.quality import demo_quality
from fcn_keras.benchmark.runtimes import get_runtime
from fcn_keras.benchmark.timing import matmul_peak
from fcn_keras.benchmark.training import pipeline_overhead, training_step
from fcn_keras.demo_settings import DemoSettings

SERVING_SIZES = ((64, 64), (80, 96), (97, 131), (128, 128), (150, 90), (64, 64))


def run_benchmark(model_cases, sizes=((500, 500), (224, 224)), batches=(1, 8), runtimes=("keras",), repeats=5,
                  demo=None, training_policies=("float32", "auto"), serving_sizes=SERVING_SIZES, trained=None,
                  progress=print, checkpoint=None):
    """Measures inference of each model on each runtime, size and batch, the demo's training step and pipeline,
    and the graphs serving compiles, against this machine's fp32 matmul peak.

    Args:
        model_cases: `ModelCase`s (variant, backbone, geometry).
        sizes: (H, W) input sizes.
        batches: batch sizes.
        runtimes: names from `RUNTIMES`; one that cannot run here is listed with its reason, in `skipped` and in
            a progress line where its cases would be.
        repeats: timed calls per case (median); one untimed call comes first.
        demo: `DemoSettings` whose training step and input pipeline are measured; None skips training.
        training_policies: Keras dtype policies of the training step ("auto": what the demo picks here).
        serving_sizes: (H, W) sizes whose serving compiles are counted (on TensorFlow); None skips it.
        trained: the demo's trained model (or its `.keras` path): each runtime's mean IU on the demo's
            held-out set is measured against Keras float32 (`DemoSettings` of `demo`, or the defaults).
        progress: called with one line per finished case, "[k/N] ..." where N counts the cases that run, and one
            per skipped case.
        checkpoint: called with the results so far after each inference case and each later phase, e.g. to
            write them, so that a crash in another library's native code (TFLite's, say) keeps what was measured.

    Returns:
        dict: machine, matmul (GFLOP/s), inference (rows), skipped ({"runtime, case": reason}),
        training (rows), pipeline, serving_graphs and quality (rows; its skipped runtimes in quality_skipped).

    Raises:
        ValueError: an unknown runtime, a model that cannot be built or a size or batch whose activations do not
            fit in this machine's memory (`check_memory`), before anything is measured.

    Example:
        >>> results = run_benchmark([ModelCase("fcn8s", "vgg16_tiny", "same")], sizes=[(32, 32)], batches=[1],
        ...                         repeats=1, serving_sizes=None, progress=lambda line: None)
        >>> row, = results["inference"]
        >>> row["runtime"], row["size"], row["max_relative_difference"]
        ('keras', '32x32', 0.0)
    """
    from fcn_keras.machine import describe, keras_backend, machine_line

    runtimes = [get_runtime(name) for name in runtimes]  # unknown names fail before anything runs
    check_memory(model_cases, sizes, batches)
    progress(machine_line())
    matmul = matmul_peak(repeats)
    progress(f"fp32 matmul: Keras backend {matmul['backend']:.0f}, NumPy {matmul['numpy']:.0f} GFLOP/s")
    results = {"machine": {**describe(), "line": machine_line()}, "matmul": matmul,
               "runtimes": {runtime.name: runtime.description for runtime in runtimes}, "inference": [],
               "skipped": {}, "training": [], "pipeline": None, "serving_graphs": None, "quality": [],
               "quality_skipped": {}}
    checkpoint = checkpoint or (lambda so_far: None)
    _measure_inference(results, model_cases, runtimes, sizes, batches, repeats, progress, checkpoint)
    if demo is not None:
        results["training"] = _measure_training(demo, training_policies, repeats, matmul["best"], progress)
        results["pipeline"] = _measure_pipeline(demo, progress)
        checkpoint(results)
    if trained is not None:
        results["quality"], results["quality_skipped"] = demo_quality(
            trained, [runtime.name for runtime in runtimes], demo or DemoSettings(), progress)
        checkpoint(results)
    if serving_sizes and keras_backend() == "tensorflow":
        results["serving_graphs"] = graphs = serving_graphs(serving_sizes)
        progress(f"serving {graphs['sizes']} input sizes: Keras predict traced {graphs['keras_predict']} graphs; "
                 f"the SavedModel signature takes {'any' if graphs['saved_model_any_size'] else 'a fixed'} size")
    return results


class Skipped(typing.NamedTuple):
    """Cases not measured: which (a runtime on a model, or one of its cases), why, and how many of the cases
    counted in "[k/N]" they were (0 for a runtime missing here: its cases are never counted)."""

    case: str
    reason: str
    counted: int


def _measure_inference(results, model_cases, runtimes, sizes, batches, repeats, progress, checkpoint):
    """Adds every inference case's row to `results`, one progress line (and checkpoint) each, "[k/N]" over the
    cases that run; a skipped case is recorded and said where it would have been measured, and leaves N."""
    total = len(model_cases) * sum(not runtime.missing() for runtime in runtimes) * len(sizes) * len(batches)
    counter = itertools.count(1)
    for model_case in model_cases:
        for outcome in _measure_model(model_case, runtimes, sizes, batches, repeats, results["matmul"]["best"]):
            if isinstance(outcome, Skipped):
                results["skipped"][outcome.case] = outcome.reason
                total -= outcome.counted
                progress(f"skipped {outcome.case}: {outcome.reason}")
                continue
            results["inference"].append(outcome)
            progress(f"[{next(counter)}/{total}] {_case_line(outcome)}")
            checkpoint(results)


def _measure_model(model_case, runtimes, sizes, batches, repeats, peak):
    """Rows of one model: each runtime prepared once (exports written once), then every size and batch; a
    `Skipped` for each runtime that cannot run and each case that fails."""
    model = model_case.build()
    references = {}
    flops = {size: model_case.flops(size) for size in sizes}
    calibration = test_images(4, sizes[0], seed=1)

    def build(policy="float32"):
        if policy == "float32":
            return model
        other = model_case.build(policy)
        other.set_weights(model.get_weights())
        return other

    for runtime in runtimes:
        missing = runtime.missing()
        if missing:
            yield Skipped(f"{runtime.name}, {model_case.name}", missing, 0)
            continue
        with tempfile.TemporaryDirectory(prefix=f"fcn_benchmark_{runtime.name}_") as workdir:
            predict, reason = prepare_runtime(runtime, build, calibration, workdir)
            if predict is None:
                yield Skipped(f"{runtime.name}, {model_case.name}", reason, len(sizes) * len(batches))
                continue
            for size, batch in itertools.product(sizes, batches):
                images = test_images(batch, size)
                if (size, batch) not in references:
                    references[size, batch] = np.asarray(model.predict_on_batch(images), np.float32)
                try:
                    row = measure_inference(predict, images, references[size, batch], repeats)
                except Exception as error:  # another library's failure costs its case, not the whole run
                    yield Skipped(f"{runtime.name}, {model_case.name} {size[0]}x{size[1]} batch {batch}",
                                  failure_reason(error), 1)
                    continue
                yield _inference_row(model_case, runtime.name, size, batch, row, flops[size], peak)


def _inference_row(model_case, runtime, size, batch, measured, flops, peak):
    seconds = measured.pop("seconds")
    rate = flops * batch / seconds / 1e9
    return {"model": model_case.name, "variant": model_case.variant, "backbone": model_case.backbone,
            "padding": model_case.padding, "runtime": runtime, "size": f"{size[0]}x{size[1]}",
            "pixels": size[0] * size[1], "batch": batch,
            "ms_per_image": 1000 * seconds / batch, "images_per_s": batch / seconds,
            "gflop_per_image": flops / 1e9, "gflop_per_s": rate, "of_matmul": rate / peak, **measured}


def _case_line(row):
    return (f"{row['model']} {row['size']} batch {row['batch']} {row['runtime']}: {row['ms_per_image']:.0f} ms "
            f"per image, {row['images_per_s']:.1f} images/s, {row['gflop_per_s']:.0f} GFLOP/s = "
            f"{row['of_matmul']:.2f}x matmul, +{row['peak_mib']:.0f} MiB")


def _measure_training(demo, policies, repeats, peak, progress):
    from fcn_keras.precision import resolve_precision

    rows = []
    for policy in dict.fromkeys(resolve_precision(policy).policy for policy in policies):  # auto may be float32
        row = {"policy": policy, **training_step(demo, policy, repeats)}
        row["gflop_per_s"] = row["gflop_per_step"] / row["seconds"]
        row["of_matmul"] = row["gflop_per_s"] / peak
        rows.append(row)
        progress(f"training step ({demo.backbone}, batch {demo.batch_size}, {policy}): "
                 f"{1000 * row['seconds']:.0f} ms, {row['gflop_per_s']:.0f} GFLOP/s = {row['of_matmul']:.2f}x matmul")
    return rows


def _measure_pipeline(demo, progress):
    from fcn_keras.machine import keras_backend

    if keras_backend() != "tensorflow":
        progress("input pipeline: measured on Keras' TensorFlow backend only (its tf.data feeds `fit`)")
        return None
    pipeline = pipeline_overhead(demo)
    progress(f"input pipeline: {pipeline['pipeline_images_per_s']:.0f} images/s alone, "
             f"{pipeline['overhead']:+.1%} on a fit step")
    return pipeline


def serving_graphs(sizes=SERVING_SIZES):
    """How many graphs Keras `predict_on_batch` (what `predict` and `evaluate` call) traces for images of
    `sizes`, and whether the SavedModel signature `fcn-keras serve` runs, one graph, takes any size.

    Example:
        >>> counts = serving_graphs()
        >>> counts["sizes"], counts["keras_predict"] <= 2, counts["saved_model_any_size"]
        (5, True, True)
    """
    import tensorflow as tf

    from fcn_keras.export.saved_model import write_logits_saved_model

    model = ModelCase("fcn8s", "vgg16_tiny", "paper").build()
    with tempfile.TemporaryDirectory() as workdir:
        signature = tf.saved_model.load(write_logits_saved_model(model, f"{workdir}/model")).signatures[
            "serving_default"]
        for size in sizes:
            images = test_images(1, size)
            model.predict_on_batch(images)
            signature(images=tf.constant(images))
        any_size = signature.structured_input_signature[1]["images"].shape[1:3] == [None, None]
    return {"sizes": len(set(sizes)), "keras_predict": model.predict_function.experimental_get_tracing_count(),
            "saved_model_any_size": any_size}
