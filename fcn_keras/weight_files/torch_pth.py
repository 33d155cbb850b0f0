"""Reading pytorch-fcn's `.pth` state dicts ("conv1_1.weight", "conv1_1.bias"); needs the optional torch."""

from fcn_keras.weight_files.source_layer import SourceLayer, kind_by_name

PARAMETER_ORDER = {"weight": 0, "bias": 1}


def read_torch_pth(path):
    """The weights of every layer of a pytorch-fcn state dict, loaded with `weights_only=True`.

    PyTorch keeps Caffe's layouts: Conv2d weight (out, in, kh, kw), ConvTranspose2d
    weight (in, out, kh, kw).

    Args:
        path: the `.pth` file.

    Returns:
        {layer name: `SourceLayer`}.

    Raises:
        ImportError: torch is not installed (`pip install "fcn-keras[torch]"`).
        ValueError: the file is not a readable state dict.

    Example:
        >>> import torch
        >>> torch.save({"score_fr.weight": torch.zeros(21, 4096, 1, 1), "score_fr.bias": torch.zeros(21)},
        ...            "fcn8s_from_caffe.pth")
        >>> read_torch_pth("fcn8s_from_caffe.pth")["score_fr"].arrays[0].shape
        (21, 4096, 1, 1)
    """
    try:
        import torch
    except ImportError:
        raise ImportError(f"Reading {path} needs PyTorch: pip install 'fcn-keras[torch]' (or use the .caffemodel "
                          "or .npz release of the same weights).") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt or foreign files
        raise ValueError(f"{path} is not a readable PyTorch state dict ({type(error).__name__}: {error}); the file "
                         "may be truncated: download it again.") from None
    state = state.get("model_state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict of named tensors.")
    grouped = {}
    for key, tensor in state.items():
        layer, _, parameter = key.rpartition(".")
        if parameter not in PARAMETER_ORDER or not hasattr(tensor, "numpy"):
            raise ValueError(f"{path}: entry {key!r} is not '<layer>.weight' or '<layer>.bias' of a tensor.")
        grouped.setdefault(layer.rpartition(".")[2], {})[PARAMETER_ORDER[parameter]] = tensor.detach().numpy()
    return {layer: SourceLayer(kind_by_name(layer), tuple(parts[i] for i in sorted(parts)))
            for layer, parts in grouped.items()}
