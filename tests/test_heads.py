"""Several heads on one trunk (SIFT Flow's semantic and geometric classes): names, outputs, losses, saving, export."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import HEADS, random_images, two_headed

import fcn_keras
from fcn_keras.losses import SegmentationCrossEntropy
from fcn_keras.models import heads_of, variant_of
from fcn_keras.training import compile_for_training

# The layer names of the authors' siftflow-fcn16s prototxt after the trunk, written out.
SIFTFLOW_FCN16S = {"score_fr_sem", "upscore2_sem", "score_pool4_sem", "score_pool4_semc", "fuse_pool4_sem",
                   "upscore16_sem", "score_sem", "score_fr_geo", "upscore2_geo", "score_pool4_geo", "score_pool4_geoc",
                   "fuse_pool4_geo", "upscore16_geo", "score_geo"}


def test_each_head_has_the_authors_layer_names_and_its_own_output():
    model = two_headed(padding="paper")
    names = {layer.name for layer in model.layers}
    assert SIFTFLOW_FCN16S <= names and not {"score_fr", "score"} & names
    assert heads_of(model) == HEADS and variant_of(model) == "fcn16s"
    logits = model(random_images(2, 37, 45))
    assert {head: tuple(value.shape) for head, value in logits.items()} == {"semantic": (2, 37, 45, 5),
                                                                             "geometric": (2, 37, 45, 3)}


@pytest.mark.parametrize("variant", ["fcn32s", "fcn8s"])
def test_a_head_scores_as_the_one_headed_fcn_with_its_weights(variant):
    """Heads share the trunk and nothing else: each equals a one-headed FCN given the trunk and its layers."""
    model = two_headed(variant, seed=1)
    images = random_images(1, 40, 52)
    logits = model(images)
    for head, suffix in (("semantic", "_sem"), ("geometric", "_geo")):
        single = fcn_keras.build_fcn(variant, HEADS[head], backbone="vgg16_tiny", padding="same")
        for layer in (layer for layer in single.layers if layer.weights):
            source = layer.name + suffix if layer.name.startswith(("score", "upscore")) else layer.name
            layer.set_weights(model.get_layer(source).get_weights())
        np.testing.assert_allclose(keras.ops.convert_to_numpy(logits[head]),
                                   keras.ops.convert_to_numpy(single(images)), rtol=1e-5, atol=1e-5)


def test_the_loss_is_the_weighted_sum_of_the_heads_losses():
    model = compile_for_training(two_headed(), "practical", loss_weights={"semantic": 1.0, "geometric": 0.5})
    images = random_images(2, 32, 32)
    rng = np.random.default_rng(2)
    masks = {"semantic": rng.integers(0, 5, (2, 32, 32)).astype("uint8"),
             "geometric": rng.integers(0, 3, (2, 32, 32)).astype("uint8")}
    masks["semantic"][0, :8] = 255  # ignored
    logits = model(images)
    expected = {head: float(SegmentationCrossEntropy()(masks[head], logits[head])) for head in HEADS}
    scores = model.evaluate(images, masks, verbose=0, return_dict=True)
    assert scores["semantic_loss"] == pytest.approx(expected["semantic"], rel=1e-5)
    assert scores["geometric_loss"] == pytest.approx(expected["geometric"], rel=1e-5)
    assert scores["loss"] == pytest.approx(expected["semantic"] + 0.5 * expected["geometric"], rel=1e-5)
    assert {"semantic_mean_iou", "geometric_mean_iou"} <= set(scores)


def test_train_checks_every_heads_labels_and_picks_the_best_model_by_the_first_head(tmp_path):
    images = random_images(4, 32, 32)
    rng = np.random.default_rng(3)
    masks = {"semantic": rng.integers(0, 5, (4, 32, 32)).astype("uint8"),
             "geometric": rng.integers(0, 3, (4, 32, 32)).astype("uint8")}
    data = tf.data.Dataset.from_tensor_slices((images, masks)).batch(2)
    history = fcn_keras.training.train(two_headed(), data, data, output_dir=str(tmp_path / "run"), epochs=1,
                                       verbose=0)
    assert {"val_semantic_mean_iou", "val_geometric_mean_iou"} <= set(history.history)
    assert heads_of(keras.models.load_model(tmp_path / "run" / "best.keras")) == HEADS
    masks["geometric"][1, 0, 0] = 7  # a geometric label beyond its 3 classes
    bad = tf.data.Dataset.from_tensor_slices((images, masks)).batch(2)
    with pytest.raises(ValueError, match=r"train_data \(geometric head\) has the label 7 but the model predicts 3"):
        fcn_keras.training.train(two_headed(), bad, output_dir=str(tmp_path / "bad"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"train_data gives one mask per image; give \{head: mask\} for every head"):
        fcn_keras.training.train(two_headed(), data.map(lambda x, y: (x, y["semantic"])),
                                 output_dir=str(tmp_path / "one"), epochs=1, verbose=0)


def test_two_heads_round_trip_and_export_each_heads_outputs(tmp_path):
    from fcn_keras.export import export_saved_model

    model = two_headed()
    model.save(tmp_path / "two.keras")
    loaded = keras.models.load_model(tmp_path / "two.keras")
    images = random_images(1, 29, 35)
    expected = {head: keras.ops.convert_to_numpy(value) for head, value in model(images).items()}
    for head, value in loaded(images).items():
        np.testing.assert_allclose(keras.ops.convert_to_numpy(value), expected[head], atol=1e-6)
    signatures = tf.saved_model.load(export_saved_model(model, str(tmp_path / "serving"))).signatures
    outputs = signatures["serving_default"](images=tf.constant(images))
    assert set(outputs) == {"semantic_classes", "semantic_probabilities", "geometric_classes",
                            "geometric_probabilities"}
    for head in HEADS:
        np.testing.assert_array_equal(outputs[f"{head}_classes"].numpy(), expected[head].argmax(-1))
        np.testing.assert_allclose(signatures["logits"](images=tf.constant(images))[f"{head}_logits"].numpy(),
                                   expected[head], atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_classes": 3, "heads": HEADS}, "Give num_classes or heads, not both"),
    ({"heads": {}}, r"heads must be a non-empty dict \{name: classes\}"),
    ({"heads": {"sem antic": 3}}, "Head names must be identifiers"),
    ({"heads": {"semantic": 0}}, r"heads\['semantic'\] must be a whole number >= 1, got 0"),
])
def test_head_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fcn_keras.build_fcn16s(backbone="vgg16_tiny", **kwargs)


def test_one_class_count_is_asked_of_a_two_headed_model_by_name():
    with pytest.raises(ValueError, match=r"has several heads, \{'semantic': 5, 'geometric': 3\}"):
        fcn_keras.models.num_classes_of(two_headed())


def test_prepare_moves_every_heads_mask_with_the_image():
    rng = np.random.default_rng(4)
    semantic = rng.integers(0, 5, (3, 20, 24)).astype("uint8")
    images = np.repeat(semantic[..., None] * 40, 3, axis=-1).astype("uint8")  # the image shows its semantic mask
    data = tf.data.Dataset.from_tensor_slices((images, {"semantic": semantic, "geometric": semantic % 3}))
    batches = fcn_keras.data.prepare(data, batch_size=3, training=True, crop_size=(16, 28), seed=5)
    batch_images, masks = next(iter(batches))
    assert set(masks) == {"semantic", "geometric"} and masks["semantic"].shape == (3, 16, 28)
    semantic, geometric = masks["semantic"].numpy(), masks["geometric"].numpy()
    labelled = semantic != 255  # the crop is wider than the images: padded columns are 255 in both masks
    assert 0 < labelled.mean() < 1 and np.array_equal(geometric == 255, ~labelled)
    np.testing.assert_array_equal(geometric[labelled], semantic[labelled] % 3)
    np.testing.assert_array_equal(batch_images.numpy()[..., 0][labelled], semantic[labelled] * 40.0)


def test_train_and_evaluate_on_a_siftflow_folder_score_both_heads(tmp_path, capsys):
    import json

    from helpers import write_siftflow

    from fcn_keras import cli
    from fcn_keras.data import open_source
    from fcn_keras.metrics import scores_from_confusion

    rng = np.random.default_rng(6)
    ids = [f"street_{index}" for index in range(5)]
    examples = {image_id: (rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
                           rng.integers(0, 34, (32, 32)).astype(np.float64),  # 0 = void, 1..33
                           rng.integers(-1, 4, (32, 32)).astype(np.int16))  # -1 and 0 = void, 1..3
                for image_id in ids}
    root = write_siftflow(tmp_path / "siftflow", examples, trainval=ids[:4], test=ids[4:])
    run = tmp_path / "run"
    assert cli.main(["train", "--data", f"siftflow:{root}", "--variant", "fcn16s", "--backbone", "vgg16_tiny",
                     "--padding", "same", "--epochs", "1", "--batch-size", "2", "--precision", "float32",
                     "--output", str(run)]) == 0
    assert cli.main(["evaluate", str(run / "best.keras"), "--data", f"siftflow:{root}", "--output",
                     str(tmp_path / "metrics.json"), "--confusion-plot", str(tmp_path / "confusion.png")]) == 0
    out = capsys.readouterr().out
    assert "semantic:\npixel accuracy" in out and "geometric:\npixel accuracy" in out
    saved = json.loads((tmp_path / "metrics.json").read_text())
    model = keras.models.load_model(run / "best.keras")
    images, masks = next(iter(open_source(f"siftflow:{root}", "val").dataset.batch(8)))  # the test split: 1 image
    logits = model(tf.cast(images, tf.float32))
    assert set(saved) == set(HEADS_OF_SIFTFLOW)
    for head, classes in HEADS_OF_SIFTFLOW.items():
        truth, predicted = masks[head].numpy().ravel(), logits[head].numpy().argmax(-1).ravel()
        labelled = truth != 255
        confusion = np.bincount(classes * truth[labelled].astype(int) + predicted[labelled],
                                minlength=classes * classes).reshape(classes, classes)
        assert saved[head]["pixel_accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum())
        assert saved[head]["mean_iou"] == pytest.approx(scores_from_confusion(confusion)["mean_iou"])
        assert len(saved[head]["per_class_iou"]) == classes
        assert (tmp_path / f"confusion_{head}.png").stat().st_size > 0


HEADS_OF_SIFTFLOW = {"semantic": 33, "geometric": 3}


def siftflow_layers(classes=(4, 2), variant="fcn16s"):
    """Caffe-layout layers of a tiny siftflow FCN (vgg16_tiny's widths): one trunk, "_sem" and "_geo" heads, and
    each head's own layers with the trunk (for `caffe_forward`)."""
    from weight_fixtures import authors_layers

    heads = {"_sem": authors_layers(variant, classes[0], seed=7), "_geo": authors_layers(variant, classes[1], seed=8)}
    trunk = {name: arrays for name, arrays in heads["_sem"].items() if not name.startswith(("score", "upscore"))}
    for layers in heads.values():
        layers.update(trunk)  # both heads read one trunk
    in_file = {**trunk, **{name + suffix: arrays for suffix, layers in heads.items() for name, arrays in layers.items()
                           if name not in trunk}}
    return in_file, heads


def test_the_authors_two_headed_siftflow_net_converts_to_both_heads_scores(tmp_path):
    """A tiny siftflow-fcn16s caffemodel against a NumPy Caffe forward of each head."""
    from weight_fixtures import caffe_forward, write_caffemodel

    from fcn_keras.models import fcn_from_weights
    from fcn_keras.weight_files import read_weights

    in_file, heads = siftflow_layers()
    model = fcn_from_weights(read_weights(write_caffemodel(tmp_path / "siftflow.caffemodel", in_file)))
    assert heads_of(model) == {"semantic": 4, "geometric": 2} and variant_of(model) == "fcn16s"
    image = random_images(1, 27, 33, seed=9)[0]
    logits = model(image[None])
    for head, suffix in (("semantic", "_sem"), ("geometric", "_geo")):
        expected = caffe_forward(heads[suffix], image, "fcn16s")
        assert expected.std() > 0.1
        np.testing.assert_allclose(keras.ops.convert_to_numpy(logits[head])[0], expected, rtol=1e-4,
                                   atol=1e-4 * np.abs(expected).max())


def test_the_siftflow_preset_converts_a_file_placed_by_hand(tmp_path, monkeypatch):
    from weight_fixtures import write_caffemodel

    from fcn_keras.models import PRESETS, from_preset
    from fcn_keras.models.presets import preset_path

    monkeypatch.setenv("FCN_KERAS_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "downloads").mkdir(parents=True)
    write_caffemodel(tmp_path / "home" / "downloads" / "siftflow-fcn16s-heavy.caffemodel",
                     siftflow_layers(classes=(33, 3))[0])
    model = from_preset("siftflow-fcn16s-heavy", download=False)
    assert heads_of(model) == PRESETS["siftflow-fcn16s-heavy"].num_classes == {"semantic": 33, "geometric": 3}
    assert model.get_layer("preprocess").mean_rgb == (108.353, 115.294, 114.578)  # SIFT Flow's, as RGB
    assert heads_of(keras.models.load_model(preset_path("siftflow-fcn16s-heavy"))) == heads_of(model)


def test_predict_and_tflite_give_every_head(tmp_path):
    Interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter
    from PIL import Image

    from fcn_keras.evaluation import predict
    from fcn_keras.export import export_tflite, read_tflite_metadata
    from fcn_keras.prediction_files import write_predictions

    model = two_headed()
    images = random_images(2, 24, 40)
    expected = {head: keras.ops.convert_to_numpy(logits) for head, logits in model(images).items()}
    classes = predict(model, images)
    for head in HEADS:
        np.testing.assert_array_equal(classes[head], expected[head].argmax(-1))
    Image.fromarray(images[0].astype("uint8")).save(tmp_path / "photo.png")
    written = write_predictions(model, [str(tmp_path / "photo.png")], str(tmp_path / "out"))
    assert [os.path.basename(path) for path in written] == ["photo_semantic.png", "photo_semantic_overlay.png",
                                                            "photo_geometric.png", "photo_geometric_overlay.png"]
    path = export_tflite(model, tmp_path / "two.tflite")
    assert read_tflite_metadata(path)["heads"] == HEADS
    outputs = Interpreter(model_path=str(path)).get_signature_runner()(images=images)
    for head in HEADS:
        np.testing.assert_allclose(outputs[f"{head}_logits"], expected[head], atol=1e-4)


def test_the_rest_server_answers_with_every_heads_outputs(tmp_path):
    from fcn_keras.export import ModelServer, ServingClient, export_saved_model

    model = two_headed()
    export_saved_model(model, str(tmp_path / "serving"))
    images = random_images(2, 20, 28)
    expected = {head: keras.ops.convert_to_numpy(logits).argmax(-1) for head, logits in model(images).items()}
    with ModelServer(str(tmp_path / "serving"), port=0, model_name="sift") as server:
        for request_format in ("instances", "inputs"):
            answer = ServingClient(server.url, "sift").predict(images, request_format=request_format)
            assert set(answer) == {"semantic_classes", "semantic_probabilities", "geometric_classes",
                                   "geometric_probabilities"}
            for head in HEADS:
                np.testing.assert_array_equal(answer[f"{head}_classes"], expected[head])


def test_a_large_image_is_scored_in_tiles_head_by_head_as_in_one_pass():
    from fcn_keras.evaluation import predict
    from fcn_keras.tiling import activation_bytes

    model = two_headed()
    image = random_images(1, 700, 700, seed=12)[0]
    tiled = predict(model, image, memory_limit=activation_bytes(model, 640, 640))  # the smallest tile fits
    whole = predict(model, image, memory_limit=None)
    for head in HEADS:
        assert len(np.unique(whole[head])) > 1
        np.testing.assert_array_equal(tiled[head], whole[head])


def test_data_whose_masks_miss_a_head_is_refused_naming_both_sides(tmp_path, capsys):
    from fcn_keras import cli
    from fcn_keras.data import prepare, write_mask

    model, images = two_headed(), np.zeros((2, 16, 16, 3), np.uint8)
    masks = np.zeros((2, 16, 16), np.uint8)
    for data, missing in ((tf.data.Dataset.from_tensor_slices((images, {"semantic": masks})), "missing 'geometric'"),
                          (tf.data.Dataset.from_tensor_slices((images, masks)), "gives one mask per image")):
        with pytest.raises(ValueError, match=f"The model has heads 'semantic' and 'geometric', .*{missing}"):
            fcn_keras.evaluate(model, data, HEADS)
        with pytest.raises(ValueError, match=missing):
            fcn_keras.train(model, prepare(data, 2), output_dir=str(tmp_path / "run"), epochs=1)
        assert not (tmp_path / "run").exists()  # refused before the run's folder was made
    with pytest.raises(ValueError, match="The model has heads 'semantic' and 'geometric', and the data gives one mask"):
        fcn_keras.evaluate(model, tf.data.Dataset.from_tensor_slices((images, masks)), 5)
    one_headed = fcn_keras.build_fcn16s(5, backbone="vgg16_tiny", padding="same")
    with pytest.raises(ValueError, match="the data gives masks of heads 'semantic' and 'geometric', and the model has "
                                         "one head"):
        fcn_keras.evaluate(one_headed, tf.data.Dataset.from_tensor_slices((images, {"semantic": masks,
                                                                                      "geometric": masks})), HEADS)
    model.save(tmp_path / "heads.keras")
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    keras.utils.save_img(tmp_path / "images" / "a.png", images[0])
    write_mask(tmp_path / "masks" / "a.png", masks[0])
    for extra in ([], ["--num-classes", "5"]):
        assert cli.main(["evaluate", str(tmp_path / "heads.keras"), "--data",
                         f"folder:{tmp_path / 'images'},{tmp_path / 'masks'}", *extra]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "has heads 'semantic' and 'geometric'" in error, error
        assert "one mask per image" in error
