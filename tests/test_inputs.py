"""NYUDv2's inputs: colour-depth early fusion, HHA, colour-HHA late fusion, each against a NumPy Caffe forward."""

import keras
import numpy as np
import pytest
from helpers import random_images
from weight_fixtures import alexnet_layers, authors_layers, caffe_forward, write_caffemodel

import fcn_keras
from fcn_keras.data.means import NYUD_COLOR_MEAN_BGR, NYUD_HHA_MEAN, NYUD_LOG_DEPTH_MEAN
from fcn_keras.models import fcn_from_weights
from fcn_keras.weight_files import read_weights

CLASSES = 4


def converted(tmp_path, layers, **kwargs):
    return fcn_from_weights(read_weights(write_caffemodel(tmp_path / "net.caffemodel", layers)),
                            mean_bgr=NYUD_COLOR_MEAN_BGR, **kwargs)


def depth_map(height, width, seed=0):
    return np.random.default_rng(seed).uniform(500, 6000, (height, width, 1)).astype("float32")  # millimetres


def assert_scores(got, expected):
    assert expected.std() > 0.1
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got)[0], expected, rtol=1e-4,
                               atol=1e-4 * np.abs(expected).max())


def test_the_colour_depth_net_stacks_log_depth_after_bgr(tmp_path):
    layers = authors_layers("fcn32s", CLASSES, seed=1)
    weight, bias = layers.pop("conv1_1")
    rng = np.random.default_rng(2)
    layers["conv1_1_bgrd"] = [np.concatenate([weight, rng.normal(0, 0.5, weight[:, :1].shape)], axis=1)
                              .astype("float32"), bias]
    model = converted(tmp_path, layers)
    assert set(model.input) == {"color", "depth"} and model.get_layer("conv1_1").kernel.shape[2] == 4
    image, depth = random_images(1, 25, 31, seed=3)[0], depth_map(25, 31)
    expected = caffe_forward({**layers, "conv1_1": layers["conv1_1_bgrd"]}, image, "fcn32s",
                             mean_bgr=NYUD_COLOR_MEAN_BGR, extra=np.log(depth) - NYUD_LOG_DEPTH_MEAN)
    assert_scores(model({"color": image[None], "depth": depth[None]}), expected)


def test_the_hha_net_takes_hha_in_its_own_channel_order(tmp_path):
    layers = authors_layers("fcn32s", CLASSES, seed=4)
    model = converted(tmp_path, layers, modalities=("hha",))
    hha = random_images(1, 22, 27, seed=5)[0]
    assert_scores(model(hha[None]), caffe_forward(layers, hha, "fcn32s", mean_bgr=NYUD_HHA_MEAN, flip=False))


def test_the_colour_hha_net_averages_the_two_nets_scores(tmp_path):
    color, hha = authors_layers("fcn32s", CLASSES, seed=6), authors_layers("fcn32s", CLASSES, seed=7)
    hha["upscore"] = color["upscore"]  # one upsampler, after the fusion
    in_file = {"upscore": color["upscore"], **{name + modality: arrays for modality, layers in
                                              (("color", color), ("hha", hha)) for name, arrays in layers.items()
                                              if name != "upscore"}}
    model = converted(tmp_path, in_file)
    assert set(model.input) == {"color", "hha"} and fcn_keras.models.variant_of(model) == "fcn32s"
    image, hha_image = random_images(2, 24, 30, seed=8)
    expected = 0.5 * (caffe_forward(color, image, "fcn32s", mean_bgr=NYUD_COLOR_MEAN_BGR)
                      + caffe_forward(hha, hha_image, "fcn32s", mean_bgr=NYUD_HHA_MEAN, flip=False))
    assert_scores(model({"color": image[None], "hha": hha_image[None]}), expected)
    model.save(tmp_path / "fused.keras")
    assert_scores(fcn_keras.models.load_fcn(str(tmp_path / "fused.keras"))({"color": image[None],
                                                                            "hha": hha_image[None]}), expected)


