"""`run_training`: a training run from its settings, step by step, as `fcn-keras train` and the demo run it."""

import keras

from fcn_keras.backbones import get_backbone
from fcn_keras.data import open_source, prepare
from fcn_keras.data.specs import check_validation_source
from fcn_keras.data.transforms import pad_values
from fcn_keras.defaults import DEFAULT_VARIANT
from fcn_keras.loss_specs import check_class_weight_counts
from fcn_keras.models import build_fcn, load_fcn
from fcn_keras.precision import dtype_policy, resolve_precision
from fcn_keras.training.class_weights import median_frequency_weights
from fcn_keras.training.loop import train, train_staged
from fcn_keras.training.run_folder import check_training_output, training_run
from fcn_keras.write_policy import RunState


def run_training(settings, verbose="auto"):
    """Trains an FCN as `settings` say: opens the data, batches it, builds the model and trains it.

    The steps, in order: refuse what cannot run (before anything slow), seed the
    run, open the sources and batch them (each epoch its own seeded batches, so a
    resumed run starts right at its epoch), choose and print the precision, weigh
    the classes (`class_weights="auto"`: one pass over the training data), then
    build the model and train it in that precision. Rerun the same settings after
    an interruption and the run resumes where it stopped (see `train`).

    Args:
        settings: `TrainingSettings`.
        verbose: Keras progress setting (see `train`).

    Returns:
        The trained model (for staged training the best FCN-8s), or None where a
        finished run was kept (`keep_finished`).

    Example:
        >>> settings = fcn_keras.training.TrainingSettings(
        ...     "synthetic:8", "shapes", validation=False, backbone="vgg16_tiny", padding="same", batch_size=4,
        ...     epochs=1, precision="float32")
        >>> run_training(settings, verbose=0).name
        Training in float32: as asked.
        'fcn8s_vgg16_tiny'
    """
    _refuse_what_cannot_run(settings)
    keras.utils.set_random_seed(settings.seed)  # initialization, dropout and the data's seeds: the same run every time
    dataset, num_classes = _opened(settings, "data", settings.train_split, settings.num_classes)
    pad = pad_values(settings.modalities, get_backbone(settings.backbone).mean_rgb)

    def train_data(epoch):
        return prepare(dataset, settings.batch_size, training=True, crop_size=settings.crop_size,
                       scale_range=settings.scale_range, flip=settings.flip, resized_crop=settings.resized_crop,
                       rotation=settings.rotation, color_jitter=settings.color_jitter, seed=settings.seed,
                       epoch=epoch, image_pad_value=pad)

    train_data(0)  # the batches' settings are refused now, before a pass over the data or a model is built
    validation_data = None
    if settings.validation:
        argument = "data" if settings.validation_data is None else "validation_data"
        validation, _ = _opened(settings, argument, settings.val_split, num_classes)
        validation_data = prepare(validation, settings.batch_size, image_pad_value=pad)
    precision = resolve_precision(settings.precision)
    print(f"Training in {precision.policy}: {precision.reason}.")
    if settings.keep_finished and not settings.overwrite and _finished(settings):
        return None
    class_weights = _class_weights(settings, dataset, num_classes, verbose)
    with dtype_policy(precision.policy):
        return _trained(settings, num_classes, train_data, validation_data, class_weights, verbose)


def _refuse_what_cannot_run(settings):
    """Refuses, before anything is loaded or measured, validation on the training images and an output folder
    the run may not use."""
    if isinstance(settings.data, str):
        check_validation_source(settings.data, settings.validation_data, validation=settings.validation)
    elif settings.validation and settings.validation_data is None:
        raise ValueError("`data` is a dataset, which has no splits, so validation would reuse the training images; "
                         "give validation_data=DATASET or validation=False.")
    if not settings.keep_finished:
        check_training_output(settings.output, settings.overwrite, staged=settings.staged)


def _opened(settings, argument, split, num_classes):
    """(dataset, classes) of the settings' `argument` ("data" or "validation_data"): a dataset as it is, a spec
    opened, its refusals named by the argument."""
    data = getattr(settings, argument)
    if not isinstance(data, str):
        if num_classes is None:
            raise ValueError(f"`{argument}` is a dataset, which does not say how many classes it has; give "
                             "`num_classes`.")
        return data, num_classes
    try:
        source = open_source(data, split, num_classes, settings.seed, download=settings.download,
                             modalities=settings.modalities)
    except (ValueError, OSError) as error:
        raise ValueError(f"`{argument}`: {error}") from error
    return source.dataset, source.num_classes


def _finished(settings):
    """Whether `settings.output` holds a finished run (staged training keeps its finished stages itself)."""
    return not settings.staged and training_run(settings.output).state is RunState.FINISHED


def _class_weights(settings, dataset, num_classes, verbose):
    """The settings' class weights, checked against the data's classes; for "auto", median-frequency weights from
    one pass over the training data, printed."""
    weights = settings.class_weights
    if isinstance(weights, str):  # "auto": TrainingSettings refuses any other text
        weights = median_frequency_weights(dataset, num_classes, verbose=verbose)
        print(f"Class weights (median frequency): {_in_words(weights)}.")
    elif weights is not None:
        check_class_weight_counts(weights, num_classes, "the data")
    return weights


def _in_words(weights):
    """Weights, or {head: weights}, as a short line: "0.3, 1.2, 4.1" or "semantic: 0.3, 1.2; geometric: 1, 2"."""
    if isinstance(weights, dict):
        return "; ".join(f"{head}: {_in_words(values)}" for head, values in weights.items())
    return ", ".join(f"{weight:.3g}" for weight in weights)


def _trained(settings, num_classes, train_data, validation_data, class_weights, verbose):
    """The model the settings name, trained; staged training trains its three in turn."""
    schedule = {"epochs": settings.epochs, "steps_per_epoch": settings.steps_per_epoch, "recipe": settings.recipe,
                "learning_rate": settings.learning_rate, "warmup_steps": settings.warmup_steps,
                "lr_schedule": settings.lr_schedule, "loss": settings.loss, "class_weights": class_weights,
                "overwrite": settings.overwrite, "verbose": verbose}
    if settings.staged:
        return train_staged(num_classes, train_data, validation_data, output_dir=settings.output,
                            backbone=settings.backbone, backbone_weights=settings.backbone_weights,
                            padding=settings.padding, dropout=settings.dropout, **schedule)
    model = build_fcn(settings.variant or DEFAULT_VARIANT, num_classes, backbone=settings.backbone,
                      modalities=settings.modalities, padding=settings.padding, dropout=settings.dropout,
                      backbone_weights=settings.backbone_weights, at_once=settings.at_once,
                      init_from=load_fcn(settings.init_from) if settings.init_from else None)
    train(model, train_data, validation_data, output_dir=settings.output, **schedule)
    return model
