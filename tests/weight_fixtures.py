"""Small FCNs in the authors' formats, written as the real files are, and a NumPy forward of them.

The networks have the authors' layer names and `vgg16_tiny`'s widths with random
weights (random upsamplers too, so a wrong layout or a spatial flip shows). The
`.caffemodel` is serialized by the protobuf library itself from message types
declared with caffe.proto's field numbers, in both layer encodings; the `.npz`
as Chainer's `save_npz` writes it; the `.pth` with `torch.save` when torch is
installed. `caffe_forward` is an independent NumPy implementation of the Caffe
net (pad 100, ceil pooling, deconvolution, crops, sums) to compare outputs with.
"""

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from fcn_keras.backbones.alexnet import ALEXNET_FAMILY
from fcn_keras.backbones.googlenet import BRANCHES, GOOGLENET_FAMILY, STEM
from fcn_keras.backbones.vgg import VGG16_FAMILY
from fcn_keras.layers import bilinear_kernel

WIDTHS, FC_UNITS = VGG16_FAMILY["vgg16_tiny"][:2]
BLOCKS = (2, 2, 3, 3, 3)
# variant -> (skip pool, skip stride, upsampler of the coarser scores, Caffe crop offset of the skip)
SKIPS = {"fcn32s": (), "fcn16s": (("pool4", "upscore2", 5),),
         "fcn8s": (("pool4", "upscore2", 5), ("pool3", "upscore_pool4", 9))}
FINAL = {"fcn32s": ("upscore", 32, 19), "fcn16s": ("upscore16", 16, 27), "fcn8s": ("upscore8", 8, 31)}
AT_ONCE_SCALES = {"pool4": 0.01, "pool3": 0.0001}


def authors_layers(variant="fcn8s", num_classes=3, at_once=False, seed=0, bilinear=False):
    """{layer name: [arrays]} in Caffe's layouts for a tiny FCN with the authors' names."""
    rng = np.random.default_rng(seed)
    layers, channels = {}, 3

    def conv(name, out_channels, in_channels, kernel):
        scale = np.sqrt(2.0 / (in_channels * kernel * kernel))
        layers[name] = [rng.normal(0, scale, (out_channels, in_channels, kernel, kernel)).astype(np.float32),
                        rng.normal(0, 0.1, out_channels).astype(np.float32)]

    for block, (width, convs) in enumerate(zip(WIDTHS, BLOCKS), start=1):
        for index in range(1, convs + 1):
            conv(f"conv{block}_{index}", width, channels, 3)
            channels = width
    conv("fc6", FC_UNITS, channels, 7)
    conv("fc7", FC_UNITS, FC_UNITS, 1)
    conv("score_fr", num_classes, FC_UNITS, 1)
    pool_channels = {"pool3": WIDTHS[2], "pool4": WIDTHS[3]}
    for pool, upsample, _ in SKIPS[variant]:
        conv(f"score_{pool}", num_classes, pool_channels[pool], 1)
        layers[upsample] = [_upsampler(rng, num_classes, 4, bilinear)]
        if at_once:
            layers[f"scale_{pool}"] = [np.full(pool_channels[pool], AT_ONCE_SCALES[pool], np.float32)]
    name, stride, _ = FINAL[variant]
    layers[name] = [_upsampler(rng, num_classes, 2 * stride, bilinear)]
    return layers


ALEXNET_WIDTHS, ALEXNET_FC_UNITS = ALEXNET_FAMILY["alexnet_tiny"][:2]
ALEXNET_CONVS = (("conv1", 11, 4, 1, 0), ("conv2", 5, 1, 2, 2), ("conv3", 3, 1, 1, 1), ("conv4", 3, 1, 2, 1),
                 ("conv5", 3, 1, 2, 1))  # name, kernel, stride, groups, pad (conv1's is 100 in the FCN)


