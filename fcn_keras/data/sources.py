"""Opens a data source from its name, as the command line takes it: "voc:/data/VOC2012".

The kinds and their openers are registered in `fcn_keras.data.specs`; here are the
checks every kind shares.
"""

from fcn_keras.arguments import check_mask_heads, class_count
from fcn_keras.data.specs import SOURCE_KINDS, SPECS, SourceRequest


def open_source(source, split="train", num_classes=None, seed=0, download=True, modalities=None):
    """Opens `source` (see `SPECS`) for `split` as an `(image, mask)` dataset.

    Args:
        source: "synthetic", "synthetic:500", "voc:ROOT", "sbd:ROOT", "siftflow:ROOT", "nyud:ROOT",
            "context:VOC2010,CONTEXT", "cityscapes:ROOT", "ade20k:ROOT", "folder:IMAGES,MASKS", "tfds:NAME",
            "tfrecord:PATTERN", or
            a form registered with `fcn_keras.data.specs.register_source_kind`.
        split: split name ("train", "val", ...; ignored by the splitless kinds,
            folder and tfrecord: see `fcn_keras.data.specs`).
            For synthetic data "train" uses `seed` and any other split `seed + 1`, so
            held-out images are never trained on.
        num_classes: class count for sources that do not define one (folder, tfrecord);
            for the others it must match theirs.
        seed: seed of the synthetic source.
        download: let a TFDS source download and prepare its data set if it is not
            prepared yet; False refuses at once, saying how to prepare it.
        modalities: the inputs to read, for NYUDv2 (e.g. ("color", "depth")); other
            sources have colour images only.

    Returns:
        `Source(dataset, num_classes, class_names)`.

    Example:
        >>> source = open_source("synthetic:100", "val")
        >>> source.num_classes, source.class_names[:2]
        (5, ('background', 'circle'))
    """
    name, _, argument = str(source).partition(":")
    kind = SOURCE_KINDS.get(name)
    if not argument and not (kind and kind.optional_argument):
        raise ValueError(_usage(f"Data source {source!r} needs an argument after ':'."))
    if kind is None:
        raise ValueError(_usage(f"Unknown data source {source!r}."))
    modalities = tuple(modalities) if modalities else None
    if modalities not in (None, ("color",)) and kind.modalities == ("color",):
        readers = " or ".join(other.form for other in SOURCE_KINDS.values() if other.modalities != ("color",))
        raise ValueError(f"Data source {source!r} has colour images only; modalities={modalities!r} needs {readers}.")
    counted = _caller_count(kind, num_classes, source) if kind.counted_by_caller else num_classes
    opened = kind.open(SourceRequest(source, _arguments(kind, argument, source), split, counted, seed, download,
                                     modalities))
    if counted is not None and counted != opened.num_classes:
        raise ValueError(f"{source!r} has {opened.num_classes} classes but num_classes={counted} was given.")
    return opened


def _arguments(kind, argument, source):
    """The argument of `source`, split in two where its kind's form names two ("folder:IMAGES,MASKS")."""
    if "," not in kind.argument:
        return (argument,) if argument else ()
    first, comma, second = argument.partition(",")
    if not (first and comma and second):
        raise ValueError(_usage(f"Data source {source!r} needs two folders, {kind.form}, separated by a comma."))
    return first, second


def _caller_count(kind, num_classes, source):
    """The class count of a kind the caller counts: the one given, checked, or the kind's default."""
    if num_classes is None:
        if kind.default_classes is None:
            raise ValueError(f"Data source {source!r} does not say how many classes it has; give `num_classes`.")
        return kind.default_classes
    if isinstance(num_classes, dict):  # a model's heads: these sources have one mask per image
        check_mask_heads(None, num_classes, repr(source))
    return class_count(num_classes)


def _usage(problem):
    return f"{problem} The forms are: {', '.join(SPECS)} (fcn_keras.data.specs.SPECS says what each reads)."
