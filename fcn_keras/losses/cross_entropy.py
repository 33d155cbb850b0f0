"""Per-pixel softmax cross-entropy with an ignored label, as FCN is trained.

The reference (the authors' Caffe `SoftmaxWithLoss`, `ignore_label: 255`,
`normalize: false`) sums the loss over every labelled pixel of the batch. That
sum grows with the image size, which is why the paper's learning rates are as
small as 1e-10. The default here is the mean over labelled pixels instead, so
ordinary learning rates work; `reduction="sum"` gives the reference's loss.
"""

import keras
from keras import ops

from fcn_keras.labels import IGNORE_LABEL
from fcn_keras.losses.pixel_loss import PixelLoss


@keras.saving.register_keras_serializable(package="fcn_keras")
class SegmentationCrossEntropy(PixelLoss):
    """Softmax cross-entropy per pixel from logits, with one label ignored and optional class weights.

    Pixels labelled `ignore_index` contribute nothing: neither to the loss nor to
    its gradient nor to the pixel count of the mean. It is computed in float32
    even when the logits are float16/bfloat16 (mixed precision), with the backend's
    numerically stable log-softmax, alike on TensorFlow, JAX and PyTorch. A batch in
    which every pixel is ignored has loss 0.

    Args:
        ignore_index: label value to ignore (VOC: 255).
        reduction: `"mean"` (default), the mean over labelled pixels of the batch;
            `"sum"`, the reference's unnormalized sum over labelled pixels (use it
            with the paper's tiny learning rates); `"none"`, the per-pixel loss map
            `(N, H, W)` with zeros at ignored pixels.
        name: name of the loss.
        class_weights: None, or one weight per class (finite, >= 0, not all 0), e.g.
            from `fcn_keras.training.class_weights.median_frequency_weights`. Each
            pixel's loss is multiplied by its true class's weight; `"mean"` is then
            the weighted mean sum(w_y * loss) / sum(w_y) over labelled pixels (as
            PyTorch's `CrossEntropyLoss(weight=...)`), `"sum"` the weighted sum.

    A label outside `[0, num_classes)` other than `ignore_index` fails an assert
    naming the value on the TensorFlow backend (see `prepare_labels`); under XLA,
    which drops asserts, and on JAX and PyTorch it makes the loss NaN instead of
    being skipped.

    Sample weights (shape `(N,)`, `(N, H, W)` or `(N, H, W, 1)`) multiply the
    per-pixel losses; the `"mean"` still divides by the number of labelled pixels (the
    sum of their class weights). Under `tf.distribute`, `"mean"` averages the replicas'
    means, as Keras does for its own losses, and `"sum"` adds the replicas' sums.

    Example:
        >>> loss = SegmentationCrossEntropy()
        >>> logits = np.zeros((1, 2, 2, 3), np.float32)
        >>> labels = np.array([[[0, 1], [2, 255]]])
        >>> round(float(loss(labels, logits)), 4)  # log(3) over 3 labelled pixels
        1.0986
        >>> weighted = SegmentationCrossEntropy(class_weights=[1.0, 2.0, 0.0])
        >>> round(float(weighted(labels, logits)), 4)  # (1 + 2 + 0) * log(3) / (1 + 2 + 0)
        1.0986
        >>> model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
        >>> model.compile(optimizer="adam", loss=SegmentationCrossEntropy())
    """

    def __init__(self, ignore_index=IGNORE_LABEL, reduction="mean", name="segmentation_cross_entropy",
                 class_weights=None):
        super().__init__(ignore_index, reduction, name, class_weights)

    def pixel_losses(self, logits, labels):
        return ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
