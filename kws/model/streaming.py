"""A streamable DS-CNN (`ModelConfig.streamable`) run one stride at a time: the trained layers, unpadded in time,
each keeping between calls the time steps it still needs (TFLite resource variables, int8 like the rest), so a
stride computes only its new steps, and the output after the frames of a window equals the window's."""

from __future__ import annotations

import numpy as np

from ..errors import KwsError
from .network import ModelConfig, real_steps, same_padding


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


def _unpadded_in_time(layer, x, name: str):
    """`layer` (a trained 'same' convolution) on `x`, padded in frequency alone."""
    import keras
    from keras import layers

    frequency = same_padding(x.shape[2], layer.kernel_size[1], layer.strides[1])
    x = layers.ZeroPadding2D(((0, 0), frequency), name=f"{name}_pad")(x)
    config = {**layer.get_config(), "padding": "valid", "name": f"{name}_valid"}
    twin = type(layer).from_config(config)
    y = twin(x)
    twin.set_weights(layer.get_weights())
    return y


def streaming_network(model, config: ModelConfig, frames: int, stride_frames: int):
    """The stateful twin of a trained streamable DS-CNN `model` (frames x features): it takes `stride_frames`
    new frames a call (batch 1) and returns the probabilities of the window of `frames` that ends one frame after
    them (the window's last frame reaches no step the pool averages)."""
    import keras
    from keras import layers

    if not config.streamable or config.arch != "ds-cnn":
        raise KwsError("only a streamable ds-cnn (ModelConfig.streamable) runs a stride at a time")
    conv_stride = config.first_stride[0]
    if stride_frames % conv_stride:
        raise KwsError(f"a stride of {stride_frames} frames does not fit the first convolution's stride of "
                       f"{conv_stride}: pick a multiple of it")
    Ring = _ring_class()
    new = stride_frames // conv_stride  # time steps each call adds
    first, end = real_steps(frames, config)
    if (end - first) % new:
        raise KwsError(f"a stride of {stride_frames} frames ({new} steps) does not divide the {end - first} steps the "
                       "pool averages")
    inputs = keras.Input((stride_frames, model.input_shape[2], 1), batch_size=1, name="mfcc")
    x = Ring(config.first_kernel[0] - conv_stride, name="conv_past")(inputs)
    x = _unpadded_in_time(model.get_layer("conv"), x, "conv")
    x = model.get_layer("conv_relu")(model.get_layer("conv_bn")(x))
    for i in range(config.blocks):
        x = Ring(2, name=f"dw{i}_past")(x)  # a 3x3 depthwise convolution's two steps before the new ones
        x = _unpadded_in_time(model.get_layer(f"dw{i}"), x, f"dw{i}")
        x = model.get_layer(f"dw{i}_relu")(model.get_layer(f"dw{i}_bn")(x))
        x = model.get_layer(f"pw{i}_relu")(model.get_layer(f"pw{i}_bn")(model.get_layer(f"pw{i}")(x)))
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name="stride_pool")(x)  # the new steps' mean
    x = Ring((end - first) // new - 1, name="pool_past")(x)  # and the means of the strides before
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
