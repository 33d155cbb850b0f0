"""Data sources as the command line names them ("voc:/data/VOC2012"): the registry of their kinds, and the rules
about them.

Each kind is registered once, below: its name (the part before ':'), the argument it
takes, what that holds, the function that opens it, whether the caller counts its
classes, whether it has splits, the modalities it reads and where to get its data.
`SPECS`, `SPLITLESS_SOURCES`, `COUNTED_BY_CALLER`, the command line's help and the
usage errors of `fcn_keras.data.open_source` are derived from it. Needs no TensorFlow:
an opener is named by module and imported only when a source of its kind is opened.
"""

import dataclasses
import importlib
from typing import Callable, NamedTuple, Optional, Union

from fcn_keras.data.modalities import MODALITIES


class Source(NamedTuple):
    """An opened data source: `(image, mask)` pairs and what is known of its classes (for a source with
    several heads, such as SIFT Flow, masks, class counts and names are {head: ...})."""

    dataset: object
    num_classes: Optional[int]
    class_names: Optional[tuple]


class SourceRequest(NamedTuple):
    """What `open_source` hands the opener of a kind, its arguments checked.

    Attributes:
        source: the source as given ("folder:images,masks"), to name it in messages.
        arguments: what follows ':', split at the comma where the form names two things
            (("images", "masks")); () where an optional argument is not given.
        split: the split asked for.
        num_classes: for the kinds the caller counts, the count (an int, the kind's default when
            none was given); for the others what the caller gave, which `open_source` checks.
        seed: the seed of a generated source.
        download: whether a source may download its data.
        modalities: the inputs to read (names in `MODALITIES`), or None for colour images.
    """

    source: str
    arguments: tuple
    split: str
    num_classes: object
    seed: int
    download: bool
    modalities: Optional[tuple]


@dataclasses.dataclass(frozen=True)
class SourceKind:
    """A kind of data source.

    Attributes:
        name: the registry key and the part before ':', e.g. "voc".
        argument: what follows ':' in the form shown to users ("ROOT"; two comma-separated names,
            "IMAGES,MASKS", make the source take two).
        description: what the argument holds and the classes, one line.
        opener: `opener(SourceRequest) -> Source`, or "module:function" naming it (imported when a
            source of the kind is opened, which keeps this table free of TensorFlow).
        counted_by_caller: the caller gives the number of classes (`num_classes`).
        default_classes: for a kind counted by the caller, the count when none is given (None: it must be).
        splitless: every split is the same files.
        optional_argument: the argument may be left out ("synthetic").
        modalities: the inputs its images can be read as (`MODALITIES` names).
        where: where to get the data (a URL, or the call that fetches it), for the messages
            of a folder that does not hold it; "" where there is nothing to get.
    """

    name: str
    argument: str
    description: str
    opener: Union[str, Callable]
    counted_by_caller: bool = False
    default_classes: Optional[int] = None
    splitless: bool = False
    optional_argument: bool = False
    modalities: tuple = ("color",)
    where: str = ""

    @property
    def form(self):
        """How users write a source of this kind, e.g. "voc:ROOT" or "synthetic[:N]"."""
        return f"{self.name}[:{self.argument}]" if self.optional_argument else f"{self.name}:{self.argument}"

    def open(self, request):
        """The `Source` its opener makes of `request` (a `SourceRequest`)."""
        opener = self.opener
        if isinstance(opener, str):
            module, _, function = opener.partition(":")
            opener = getattr(importlib.import_module(module), function)
        return opener(request)


SOURCE_KINDS = {}
"""{name: SourceKind}, in the order registered; `register_source_kind` adds to it and to the lists below."""
SPECS = {}
"""{form: what it reads} of every registered kind, e.g. "voc:ROOT": "PASCAL VOC (ROOT holds ...); 21 classes"."""
SPLITLESS_SOURCES = []
"""Source kinds that ignore `split`: every split is the same files."""
COUNTED_BY_CALLER = []
"""Source kinds whose number of classes the caller gives (`num_classes`); the others define their own."""
INPUT_MODALITIES = MODALITIES.keys()
"""The inputs FCNs take and NYUDv2 sources read: the names of `fcn_keras.data.modalities.MODALITIES`, as they
register."""


def register_source_kind(kind):
    """Adds a `SourceKind` to the registry (a name can be registered once); `open_source` then opens it.

    Args:
        kind: the `SourceKind`.

    Returns:
        `kind`.

    Raises:
        ValueError: the name is taken.

    Example:
        >>> SOURCE_KINDS["folder"].form, SOURCE_KINDS["folder"].splitless
        ('folder:IMAGES,MASKS', True)
    """
    if kind.name in SOURCE_KINDS:
        raise ValueError(f"A data source kind named {kind.name!r} is already registered.")
    SOURCE_KINDS[kind.name] = kind
    SPECS[kind.form] = kind.description
    if kind.splitless:
        SPLITLESS_SOURCES.append(kind.name)
    if kind.counted_by_caller:
        COUNTED_BY_CALLER.append(kind.name)
    return kind


