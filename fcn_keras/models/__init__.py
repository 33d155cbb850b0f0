"""FCN model builders, the variant table, convolutionalization and weight copying.

Names load their modules on first use; `fcn_keras.models.variants` needs no Keras. The models need
no TensorFlow: they run on every Keras backend.
"""

from fcn_keras.lazy_imports import lazy_namespace

__getattr__, __dir__, __all__ = lazy_namespace(__name__, {
    "fcn_keras.models.border": ["skip_border"],
    "fcn_keras.models.conversion": ["convert_weights_file", "fcn_from_weights"],
    "fcn_keras.data.means": ["CAFFE_MEAN_BGR"],
    "fcn_keras.models.cost": ["convolution_flops"],
    "fcn_keras.backbones.surgery": ["convolutionalize"],
    "fcn_keras.models.fcn": ["build_fcn", "build_fcn8s", "build_fcn16s", "build_fcn32s"],
    "fcn_keras.models.fcn_model": ["FCN", "FCNConfig", "classes_of", "heads_of", "num_classes_of", "variant_of"],
    "fcn_keras.models.loading": ["load_fcn"],
    "fcn_keras.models.presets": ["from_preset"],
    "fcn_keras.models.preset_table": ["PRESETS", "Preset", "WeightSource", "fcn_keras_home", "get_preset"],
    "fcn_keras.models.shared_weights": ["copy_shared_weights"],
    "fcn_keras.models.variants": ["PADDINGS", "VARIANTS"],
})
