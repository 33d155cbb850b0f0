"""What test-time augmentation gains in held-out mean IU, and what it costs in time, on the demo's model.

Run: fcn-keras demo --output fcn-demo; python benchmarks/test_time_augmentation.py --model fcn-demo/model.keras
     [--repeats 3] [--markdown out.md] [--json out.json] [--overwrite]

Scores the demo's trained FCN-8s (`model.keras` of `fcn-keras demo --output DIR`)
on the demo's own held-out set (`DemoSettings`: its size, classes and seed + 1,
as `run_demo` makes it) with `fcn_keras.evaluate`, batched as the demo scores it,
once per test-time augmentation: none, flip, scales 0.75/1/1.25, and both. Each
row gives the mean IU and the seconds per image (the whole pass over the set
divided by its images, median of `--repeats` passes after a first untimed one
that traces every view size; the augmentations take turns in each repeat), and
its cost against no augmentation. The load average is printed beside the CPU:
other work on the cores slows every row.
"""

import argparse
import json
import os
import time

SCALES = (0.75, 1.0, 1.25)
AUGMENTATIONS = {"none": (False, None), "flip": (True, None), "scales 0.75,1,1.25": (False, SCALES),
                 "flip + scales 0.75,1,1.25": (True, SCALES)}


def measure(model_path, repeats, demo):
    """{augmentation name: {"mean_iou", "seconds_per_image"}} of the demo's model on its held-out set (`demo`: the
    `DemoSettings` it was trained with)."""
    import keras
    import numpy as np

    import fcn_keras  # noqa: F401 (registers the FCN's layers before loading)
    from fcn_keras.data import synthetic_shapes
    from fcn_keras.evaluation import evaluate
    from fcn_keras.test_time import test_time_augmentation

    model = keras.models.load_model(model_path)
    held_out = synthetic_shapes(demo.validation_images, demo.image_size, demo.num_classes, seed=demo.seed + 1)
    pairs = [(images.numpy(), masks.numpy()) for images, masks in held_out.batch(demo.batch_size)]  # decoded once
    augmentations = {name: test_time_augmentation(flip, scales) for name, (flip, scales) in AUGMENTATIONS.items()}
    # untimed first passes trace each view's size; the timed ones take turns, so a change of load hits every row
    scores = {name: evaluate(model, pairs, demo.num_classes, tta=tta) for name, tta in augmentations.items()}
    seconds = {name: [] for name in augmentations}
    for _ in range(repeats):
        for name, tta in augmentations.items():
            start = time.perf_counter()
            evaluate(model, pairs, demo.num_classes, tta=tta)
            seconds[name].append(time.perf_counter() - start)
    return {name: {"mean_iou": scores[name]["mean_iou"], "views": 1 if tta is None else len(tta.views),
                   "seconds_per_image": float(np.median(seconds[name])) / demo.validation_images}
            for name, tta in augmentations.items()}


def table(results):
    """The results as a markdown table, costs against the first row."""
    base = next(iter(results.values()))
    lines = ["| test-time augmentation | views | held-out mean IU | gain | ms per image | x time |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, result in results.items():
        lines.append(f"| {name} | {result['views']} | {result['mean_iou']:.4f} | "
                     f"{result['mean_iou'] - base['mean_iou']:+.4f} | {1000 * result['seconds_per_image']:.2f} | "
                     f"{result['seconds_per_image'] / base['seconds_per_image']:.2f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join("fcn-demo", "model.keras"),
                        help="the demo's model.keras (fcn-keras demo --output DIR writes DIR/model.keras)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --markdown or --json file")
    args = parser.parse_args()
    if not os.path.isfile(args.model):
        parser.error(f"{args.model}: no such file; train the demo first (fcn-keras demo --output fcn-demo).")
    from fcn_keras.write_policy import claim_files

    try:
        claim_files([args.markdown, args.json], args.overwrite)  # refused now, not after the measuring
    except (ValueError, OSError) as error:
        parser.error(str(error))

    from fcn_keras.demo_settings import DemoSettings
    from fcn_keras.machine import describe, machine_line

    demo = DemoSettings()
    load = os.getloadavg()[0]
    results = measure(args.model, args.repeats, demo)
    header = (f"{machine_line()}; load average {load:.2f} before, {os.getloadavg()[0]:.2f} after\n"
              f"demo's FCN-8s {demo.backbone}, {demo.validation_images} held-out images of "
              f"{demo.image_size[0]}x{demo.image_size[1]}, batches of {demo.batch_size}, median of {args.repeats}")
    text = f"{header}\n\n{table(results)}"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as file:
            file.write(text + "\n")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"results": results, "machine": describe()}, file, indent=2)


if __name__ == "__main__":
    main()
