"""Input pipeline throughput per source next to an FCN-8s (slim VGG16) training step.

Run: python benchmarks/data_pipeline.py [--images 512] [--size 96] [--batch 16] [--crop 80]
Writes the synthetic set as PNG folders and TFRecords in a temporary folder, then times one
full pass (after a warm-up pass) of each source through ``prepare`` in training mode, and
``train_on_batch`` of ``build_fcn8s(num_classes, backbone="vgg16_slim", padding="same")``
on the same batches. The pipeline is not the bottleneck while its images/s exceed the step's.
"""

import argparse
import os
import tempfile
import time

import keras
from PIL import Image

import fcn_keras
from fcn_keras import data
from fcn_keras.machine import machine_line

NUM_CLASSES = 5


def images_per_second(dataset):
    """Images/s of one pass over a batched dataset, after a warm-up pass."""
    for _ in dataset:
        pass
    start, count = time.perf_counter(), 0
    for images, _ in dataset:
        count += int(images.shape[0])
    return count / (time.perf_counter() - start)


def write_folders(images, masks, root):
    os.makedirs(os.path.join(root, "images"))
    os.makedirs(os.path.join(root, "masks"))
    for index, (image, mask) in enumerate(zip(images, masks)):
        Image.fromarray(image).save(os.path.join(root, "images", f"{index:05d}.png"))
        Image.fromarray(mask, mode="L").save(os.path.join(root, "masks", f"{index:05d}.png"))
    return os.path.join(root, "images"), os.path.join(root, "masks")


def train_step_images_per_second(batches, steps):
    model = fcn_keras.build_fcn8s(NUM_CLASSES, backbone="vgg16_slim", padding="same")
    model.compile(optimizer=keras.optimizers.SGD(1e-3, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255))
    batches = [(images.numpy(), masks.numpy()) for images, masks in batches.take(steps + 2)]
    for images, masks in batches[:2]:  # warm-up: tracing and kernel selection
        model.train_on_batch(images, masks)
    start = time.perf_counter()
    for images, masks in batches[2:]:
        model.train_on_batch(images, masks)
    return sum(len(images) for images, _ in batches[2:]) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=80)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    size = (args.size, args.size)

    start = time.perf_counter()
    images, masks = data.make_shapes(args.images, size, NUM_CLASSES, seed=0)
    generation = args.images / (time.perf_counter() - start)

    def batched(source):
        return data.prepare(source, batch_size=args.batch, training=True, crop_size=args.crop,
                            scale_range=(0.75, 1.25), seed=0)

    with tempfile.TemporaryDirectory() as tmp:
        image_dir, mask_dir = write_folders(images, masks, os.path.join(tmp, "folder"))
        data.write_tfrecords(data.synthetic_shapes(args.images, size, NUM_CLASSES, seed=0),
                             os.path.join(tmp, "records", "train"), shards=4)
        records = data.tfrecord_dataset(os.path.join(tmp, "records", "train-*.tfrecord"), num_classes=NUM_CLASSES)
        rows = [
            ("make_shapes (NumPy generation)", generation),
            ("synthetic_shapes + prepare", images_per_second(batched(data.synthetic_shapes(
                args.images, size, NUM_CLASSES, seed=0)))),
            ("folder_dataset (PNG) + prepare", images_per_second(batched(
                data.folder_dataset(image_dir, mask_dir, num_classes=NUM_CLASSES)))),
            ("tfrecord_dataset + prepare", images_per_second(batched(records))),
            ("tfrecord_dataset, whole images, batch 1", images_per_second(data.prepare(records))),
        ]
        step = train_step_images_per_second(batched(records), args.steps)
    rows.append((f"FCN-8s vgg16_slim train step (batch {args.batch})", step))

    print(machine_line())
    print(f"{args.images} synthetic images {args.size}x{args.size}, {NUM_CLASSES} classes; training batches "
          f"{args.batch} x {args.crop}x{args.crop} (random scale 0.75-1.25, crop, flip); {os.cpu_count()} CPUs")
    print(f"| {'stage':44s} | {'images/s':>9s} | {'x train step':>12s} |")
    print(f"| {'-' * 44} | {'-' * 8}: | {'-' * 11}: |")
    for name, rate in rows:
        print(f"| {name:44s} | {rate:9.1f} | {rate / step:12.1f} |")


if __name__ == "__main__":
    main()