def test_imagenet_weights_fill_the_colour_channels_and_the_depth_channel_gets_their_mean(tmp_path):
    path = write_caffemodel(tmp_path / "bvlc_alexnet_tiny.caffemodel", alexnet_layers(seed=3, fc_kind="dense"))
    model = fcn_keras.build_fcn32s(3, backbone="alexnet_tiny", backbone_weights=str(path),
                                   modalities=("color", "depth"))
    colour_only = fcn_keras.build_fcn32s(3, backbone="alexnet_tiny", backbone_weights=str(path))
    kernel, reference = (keras.ops.convert_to_numpy(m.get_layer("conv1").weights[0]) for m in (model, colour_only))
    np.testing.assert_array_equal(kernel[:, :, :3], reference)
    np.testing.assert_allclose(kernel[:, :, 3], reference.mean(axis=2), rtol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.get_layer("fc7").weights[0]),
                                  keras.ops.convert_to_numpy(colour_only.get_layer("fc7").weights[0]))


def test_an_rgbd_model_trains_on_batches_whose_inputs_move_together(tmp_path):
    import tensorflow as tf

    rng = np.random.default_rng(9)
    masks = rng.integers(0, CLASSES, (4, 24, 24)).astype("uint8")
    color = np.repeat(masks[..., None] * 50, 3, axis=-1).astype("uint8")
    depth = (1000.0 + 100.0 * masks[..., None]).astype("float32")  # both inputs show the mask
    data = tf.data.Dataset.from_tensor_slices(({"color": color, "depth": depth}, masks))
    batches = fcn_keras.data.prepare(data, batch_size=2, training=True, crop_size=(20, 30), seed=1)
    inputs, batch_masks = next(iter(batches))
    assert {name: tuple(value.shape) for name, value in inputs.items()} == {"color": (2, 20, 30, 3),
                                                                            "depth": (2, 20, 30, 1)}
    labelled = batch_masks.numpy() != 255
    assert 0 < labelled.mean() < 1  # the crop is wider than the images: padded columns
    np.testing.assert_array_equal(inputs["color"].numpy()[..., 0][labelled], batch_masks.numpy()[labelled] * 50.0)
    np.testing.assert_array_equal(inputs["depth"].numpy()[..., 0][labelled],
                                  1000.0 + 100.0 * batch_masks.numpy()[labelled])
    np.testing.assert_allclose(inputs["depth"].numpy()[..., 0][~labelled], np.exp(NYUD_LOG_DEPTH_MEAN), rtol=1e-6)
    model = fcn_keras.build_fcn32s(CLASSES, modalities=("color", "depth"), backbone="vgg16_tiny", padding="same")
    history = fcn_keras.training.train(model, batches, output_dir=str(tmp_path / "run"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_a_registered_modality_is_what_the_model_inputs_and_the_padding_take(registries):
    import tensorflow as tf

    from fcn_keras.data import Modality, prepare, register_modality
    from fcn_keras.data.specs import INPUT_MODALITIES
    from fcn_keras.data.transforms import pad_values

    register_modality(Modality("thermal", 2, "float32", lambda name: keras.layers.Rescaling(0.01, -3.0, name=name),
                               pad_value=(300.0, 20.0)))
    assert "thermal" in INPUT_MODALITIES
    model = fcn_keras.build_fcn32s(CLASSES, modalities=("color", "thermal"), backbone="vgg16_tiny", padding="same")
    assert {name: tensor.shape[-1] for name, tensor in model.input.items()} == {"color": 3, "thermal": 2}
    assert isinstance(model.get_layer("preprocess_thermal"), keras.layers.Rescaling)
    assert pad_values(["color", "thermal"], (1.0, 2.0, 3.0)) == [1.0, 2.0, 3.0, 300.0, 20.0]
    data = tf.data.Dataset.from_tensors(({"color": np.zeros((4, 4, 3), np.uint8),
                                          "thermal": np.full((4, 4, 2), 7.0, np.float32)}, np.zeros((4, 4), np.uint8)))
    (inputs, masks), = prepare(data, training=True, crop_size=(4, 6), flip=False, seed=0).as_numpy_iterator()
    padded = masks[0] == 255  # the two columns the crop adds
    assert padded[:, 4:].all() and not padded[:, :4].any()
    assert inputs["thermal"][0][padded].tolist() == [[300.0, 20.0]] * 8 and (inputs["thermal"][0][~padded] == 7).all()


def test_train_and_evaluate_an_rgbd_model_on_a_nyud_folder(nyud_root, tmp_path, capsys):
    import json

    from fcn_keras import cli

    run = tmp_path / "run"
    assert cli.main(["train", "--data", f"nyud:{nyud_root}", "--modalities", "color", "depth", "--variant", "fcn32s",
                     "--backbone", "vgg16_tiny", "--padding", "same", "--epochs", "1", "--precision", "float32",
                     "--output", str(run)]) == 0
    model = keras.models.load_model(run / "best.keras")
    assert list(model.input) == ["color", "depth"] and model.get_layer("conv1_1").kernel.shape[2] == 4
    assert cli.main(["evaluate", str(run / "best.keras"), "--data", f"nyud:{nyud_root}", "--split", "test",
                     "--output", str(tmp_path / "metrics.json")]) == 0  # the model's inputs say what to read
    scores = json.loads((tmp_path / "metrics.json").read_text())
    assert len(scores["per_class_iou"]) == 40 and 0 <= scores["pixel_accuracy"] <= 1


def test_an_rgbd_model_exports_as_a_saved_model_taking_each_modality(tmp_path):
    import tensorflow as tf

    from fcn_keras.export import export_saved_model, export_tflite

    model = fcn_keras.build_fcn32s(CLASSES, modalities=("color", "depth"), backbone="vgg16_tiny", padding="same")
    rng = np.random.default_rng(10)
    score_fr = model.get_layer("score_fr")
    score_fr.set_weights([rng.normal(0, 0.1, w.shape).astype("float32") for w in score_fr.get_weights()])
    signatures = tf.saved_model.load(export_saved_model(model, str(tmp_path / "serving"))).signatures
    assert set(signatures) == {"serving_default", "logits"}
    color, depth = random_images(1, 21, 26, seed=11), depth_map(21, 26)[None]
    expected = keras.ops.convert_to_numpy(model({"color": color, "depth": depth}))
    outputs = signatures["serving_default"](color=tf.constant(color), depth=tf.constant(depth))
    np.testing.assert_array_equal(outputs["classes"].numpy(), expected.argmax(-1))
    logits = signatures["logits"](color=tf.constant(color), depth=tf.constant(depth))["logits"].numpy()
    assert np.abs(expected).max() > 0.01
    np.testing.assert_allclose(logits, expected, atol=1e-5)
    with pytest.raises(ValueError, match=r"TFLite export takes models of one input.*color, depth"):
        export_tflite(model, tmp_path / "rgbd.tflite")
    from fcn_keras.evaluation import predict
    from fcn_keras.prediction_files import write_predictions

    np.testing.assert_array_equal(predict(model, {"color": color[0], "depth": depth[0]}), expected[0].argmax(-1))
    with pytest.raises(ValueError, match=r"takes color, depth; segment them with fcn_keras.evaluation.predict"):
        write_predictions(model, [str(tmp_path)], str(tmp_path / "out"))


@pytest.mark.parametrize("modalities, message", [
    (("depth",), "depth comes only with colour"), (("hha", "depth"), "depth comes only with colour"),
    (("depth", "color"), r"give colour first .* e.g. \('color', 'depth'\)"),
    (("color", "color"), "must be one or more distinct names"), (("rgb",), "distinct names among color, depth, hha"),
    ((), "distinct names among"), (3, "distinct names among")])
def test_modalities_are_checked(modalities, message):
    with pytest.raises(ValueError, match=message):
        fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", modalities=modalities)


def test_one_modality_may_be_named_alone():
    assert fcn_keras.models.inputs.modalities_of(
        fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", modalities="hha")) == ["hha"]


def tiny_nets():
    kwargs = {"backbone": "vgg16_tiny", "padding": "same"}
    return fcn_keras.build_fcn32s(3, **kwargs), fcn_keras.build_fcn32s(3, modalities=("hha",), **kwargs)


@pytest.mark.parametrize("networks, weights, message", [
    (lambda color, hha: {"hha": color, "color": hha}, None,
     r"networks\['hha'\] \('fcn32s_vgg16_tiny'\) takes colour images, not hha"),
    (lambda color, hha: {"color": color, "depth": hha}, None, r"networks\['depth'\]: .*depth comes only with colour"),
    (lambda color, hha: {"color": color, "ir": hha}, None, r"networks\['ir'\]: .*distinct names among"),
    (lambda color, hha: {}, None, "late_fusion takes two or more FCNs"),
    (lambda color, hha: {"color": color, "hha": hha}, {"color": 1.0}, "weights must give one factor per network"),
    (lambda color, hha: {"color": color, "hha": hha}, {"color": 1.0, "hha": float("nan")},
     r"weights\['hha'\] must be a finite number > 0"),
    (lambda color, hha: {"color": color, "hha": fcn_keras.build_fcn32s(5, backbone="vgg16_tiny", modalities="hha")},
     None, r"different numbers of classes, \{'color': 3, 'hha': 5\}"),
])
def test_late_fusion_refuses_what_it_cannot_sum(networks, weights, message):
    with pytest.raises(ValueError, match=message):
        fcn_keras.models.inputs.late_fusion(networks(*tiny_nets()), weights)


def rgbd_net():
    return fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same", modalities=("color", "depth"))


@pytest.mark.parametrize("color, depth, message", [
    ((1, 8, 8, 3), (1, 8, 8, 3), r"images\['depth'\] has shape \(1, 8, 8, 3\); .* takes depth of 1 channel"),
    ((1, 8, 8, 4), (1, 8, 8, 1), r"images\['color'\] has shape \(1, 8, 8, 4\); .* takes RGB images"),
    ((1, 8, 8, 3), (1, 6, 8, 1), r"differ in size or batch: \{'color': \(1, 8, 8\), 'depth': \(1, 6, 8\)\}"),
    ((1, 8, 8, 3), (2, 8, 8, 1), "differ in size or batch"),
    ((8, 8, 3), (8, 8), r"has shape \(8, 8\); .*add a channel axis: depth\[..., None\]"),
    ((8, 8, 3), None, r"takes \{'color': \(H, W, 3\), 'depth': \(H, W, 1\)\}, got a dict of \['color'\]"),
])
def test_predict_checks_each_input_before_the_model_runs(color, depth, message):
    images = {"color": np.zeros(color, np.float32)} | ({} if depth is None else {"depth": np.ones(depth, np.float32)})
    with pytest.raises(ValueError, match=message):
        fcn_keras.predict(rgbd_net(), images)


def test_depth_in_eight_bits_is_refused_by_predict_and_prepare():
    import tensorflow as tf

    from fcn_keras.data import DataError, prepare

    depth = np.full((8, 8, 1), 200, np.uint8)
    with pytest.raises(DataError, match=r"images\['depth'\] is uint8: depth must be millimetres"):
        fcn_keras.predict(rgbd_net(), {"color": np.zeros((8, 8, 3), np.uint8), "depth": depth})
    pairs = tf.data.Dataset.from_tensors(({"color": np.zeros((8, 8, 3), np.uint8), "depth": depth},
                                          np.zeros((8, 8), np.uint8)))
    with pytest.raises(DataError, match="depth is uint8"):
        prepare(pairs)


def test_an_hha_models_input_is_named_so_evaluation_reads_hha():
    from fcn_keras.data.transforms import pad_values
    from fcn_keras.models.inputs import modalities_of

    model = fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", modalities=("hha",))
    assert modalities_of(model) == ["hha"] and modalities_of(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny")) is None
    assert pad_values(["hha"], (1.0, 2.0, 3.0)) == list(NYUD_HHA_MEAN)  # what the HHA normalization zeroes
