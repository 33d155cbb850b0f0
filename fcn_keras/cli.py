"""The `fcn-keras` command line. Each command only parses arguments and calls the library."""

import argparse
import sys

COMMANDS = {}


def command(name, help_text, example, arguments=None):
    """Registers `function(args)` as subcommand `name`; `arguments(parser)` adds its options."""

    def register(function):
        COMMANDS[name] = (function, help_text, example, arguments)
        return function

    return register


def _summary_arguments(parser):
    parser.add_argument("--variant", default="fcn8s", choices=["fcn32s", "fcn16s", "fcn8s"])
    parser.add_argument("--backbone", default="vgg16", help="a registered backbone (see `fcn-keras backbones`)")
    parser.add_argument("--num-classes", type=int, default=21)
    parser.add_argument("--padding", default="paper", choices=["paper", "same"])
    parser.add_argument("--size", type=int, nargs=2, default=(500, 500), metavar=("HEIGHT", "WIDTH"),
                        help="input size used to count FLOPs (default 500 500)")
    parser.add_argument("--layers", action="store_true", help="also print the Keras layer table")


@command("summary", "Build a model and print its parameters and FLOPs.",
         "fcn-keras summary --variant fcn8s --padding same --size 500 500", _summary_arguments)
def _summary(args):
    from fcn_keras.models import build_fcn, convolution_flops

    model = build_fcn(args.variant, args.num_classes, backbone=args.backbone, padding=args.padding,
                      input_shape=(*args.size, 3))
    if args.layers:
        model.summary()
    height, width = args.size
    print(f"{model.name}: {model.count_params():,} parameters, "
          f"{convolution_flops(model) / 1e9:.1f} GFLOP per {height}x{width} image ({args.padding} padding)")


@command("backbones", "List the registered backbones.", "fcn-keras backbones")
def _backbones(args):
    from fcn_keras.backbones import available_backbones, get_backbone

    for name in available_backbones():
        spec = get_backbone(name)
        pretrained = "imagenet weights" if spec.classifier else "no pretrained weights"
        print(f"{name:14s} {pretrained:22s} {spec.description}")


def _demo_arguments(parser):
    parser.add_argument("--output", default="fcn-demo", help="folder of the run (default ./fcn-demo)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier demo run in --output")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--train-images", type=int, default=2000)
    parser.add_argument("--validation-images", type=int, default=200)
    parser.add_argument("--image-size", type=int, nargs=2, default=(96, 96), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--backbone", default="vgg16_slim")
    parser.add_argument("--seed", type=int, default=0)


@command("demo", "Train FCN-8s on built-in synthetic shapes (CPU, ~5 min) and report the paper's scores.",
         "fcn-keras demo --output fcn-demo", _demo_arguments)
def _demo(args):
    from fcn_keras.demo import format_metrics, run_demo

    metrics = run_demo(args.output, overwrite=args.overwrite, epochs=args.epochs, train_images=args.train_images,
                       validation_images=args.validation_images, image_size=tuple(args.image_size),
                       backbone=args.backbone, seed=args.seed)
    print(f"Held-out scores ({args.validation_images} synthetic images):")
    print(format_metrics(metrics))
    print(f"Results in {args.output}/: metrics.json, model.keras, overlays.png, training_curves.png, "
          "confusion_matrix.png")


def build_parser():
    """The argparse parser of `fcn-keras` with one subparser per registered command."""
    parser = argparse.ArgumentParser(
        prog="fcn-keras", description="Fully Convolutional Networks (Long et al., 2015) in Keras 3."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (function, help_text, example, arguments) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=f"{help_text}\n\nExample:\n  {example}",
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        if arguments:
            arguments(sub)
        sub.set_defaults(run=function)
    return parser


def main(argv=None):
    """Entry point of the `fcn-keras` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"fcn-keras {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
