"""The PyTorch peer of FCN-8s (fcn_keras.benchmark.pytorch_peer) computes what the Keras model computes."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fcn_keras  # noqa: E402
from fcn_keras.benchmark.pytorch_peer import pytorch_fcn8s, pytorch_predictor  # noqa: E402

NUM_CLASSES = 5


@pytest.fixture(scope="module")
def keras_model():
    """vgg16_tiny FCN-8s (paper) whose every weight matters: the builder's init, then random score layers
    (zeros at init), random biases and random asymmetric upsampling kernels (a flipped or transposed kernel
    would show), a mean and a std that differ per channel."""
    model = fcn_keras.build_fcn8s(NUM_CLASSES, backbone="vgg16_tiny", padding="paper")
    rng = np.random.default_rng(7)
    for layer in model.layers:
        if layer.name.startswith(("score_fr", "score_pool")) and layer.name[-1] != "c":
            layer.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in layer.get_weights()])
        elif layer.name.startswith("upscore"):
            layer.set_weights([rng.uniform(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])
        elif layer.name.startswith(("conv", "fc")) and layer.weights:
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, rng.normal(0, 0.05, bias.shape).astype("float32")])
    model.get_layer("preprocess").std_rgb = (50.0, 60.0, 70.0)  # the peer divides as the Keras layer does
    return model


@pytest.fixture(scope="module")
def peer(keras_model):
    return pytorch_fcn8s(keras_model)


@pytest.mark.parametrize("size", [(37, 45), (64, 64)])
def test_logits_equal_keras(keras_model, peer, size):
    images = np.random.default_rng(sum(size)).uniform(0, 255, (2, *size, 3)).astype("float32")
    expected = keras_model(images, training=False).numpy()
    with torch.inference_mode():
        logits = peer(torch.from_numpy(images).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert logits.shape == expected.shape == (2, *size, NUM_CLASSES)
    assert expected.std() > 1.0 and np.abs(expected[0] - expected[1]).max() > 0.1  # the image matters
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-4)


def test_predictor_channels_last_or_not(keras_model, peer):
    images = np.random.default_rng(1).uniform(0, 255, (2, 37, 45, 3)).astype("float32")
    expected = keras_model(images, training=False).numpy()
    last = pytorch_predictor(peer, threads=torch.get_num_threads(), channels_last=True)(images)
    assert peer.conv2_1.weight.is_contiguous(memory_format=torch.channels_last)
    first = pytorch_predictor(peer, channels_last=False)(images)
    assert peer.conv2_1.weight.is_contiguous()
    assert last.dtype == first.dtype == np.float32 and last.flags.c_contiguous
    np.testing.assert_allclose(last, expected, rtol=0, atol=1e-4)
    np.testing.assert_allclose(first, last, rtol=0, atol=1e-5)


def test_module_mirrors_pytorch_fcn(peer):
    """pytorch-fcn's FCN8s parameter names and layer hyper-parameters, so its state dicts fit."""
    names = [name for name, _ in peer.named_parameters()]
    assert names[:2] == ["conv1_1.weight", "conv1_1.bias"] and "upscore8.weight" in names
    assert set(peer.state_dict()) == set(names)  # the preprocessing buffers are not saved
    assert peer.conv1_1.padding == (100, 100) and peer.fc6.kernel_size == (7, 7) and peer.fc6.padding == (0, 0)
    assert peer.pool.ceil_mode and not peer.training
    assert (peer.upscore2.kernel_size, peer.upscore2.stride, peer.upscore2.bias) == ((4, 4), (2, 2), None)
    assert (peer.upscore8.kernel_size, peer.upscore8.stride) == ((16, 16), (8, 8))


@pytest.mark.parametrize("kwargs, problem", [
    ({"backbone": "vgg16_tiny", "padding": "same"}, 'padding="same"'),
    ({"backbone": "resnet50"}, "no VGG16 backbone"),
    ({"backbone": "alexnet_tiny"}, "no VGG16 backbone"),
    ({"backbone": "vgg16_tiny", "at_once": True}, "at_once=False"),
])
def test_refuses_other_networks(kwargs, problem):
    with pytest.raises(ValueError, match=problem) as error:
        pytorch_fcn8s(fcn_keras.build_fcn8s(3, **kwargs))
    assert 'padding="paper"' in str(error.value) or "at_once=False" in str(error.value)


def test_refuses_other_variants():
    with pytest.raises(ValueError, match="is an fcn16s, not an FCN-8s.*build_fcn8s"):
        pytorch_fcn8s(fcn_keras.build_fcn16s(3, backbone="vgg16_tiny"))