def alexnet_layers(num_classes=3, seed=0, fc_kind="conv"):
    """{layer name: [arrays]} in Caffe's layouts for a tiny FCN-AlexNet (FCN-32s) with the authors' names.

    fc_kind "dense" gives fc6/fc7 as a Caffe classifier stores them (InnerProduct (out, in * 6 * 6)) and no
    score layers: the BVLC ImageNet release's form."""
    rng = np.random.default_rng(seed)
    layers, channels = {}, 3
    for (name, kernel, _, groups, _), width in zip(ALEXNET_CONVS, ALEXNET_WIDTHS):
        scale = np.sqrt(2.0 / (channels // groups * kernel * kernel))
        layers[name] = [rng.normal(0, scale, (width, channels // groups, kernel, kernel)).astype(np.float32),
                        rng.normal(0, 0.1, width).astype(np.float32)]
        channels = width
    for name, kernel in (("fc6", 6), ("fc7", 1)):
        weight = rng.normal(0, np.sqrt(2.0 / (channels * kernel * kernel)),
                            (ALEXNET_FC_UNITS, channels, kernel, kernel)).astype(np.float32)
        layers[name] = [weight.reshape(ALEXNET_FC_UNITS, -1) if fc_kind == "dense" else weight,
                        rng.normal(0, 0.1, ALEXNET_FC_UNITS).astype(np.float32)]
        channels = ALEXNET_FC_UNITS
    if fc_kind == "conv":
        layers["score_fr"] = [rng.normal(0, 0.1, (num_classes, channels, 1, 1)).astype(np.float32),
                              rng.normal(0, 0.1, num_classes).astype(np.float32)]
        layers["upscore"] = [_upsampler(rng, num_classes, 63, False)]
    return layers


GOOGLENET_STEM_WIDTHS, GOOGLENET_STAGES = GOOGLENET_FAMILY["googlenet_tiny"][:2]
# inception branch: (kernel, the branch it reads or None for the module's input; pool_proj reads the 3x3/1 pool)
GOOGLENET_BRANCHES = {"1x1": (1, None), "3x3_reduce": (1, None), "3x3": (3, "3x3_reduce"), "5x5_reduce": (1, None),
                      "5x5": (5, "5x5_reduce"), "pool_proj": (1, None)}


def googlenet_layers(seed=0):
    """{Caffe layer name: [arrays]} in Caffe's layout for a bvlc_googlenet-like trunk of `googlenet_tiny`'s widths,
    as BVLC's ImageNet release names them (its classifier and auxiliary heads left out)."""
    rng = np.random.default_rng(seed)
    layers = {}

    def conv(name, out_channels, in_channels, kernel):
        scale = np.sqrt(2.0 / (in_channels * kernel * kernel))
        layers[name] = [rng.normal(0, scale, (out_channels, in_channels, kernel, kernel)).astype(np.float32),
                        rng.normal(0, 0.1, out_channels).astype(np.float32)]

    channels = 3
    for name, width, kernel in zip(STEM, GOOGLENET_STEM_WIDTHS, (7, 1, 3)):
        conv(name, width, channels, kernel)
        channels = width
    for _, _, modules in GOOGLENET_STAGES:
        for module, widths in modules.items():
            width = dict(zip(BRANCHES, widths))
            for branch, (kernel, reads) in GOOGLENET_BRANCHES.items():
                conv(f"{module}/{branch}", width[branch], width[reads] if reads else channels, kernel)
            channels = width["1x1"] + width["3x3"] + width["5x5"] + width["pool_proj"]
    return layers


def _upsampler(rng, channels, kernel, bilinear):
    """Deconvolution weights (in, out, kh, kw): bilinear on the diagonal, or random everywhere."""
    if bilinear:
        weight = np.zeros((channels, channels, kernel, kernel), np.float32)
        weight[range(channels), range(channels)] = bilinear_kernel(kernel)
        return weight
    return rng.normal(0, 0.2, (channels, channels, kernel, kernel)).astype(np.float32)


# ---------------------------------------------------------------------------------------------- writers

def _caffe_messages():
    """Message classes for the part of caffe.proto a .caffemodel of an FCN uses (real field numbers)."""
    F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="fcn_keras_test_caffe.proto", package="caffe_test",
                                              syntax="proto2")

    def message(name, *fields):
        proto = file.message_type.add(name=name)
        for field_name, number, field_type, label, type_name, packed in fields:
            field = proto.field.add(name=field_name, number=number, type=field_type, label=label)
            if type_name:
                field.type_name = f".caffe_test.{type_name}"
            if packed:
                field.options.packed = True

    optional, repeated = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("BlobShape", ("dim", 1, F.TYPE_INT64, repeated, None, True))
    message("BlobProto", ("num", 1, F.TYPE_INT32, optional, None, False),
            ("channels", 2, F.TYPE_INT32, optional, None, False),
            ("height", 3, F.TYPE_INT32, optional, None, False),
            ("width", 4, F.TYPE_INT32, optional, None, False),
            ("data", 5, F.TYPE_FLOAT, repeated, None, True),
            ("shape", 7, F.TYPE_MESSAGE, optional, "BlobShape", False))
    message("LayerParameter", ("name", 1, F.TYPE_STRING, optional, None, False),
            ("type", 2, F.TYPE_STRING, optional, None, False),
            ("blobs", 7, F.TYPE_MESSAGE, repeated, "BlobProto", False))
    # V1LayerParameter.type is an enum; on the wire an enum is a varint like int32.
    message("V1LayerParameter", ("name", 4, F.TYPE_STRING, optional, None, False),
            ("type", 5, F.TYPE_INT32, optional, None, False),
            ("blobs", 6, F.TYPE_MESSAGE, repeated, "BlobProto", False))
    message("NetParameter", ("name", 1, F.TYPE_STRING, optional, None, False),
            ("layers", 2, F.TYPE_MESSAGE, repeated, "V1LayerParameter", False),
            ("layer", 100, F.TYPE_MESSAGE, repeated, "LayerParameter", False))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClassesForFiles([file.name], pool)


def _kind(name, arrays):
    if name.startswith("upscore"):
        return "Deconvolution", 39
    if name.startswith("fc") and arrays[0].ndim == 2:
        return "InnerProduct", 14
    return ("Scale", None) if name.startswith("scale_") else ("Convolution", 4)


def write_caffemodel(path, layers, legacy=False, extra_layers=()):
    """A binary NetParameter: `layer` fields with BlobShape dims, or (legacy) V1 `layers` with num/channels/..."""
    classes = _caffe_messages()
    net = classes["caffe_test.NetParameter"](name="tiny-fcn")
    if not legacy:  # layers without weights come first in real files, as in the prototxt
        net.layer.add(name="data", type="Input")
    for name, arrays in list(layers.items()) + list(extra_layers):
        layer_type, legacy_type = _kind(name, arrays)
        layer = net.layers.add(name=name, type=legacy_type) if legacy else net.layer.add(name=name, type=layer_type)
        for array in arrays:
            blob = layer.blobs.add()
            blob.data.extend(array.ravel().tolist())
            if legacy:
                blob.num, blob.channels, blob.height, blob.width = (1,) * (4 - array.ndim) + array.shape
            else:
                blob.shape.dim.extend(array.shape)
    with open(path, "wb") as file:
        file.write(net.SerializeToString())
    return path


def write_chainer_npz(path, layers):
    """As `chainer.serializers.save_npz` stores a Chain: one array per "<link>/<param>" key."""
    np.savez(path, **{f"{name}/{'W' if index == 0 else 'b'}": array
                      for name, arrays in layers.items() if not name.startswith("scale_")
                      for index, array in enumerate(arrays)})
    return path


def write_torch_pth(path, layers):
    """A pytorch-fcn state dict saved with `torch.save`."""
    import collections

    import torch

    state = collections.OrderedDict(
        (f"{name}.{'weight' if index == 0 else 'bias'}", torch.from_numpy(array.copy()))
        for name, arrays in layers.items() if not name.startswith("scale_") for index, array in enumerate(arrays))
    torch.save(state, path)
    return path


# ---------------------------------------------------------------------------------------------- NumPy forward

def _conv(x, weight, bias, pad=0, stride=1, groups=1):
    """Caffe convolution (cross-correlation), x (C, H, W), weight (out, in / groups, kh, kw)."""
    if groups > 1:
        parts = zip(np.split(x, groups), np.split(weight, groups), np.split(bias, groups))
        return np.concatenate([_conv(part, w, b, pad, stride) for part, w, b in parts])
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    kh, kw = weight.shape[2:]
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("chwij,ocij->ohw", windows, weight, optimize=True) + bias[:, None, None]


def _max_pool_3x3_2(x):
    """Caffe 3x3/2 max pooling rounding the output size up: out = ceil((H - 3) / 2) + 1."""
    channels, height, width = x.shape
    out_h, out_w = -(-(height - 3) // 2) + 1, -(-(width - 3) // 2) + 1
    padded = np.full((channels, 2 * out_h + 1, 2 * out_w + 1), -np.inf, x.dtype)
    padded[:, :height, :width] = x
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))[:, ::2, ::2]
    return windows.max(axis=(3, 4))[:, :out_h, :out_w]


def _lrn(x, size=5, alpha=1e-4, beta=0.75):
    """Caffe LRN across channels: x / (1 + alpha / size * sum of squares over `size` channels) ** beta."""
    squares = np.pad(x ** 2, ((size // 2, size // 2), (0, 0), (0, 0)))
    window = sum(squares[shift:shift + x.shape[0]] for shift in range(size))
    return x / (1 + alpha / size * window) ** beta


def caffe_alexnet_forward(layers, image_rgb, mean_bgr=(104.00698793, 116.66876762, 122.67891434)):
    """The authors' voc-fcn-alexnet on one RGB image (H, W, 3): scores (H, W, classes), float64."""
    relu = lambda x: np.maximum(x, 0)  # noqa: E731
    x = (image_rgb[..., ::-1].astype(np.float64) - np.asarray(mean_bgr)).transpose(2, 0, 1)
    for name, _, stride, groups, pad in ALEXNET_CONVS:
        x = relu(_conv(x, *layers[name], pad=100 if name == "conv1" else pad, stride=stride, groups=groups))
        if name in ("conv1", "conv2", "conv5"):
            x = _max_pool_3x3_2(x)
            if name != "conv5":
                x = _lrn(x)
    x = relu(_conv(x, *layers["fc6"]))
    x = relu(_conv(x, *layers["fc7"]))
    score = _deconv(_conv(x, *layers["score_fr"]), layers["upscore"][0], 32)
    height, width = image_rgb.shape[:2]
    return score[:, 18:18 + height, 18:18 + width].transpose(1, 2, 0)


def _max_pool_3x3_1(x):
    """Caffe 3x3/1 max pooling with pad 1 (the padding never wins): the output keeps the size."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    return np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2)).max(axis=(3, 4))


def caffe_googlenet_trunk(layers, image_rgb, mean_bgr=(104.0, 117.0, 123.0)):
    """bvlc_googlenet's trunk with conv1 padded by 100 (the "paper" geometry) on one RGB image (H, W, 3):
    {Caffe blob name: (C, H, W) float64} of every inception module's output."""
    relu = lambda x: np.maximum(x, 0)  # noqa: E731
    x = (image_rgb[..., ::-1].astype(np.float64) - np.asarray(mean_bgr)).transpose(2, 0, 1)
    x = _lrn(_max_pool_3x3_2(relu(_conv(x, *layers["conv1/7x7_s2"], pad=100, stride=2))))
    x = relu(_conv(x, *layers["conv2/3x3_reduce"]))
    x = _max_pool_3x3_2(_lrn(relu(_conv(x, *layers["conv2/3x3"], pad=1))))
    outputs = {}
    for _, pool, modules in GOOGLENET_STAGES:
        x = _max_pool_3x3_2(x) if pool else x
        for module in modules:
            branch = {name: layers[f"{module}/{name}"] for name in BRANCHES}
            x = np.concatenate([relu(_conv(x, *branch["1x1"])),
                                relu(_conv(relu(_conv(x, *branch["3x3_reduce"])), *branch["3x3"], pad=1)),
                                relu(_conv(relu(_conv(x, *branch["5x5_reduce"])), *branch["5x5"], pad=2)),
                                relu(_conv(_max_pool_3x3_1(x), *branch["pool_proj"]))])
            outputs[f"{module}/output"] = x
    return outputs


def _max_pool(x):
    """Caffe 2x2/2 max pooling, rounding the output size up (the last window may be partial)."""
    channels, height, width = x.shape
    out_h, out_w = -(-height // 2), -(-width // 2)
    padded = np.full((channels, 2 * out_h, 2 * out_w), -np.inf, x.dtype)
    padded[:, :height, :width] = x
    return padded.reshape(channels, out_h, 2, out_w, 2).max(axis=(2, 4))


def _deconv(x, weight, stride):
    """Caffe deconvolution (no padding), x (in, H, W), weight (in, out, k, k)."""
    in_channels, height, width = x.shape
    kernel = weight.shape[2]
    out = np.zeros((weight.shape[1], (height - 1) * stride + kernel, (width - 1) * stride + kernel))
    for i in range(height):
        for j in range(width):
            out[:, i * stride:i * stride + kernel, j * stride:j * stride + kernel] += np.einsum(
                "c,cokl->okl", x[:, i, j], weight)
    return out


def caffe_forward(layers, image_rgb, variant="fcn8s", at_once=False, mean_bgr=(104.00698793, 116.66876762,
                                                                               122.67891434), extra=None, flip=True):
    """The authors' network on one RGB image (H, W, 3) in [0, 255]: scores (H, W, classes), float64.

    `extra`: normalized channels (H, W, k) stacked after the image's (the colour-depth net's log depth);
    `flip=False` feeds the image's channels in their own order, minus `mean_bgr` as given (the HHA net)."""
    relu = lambda x: np.maximum(x, 0)  # noqa: E731
    x = (image_rgb[..., ::-1] if flip else image_rgb).astype(np.float64) - np.asarray(mean_bgr)
    x = (x if extra is None else np.concatenate([x, extra], axis=-1)).transpose(2, 0, 1)
    taps = {}
    for block, convs in enumerate(BLOCKS, start=1):
        for index in range(1, convs + 1):
            name = f"conv{block}_{index}"
            x = relu(_conv(x, *layers[name], pad=100 if name == "conv1_1" else 1))
        x = _max_pool(x)
        taps[f"pool{block}"] = x
    x = relu(_conv(x, *layers["fc6"]))
    x = relu(_conv(x, *layers["fc7"]))
    score = _conv(x, *layers["score_fr"])
    for pool, upsample, offset in SKIPS[variant]:
        score = _deconv(score, layers[upsample][0], 2)
        skip = taps[pool] * (AT_ONCE_SCALES[pool] if at_once else 1.0)
        skip = _conv(skip, *layers[f"score_{pool}"])
        score = score + skip[:, offset:offset + score.shape[1], offset:offset + score.shape[2]]
    name, stride, offset = FINAL[variant]
    score = _deconv(score, layers[name][0], stride)
    height, width = image_rgb.shape[:2]
    return score[:, offset:offset + height, offset:offset + width].transpose(1, 2, 0)
