"""The input means the authors trained with, per data set: facts the models need, without TensorFlow.

The data set modules (`fcn_keras.data.nyud`, `.siftflow`, `.pascal_context`) read the data;
the models and presets subtract these means.
"""

CAFFE_MEAN_BGR = (104.00698793, 116.66876762, 122.67891434)
"""The BGR mean the authors' VGG16 FCNs (PASCAL VOC) were trained with: their data layers subtract it."""

PASCAL_CONTEXT_MEAN_BGR = (104.007, 116.669, 122.679)
"""The authors' PASCAL-Context pixel mean, BGR order (the ImageNet VGG16 mean, rounded)."""

SIFTFLOW_MEAN_BGR = (114.578, 115.294, 108.353)
"""The authors' SIFT Flow pixel mean, BGR order, subtracted from 0..255 inputs."""

NYUD_COLOR_MEAN_BGR = (116.190, 97.203, 92.318)
"""The authors' NYUDv2 colour mean, BGR order, subtracted from 0..255 inputs."""

NYUD_HHA_MEAN = (132.431, 94.076, 118.477)
"""The authors' HHA mean in the PNG's channel order (disparity, height, angle); they subtract it unflipped."""

NYUD_LOG_DEPTH_MEAN = 7.844
"""The authors' mean of ``log(depth in millimetres)``; their depth input is ``log(depth) - 7.844``."""