def source_kind(source):
    """The kind of a source: the part before ':' ("voc" of "voc:/data/VOC2012").

    Example:
        >>> source_kind("folder:images,masks")
        'folder'
    """
    return str(source).partition(":")[0]


def check_validation_source(train_source, validation_source=None, validation=True):
    """Refuses to validate a splitless source on itself: its every split is the training files.

    Args:
        train_source: the training source, e.g. "folder:images,masks".
        validation_source: the validation source, or None to reuse `train_source`.
        validation: False when training without validation.

    Raises:
        ValueError: validation would reuse the training images; names the fix.

    Example:
        >>> check_validation_source("voc:VOC2012")  # its "val" split is other images
    """
    if validation and validation_source is None and source_kind(train_source) in SPLITLESS_SOURCES:
        raise ValueError(f"{train_source!r} has no splits, so validation would reuse the training images; give "
                         "validation_data=SOURCE or validation=False.")


register_source_kind(SourceKind(
    "synthetic", "N", "built-in synthetic shapes (N images; 5 classes; split 'train' or a held-out one)",
    "fcn_keras.data.synthetic:open_synthetic", counted_by_caller=True, default_classes=5, optional_argument=True))
register_source_kind(SourceKind(
    "voc", "ROOT", "PASCAL VOC (ROOT holds JPEGImages/, SegmentationClass/, ImageSets/); 21 classes",
    "fcn_keras.data.voc:open_voc", where="fcn_keras.data.download_voc(dest, year)"))
register_source_kind(SourceKind(
    "sbd", "ROOT", "SBD (ROOT holds img/, cls/, train.txt, val.txt); 21 classes",
    "fcn_keras.data.voc:open_sbd", where="fcn_keras.data.download_sbd(dest)"))
register_source_kind(SourceKind(
    "siftflow", "ROOT", "SIFT Flow (ROOT holds Images/, SemanticLabels/, GeoLabels/ and the FCN authors' trainval.txt "
                        "and test.txt, which 'train' and 'val' also name); two heads: 33 semantic, 3 geometric classes",
    "fcn_keras.data.siftflow:open_siftflow",
    where="http://www.cs.unc.edu/~jtighe/Papers/ECCV10/siftflow/SiftFlowDataset.zip"))
register_source_kind(SourceKind(
    "nyud", "ROOT", "NYUDv2 colour images in the FCN authors' layout (data/images/, segmentation/, train.txt, val.txt, "
                    "test.txt); 40 classes",
    "fcn_keras.data.nyud:open_nyud", modalities=("color", "depth", "hha"),
    where="http://dl.caffe.berkeleyvision.org/nyud.tar.gz"))
register_source_kind(SourceKind(
    "context", "VOC2010,CONTEXT", "PASCAL-Context (the VOC2010 folder, and the release's folder of trainval/*.mat, "
                                  "labels.txt, 59_labels.txt); 59 classes and background",
    "fcn_keras.data.pascal_context:open_context", where="http://www.cs.stanford.edu/~roozbeh/pascal-context/"))
register_source_kind(SourceKind(
    "cityscapes", "ROOT", "Cityscapes' fine annotations (ROOT holds the release's leftImg8bit/ and gtFine/; labelIds "
                          "read as train ids; splits train, val); 19 classes",
    "fcn_keras.data.cityscapes:open_cityscapes", where="https://www.cityscapes-dataset.com/"))
register_source_kind(SourceKind(
    "ade20k", "ROOT", "ADE20K SceneParsing (ROOT is ADEChallengeData2016, holding images/ and annotations/; splits "
                      "train, val); 150 classes",
    "fcn_keras.data.ade20k:open_ade20k",
    where="http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip"))
register_source_kind(SourceKind(
    "folder", "IMAGES,MASKS", "your images and PNG masks matched by file name (give `num_classes`)",
    "fcn_keras.data.folder:open_folder", counted_by_caller=True, splitless=True))
register_source_kind(SourceKind(
    "tfds", "NAME", "a TFDS data set with masks: oxford_iiit_pet, scene_parse150",
    "fcn_keras.data.tfds_sources:open_tfds"))
register_source_kind(SourceKind(
    "tfrecord", "PATTERN", "TFRecords with image/encoded and image/segmentation/class/encoded (give `num_classes`)",
    "fcn_keras.data.tfrecord:open_tfrecord", counted_by_caller=True, splitless=True))
