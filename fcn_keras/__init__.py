"""fcn_keras: Fully Convolutional Networks for semantic segmentation in Keras 3 (TensorFlow, JAX or PyTorch).

`import fcn_keras` is instant: each public name imports its module (and Keras with its
backend) on first use, and the package's layers, losses, metrics and schedules register
themselves as soon as Keras is imported, so `keras.models.load_model("fcn.keras")`
needs no `custom_objects`, also for the compiled `best.keras` of a training run.
"""

from fcn_keras.lazy_imports import lazy_namespace, register_with_keras

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_namespace(__name__, {
    "fcn_keras.backbones": ["available_backbones", "get_backbone", "register_backbone"],
    "fcn_keras.data": ["data"],
    "fcn_keras.evaluation": ["evaluate", "predict"],
    "fcn_keras.layers": ["BilinearUpsampling", "CaffePreprocessing", "CropToReference", "ImagePreprocessing"],
    "fcn_keras.losses": ["losses"],
    "fcn_keras.metrics": ["metrics"],
    "fcn_keras.models.presets": ["presets"],  # the registry of the authors' trained networks
    "fcn_keras.models": ["FCN", "build_fcn", "build_fcn8s", "build_fcn16s", "build_fcn32s", "convolutionalize",
                         "copy_shared_weights", "from_preset", "load_fcn"],
    "fcn_keras.test_time": ["TestTimeAugmentation"],
    "fcn_keras.training": ["TrainingSettings", "run_training", "train", "train_staged"],
    "fcn_keras.visualize": ["visualize"],
})
register_with_keras()
