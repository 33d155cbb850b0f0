"""An FCN knows what it is: its config holds what it was built as, through saving, cloning and earlier files."""

import keras
import numpy as np
import pytest

import fcn_keras
from fcn_keras.models import FCN, FCNConfig, classes_of, heads_of, variant_of
from fcn_keras.models.fcn_model import fcn_config_of


def tiny(**kwargs):
    return fcn_keras.build_fcn("fcn16s", backbone="vgg16_tiny", padding="same", **kwargs)


@pytest.mark.backends
def test_the_config_holds_the_constructor_facts():
    model = tiny(heads={"semantic": 4, "geometric": 3}, modalities=("color", "depth"), at_once=True,
                 learn_upsampling=True)
    assert isinstance(model, FCN)
    assert model.fcn_config == FCNConfig("fcn16s", {"semantic": 4, "geometric": 3}, "vgg16_tiny", "same",
                                         ("color", "depth"), at_once=True, learn_upsampling=True)
    assert (model.variant, model.heads, model.modalities) == ("fcn16s", {"semantic": 4, "geometric": 3},
                                                              ("color", "depth"))


@pytest.mark.backends
def test_saving_and_cloning_keep_the_config_and_the_outputs(tmp_path):
    model = tiny(num_classes=5)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    cloned = keras.models.clone_model(model)
    images = np.random.default_rng(0).uniform(0, 255, (1, 20, 28, 3)).astype("float32")
    assert type(loaded) is FCN and loaded.fcn_config == model.fcn_config == cloned.fcn_config
    np.testing.assert_array_equal(np.asarray(loaded.predict_on_batch(images)),
                                  np.asarray(model.predict_on_batch(images)))


def test_a_renamed_layer_does_not_change_what_the_model_is():
    model = tiny(num_classes=5)
    model.get_layer("score_fr").name = "renamed"  # no parsing of layer names: the config says it
    assert (variant_of(model), classes_of(model)) == ("fcn16s", 5)


def test_a_plain_functional_fcn_is_read_off_its_graph():
    built = fcn_keras.build_fcn8s(heads={"a": 2, "b": 3}, backbone="vgg16_tiny", at_once=True)
    plain = keras.Model(built.input, built.output)
    assert not isinstance(plain, FCN)
    assert fcn_config_of(plain) == FCNConfig("fcn8s", {"a": 2, "b": 3}, None, "paper", at_once=True)
    assert heads_of(plain) == {"a": 2, "b": 3}


def test_a_model_of_your_own_is_taken_by_its_outputs():
    images = keras.Input((None, None, 3))
    own = keras.Model(images, keras.layers.Conv2D(7, 1)(images))
    assert classes_of(own) == 7
    with pytest.raises(ValueError, match="not an FCN-32s, -16s or -8s"):
        fcn_config_of(own)


def test_the_config_is_checked():
    images = keras.Input((None, None, 3))
    with pytest.raises(TypeError, match="config must be an FCNConfig, got dict"):
        FCN(images, keras.layers.Conv2D(2, 1)(images), config={"variant": "fcn8s"})


def test_the_facts_cannot_be_changed_through_what_they_return(tmp_path):
    model = tiny(heads={"semantic": 4, "geometric": 3})
    model.num_classes["semantic"] = 99
    heads_of(model)["geometric"] = 99
    assert model.fcn_config.num_classes == {"semantic": 4, "geometric": 3}
    model.trainable = False
    model.save(tmp_path / "frozen.keras")
    assert keras.models.load_model(tmp_path / "frozen.keras").trainable is False


def test_late_fusion_of_networks_that_differ_is_a_plain_model():
    from fcn_keras.models.inputs import late_fusion

    color = fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same")
    hha = fcn_keras.build_fcn16s(3, backbone="vgg16_tiny", padding="same", modalities=("hha",))
    same = fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same", modalities=("hha",))
    assert not isinstance(late_fusion({"color": color, "hha": hha}), FCN)
    fused = late_fusion({"color": color, "hha": same})
    assert fused.fcn_config == FCNConfig("fcn32s", 3, {"color": "vgg16_tiny", "hha": "vgg16_tiny"}, "same",
                                         ("color", "hha"))
