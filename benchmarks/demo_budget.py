"""The demo's training step per precision and CPU kernel set, and what the whole demo's training costs.

Run: python benchmarks/demo_budget.py [--repeats 10] [--json out.json]

Times `train_on_batch` of the demo's model (`DemoSettings`: FCN-8s on its backbone,
its batch and image size) in float32 and in mixed_bfloat16, twice: with TensorFlow's
oneDNN kernels as this machine runs them, and with oneDNN off (TF_ENABLE_ONEDNN_OPTS=0).
TensorFlow itself leaves oneDNN off on CPUs without AVX-512 VNNI/BF16 or AMX (e.g.
AMD Zen 3), so the second set is the kernels the AVX2-only kind runs. Each row
multiplies the median step by the demo's step count and says which precision
`auto` picks here. Each set runs in a fresh process (oneDNN is fixed at import).
"""

import argparse
import json
import os
import subprocess
import sys
import time

MEASURE = "--measure"


def measure(repeats):
    """Median train_on_batch seconds of the demo's model per precision, as a dict."""
    import keras
    import numpy as np

    from fcn_keras.demo_settings import DemoSettings, demo_model
    from fcn_keras.machine import describe
    from fcn_keras.precision import dtype_policy, resolve_precision
    from fcn_keras.training import compile_for_training

    demo = DemoSettings()
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (demo.batch_size, *demo.image_size, 3)).astype("float32")
    masks = rng.integers(0, demo.num_classes, (demo.batch_size, *demo.image_size)).astype("int32")
    seconds = {}
    for policy in ("float32", "mixed_bfloat16"):
        with dtype_policy(policy):
            keras.utils.set_random_seed(0)
            model = compile_for_training(demo_model(demo), learning_rate=demo.learning_rate)
            for _ in range(3):  # tracing, kernel selection
                model.train_on_batch(images, masks)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                model.train_on_batch(images, masks)
                times.append(time.perf_counter() - start)
        seconds[policy] = float(np.median(times))
    machine = describe()
    return {"onednn": machine["onednn"], "auto": resolve_precision("auto").policy, "step_seconds": seconds,
            "machine": machine}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument(MEASURE, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.repeats)))
        return

    from fcn_keras.demo_settings import DemoSettings
    from fcn_keras.machine import machine_line

    demo = DemoSettings()
    steps = demo.epochs * -(-demo.train_images // demo.batch_size)
    results = []
    for onednn in (None, "0"):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        if onednn is not None:
            env["TF_ENABLE_ONEDNN_OPTS"] = onednn
        output = subprocess.run([sys.executable, __file__, MEASURE, "--repeats", str(args.repeats)], env=env,
                                check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))

    print(machine_line())
    print(f"demo: FCN-8s {demo.backbone}, batch {demo.batch_size} x {demo.image_size[0]}x{demo.image_size[1]}, "
          f"{steps} training steps")
    print(f"| {'oneDNN':6s} | {'precision':14s} | {'step s':>7s} | {'training s':>10s} | {'auto picks':14s} |")
    print(f"| {'-' * 6} | {'-' * 14} | {'-' * 6}: | {'-' * 9}: | {'-' * 14} |")
    for result in results:
        for policy, seconds in result["step_seconds"].items():
            picked = "yes" if policy == result["auto"] else ""
            print(f"| {result['onednn']:6s} | {policy:14s} | {seconds:7.3f} | {seconds * steps:10.0f} | {picked:14s} |")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"demo_steps": steps, "results": results}, file, indent=2)


if __name__ == "__main__":
    main()
