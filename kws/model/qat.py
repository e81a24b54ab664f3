"""Quantization-aware training: a trained network fine-tuned with the rounding its int8 model will do simulated in the
forward pass (TensorFlow's fake-quant ops, which round as TFLite does; gradients pass straight through), so that it
learns weights that survive it:

- every convolution's and dense layer's weights, per tensor and symmetric, as `kws quantize` stores them: a
  convolution's as the converter folds them, times the scale of the batch norm after it (gamma over the moving
  standard deviation), so that the folded kernel lies on the int8 grid;
- every activation the converted model holds in int8 (the outputs of ReLUs, additions, the logits, and of
  convolutions and batch norms not fused into the layer after them), over the range the converter will calibrate
  for it (`calibrate`, before each epoch).

The network keeps its layers, batch norms included: they go on training on batch statistics (frozen, they cost 0.6
points of validation accuracy in an epoch even at a learning rate of 5e-6: docs/experiments.md), and `exported`
copies the weights back into the family's own network."""

from __future__ import annotations

import functools

import numpy as np

RANGE = "_q"  # the name of the range after a layer NAME is NAMERANGE


def _fake_quant_weights(w):
    """`w` rounded as TFLite's per-tensor symmetric int8 weights (-127..127 times max |w| / 127)."""
    import tensorflow as tf

    m = tf.stop_gradient(tf.maximum(tf.reduce_max(tf.abs(w)), 1e-8))
    return tf.quantization.fake_quant_with_min_max_vars(w, -m, m, num_bits=8, narrow_range=True)


def _batch_norm_scale(bn):
    """The per-channel factor by which the converter folds the batch norm `bn` into the convolution before it."""
    from keras import ops

    return bn.gamma / ops.sqrt(bn.moving_variance + bn.epsilon)


@functools.cache
def _quantized_layers() -> dict:
    """Convolution and dense layer classes that compute with their kernel rounded to int8 (folded with the batch
    norm after them, where `fold` names it), by the Keras class they replace."""
    from keras import layers, ops

    class Rounded:
        fold = None  # a function giving the batch norm's scale, per output channel

        def rounded_kernel(self):
            if self.fold is None:
                return _fake_quant_weights(self.kernel)
            scale = self.fold()
            scale = scale[:, None] if isinstance(self, layers.DepthwiseConv2D) else scale
            scale = ops.where(ops.abs(scale) < 1e-12, 1e-12, scale)
            return _fake_quant_weights(self.kernel * scale) / scale

        def add_bias(self, out):
            return ops.add(out, self.bias) if self.use_bias else out

    class QuantizedConv2D(Rounded, layers.Conv2D):
        def call(self, inputs):
            return self.add_bias(self.convolution_op(inputs, self.rounded_kernel()))

    class QuantizedDepthwiseConv2D(Rounded, layers.DepthwiseConv2D):
        def call(self, inputs):
            return self.add_bias(ops.depthwise_conv(inputs, self.rounded_kernel(), strides=self.strides,
                                                    padding=self.padding, dilation_rate=self.dilation_rate,
                                                    data_format=self.data_format))

    class QuantizedDense(Rounded, layers.Dense):
        def call(self, inputs, training=None):
            return self.add_bias(ops.matmul(inputs, self.rounded_kernel()))

    return {layers.Conv2D: QuantizedConv2D, layers.DepthwiseConv2D: QuantizedDepthwiseConv2D,
            layers.Dense: QuantizedDense}


@functools.cache
def _range_layer():
    """A layer that rounds its input to 8 bits over the range `calibrate` gave it."""
    import keras
    import tensorflow as tf

    class ActivationRange(keras.layers.Layer):
        def build(self, input_shape):
            self.low = self.add_weight(shape=(), initializer="zeros", trainable=False, name="low")
            self.high = self.add_weight(shape=(), initializer="ones", trainable=False, name="high")

        def call(self, x):
            return tf.quantization.fake_quant_with_min_max_vars(x, self.low, self.high, num_bits=8)

    return ActivationRange


def quantization_aware(model):
    """`model` (a network `build_network` made) with its int8 rounding simulated (module docstring), its weights
    copied: the same layers by name, and a range after each layer whose output is an int8 tensor (`NAME_q`), to
    `calibrate` before training."""
    import keras
    from keras import layers

    ranges = _range_layer()

    def clone(layer):
        quantized = _quantized_layers().get(type(layer))
        return (quantized if quantized and layer.trainable else type(layer)).from_config(layer.get_config())

    def rounded(layer) -> bool:  # an int8 tensor in the converted model: not fused into the layer after it
        fused = all(isinstance(node.operation, (layers.BatchNormalization, layers.ReLU))
                    for node in layer._outbound_nodes)
        return (isinstance(layer, (layers.ReLU, layers.Add)) or layer.name == "fc"
                or isinstance(layer, (layers.BatchNormalization, layers.Conv2D, layers.DepthwiseConv2D)) and not fused)

    def call(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        return ranges(name=f"{layer.name}{RANGE}")(out) if rounded(model.get_layer(layer.name)) else out

    qat = keras.models.clone_model(model, clone_function=clone, call_function=call)
    source = {layer.name: layer for layer in model.layers}
    for layer in qat.layers:
        if layer.name in source:  # not the ranges
            layer.set_weights(source[layer.name].get_weights())
        if hasattr(layer, "rounded_kernel") and f"{layer.name}_bn" in source:  # a function, not a tracked layer
            layer.fold = functools.partial(_batch_norm_scale, qat.get_layer(f"{layer.name}_bn"))
    return qat


def calibrate(qat, model, representative: np.ndarray, batch: int = 250) -> None:
    """Give each activation range of `qat` what the converter will choose for its tensor: its minimum (at most 0)
    and maximum in `model` (the float network, given `qat`'s weights) over the `representative` features (N,
    frames, features)."""
    import keras

    ranges = [layer for layer in qat.layers if layer.name.endswith(RANGE)]
    exported(qat, model)
    probe = keras.Model(model.input, [model.get_layer(r.name.removesuffix(RANGE)).output for r in ranges])
    outputs = [probe(representative[i : i + batch, ..., None]) for i in range(0, len(representative), batch)]
    for r, tensors in zip(ranges, zip(*outputs)):
        low = min(0.0, min(float(np.min(t)) for t in tensors))
        r.low.assign(low)
        r.high.assign(max(low + 1e-6, max(float(np.max(t)) for t in tensors)))


def exported(qat, model):
    """Copy the weights of `qat` (made by `quantization_aware(model)`) into `model`, to export. Returns `model`."""
    for layer in model.layers:
        layer.set_weights(qat.get_layer(layer.name).get_weights())
    return model
