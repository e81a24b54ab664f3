"""A streamable DS-CNN (`ModelConfig.streamable`: causal in time) run one stride at a time: the trained layers,
each keeping between calls the time steps it still needs where the window model has zeros before its frames
(TFLite resource variables, int8 like the rest), so a stride computes only its new steps; heard from silence, a
window gives the window model's output."""

from __future__ import annotations

import numpy as np

from ..errors import KwsError
from .network import ModelConfig, frequency_padding


def _ring_class():
    import keras

    class Ring(keras.layers.Layer):
        """Its input's time steps after the last `keep` of those it saw before (zeros at first)."""

        def __init__(self, keep: int, **kwargs):
            super().__init__(**kwargs)
            self.keep = keep

        def build(self, shape):
            self.past = self.add_weight(shape=(shape[0], self.keep, *shape[2:]), initializer="zeros",
                                        trainable=False, name="past")

        def call(self, x):
            both = keras.ops.concatenate([self.past.value, x], axis=1)
            self.past.assign(both[:, -self.keep:])
            return both

    return Ring


def _zero_bins_class():
    import keras

    class ZeroBins(keras.layers.Layer):
        """Its input with zero bins below and above its frequency axis: a concatenation with constants, which TFLite
        Micro does ~30 times faster than its padding (firmware/README.md)."""

        def __init__(self, below: int, above: int, **kwargs):
            super().__init__(**kwargs)
            self.below, self.above = below, above

        def call(self, x):
            def zeros(n):
                return [keras.ops.zeros((x.shape[0], x.shape[1], n, x.shape[3]), x.dtype)] if n else []

            return keras.ops.concatenate(zeros(self.below) + [x] + zeros(self.above), axis=2)

    return ZeroBins


def streaming_network(model, config: ModelConfig, stride_frames: int):
    """The stateful twin of a trained streamable DS-CNN `model`: it takes `stride_frames` new frames a call (batch
    1) and keeps what each layer still needs of them, in place of the window's padding in time. After the frames of
    a window heard from silence (what it keeps all zeros, as `reset` leaves it), it returns the window model's
    probabilities for the window that ends one frame later (the last frame reaches no pooled step); in a stream, the
    earlier frames themselves stand where the window had zeros."""
    import keras
    from keras import layers

    if not config.streamable or config.arch != "ds-cnn":
        raise KwsError("only a streamable ds-cnn (ModelConfig.streamable) runs a stride at a time")
    conv_stride = config.first_stride[0]
    if stride_frames % conv_stride:
        raise KwsError(f"a stride of {stride_frames} frames does not fit the first convolution's stride of "
                       f"{conv_stride}: pick a multiple of it")
    Ring, ZeroBins = _ring_class(), _zero_bins_class()
    new = stride_frames // conv_stride  # time steps each call adds
    steps = model.get_layer("pool").input.shape[1]
    if steps % new:
        raise KwsError(f"a stride of {stride_frames} frames ({new} steps) does not divide the {steps} steps the pool "
                       "averages")
    def kept_then(name: str, x):  # a convolution on the new steps padded in frequency and what it kept of them
        conv = model.get_layer(name)
        x = ZeroBins(*frequency_padding(x, conv.kernel_size[1], conv.strides[1]), name=f"{name}_frequency")(x)
        x = conv(Ring(conv.kernel_size[0] - conv.strides[0], name=f"{name}_past")(x))  # where the window has zeros
        return model.get_layer(f"{name}_relu")(model.get_layer(f"{name}_bn")(x))

    inputs = keras.Input((stride_frames, model.input_shape[2], 1), batch_size=1, name="mfcc")
    x = kept_then("conv", inputs)
    for i in range(config.blocks):
        x = kept_then(f"dw{i}", x)
        x = model.get_layer(f"pw{i}_relu")(model.get_layer(f"pw{i}_bn")(model.get_layer(f"pw{i}")(x)))
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name="stride_pool")(x)  # the new steps' mean
    x = Ring(steps // new - 1, name="pool_past")(x)  # and the means of the strides before
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name="pool")(x)
    x = layers.Flatten(name="flat")(x)
    x = model.get_layer("fc")(x)
    x = model.get_layer("words" if config.word_classes else "probs")(x)
    if config.word_classes:
        x = model.get_layer("probs")(x)
    return keras.Model(inputs, x, name="streaming")


def reset(stream_model) -> None:
    """Forget what the stream model has heard (every kept step back to zeros)."""
    for variable in stream_model.non_trainable_variables:
        if variable.path.endswith("/past"):
            variable.assign(np.zeros(variable.shape, np.float32))
