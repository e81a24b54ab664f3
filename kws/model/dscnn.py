"""The depthwise-separable CNN ("Hello Edge" DS-CNN), sized for a Cortex-M4 and TFLite Micro's op set."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    channels: int = 34  # 32 scored 0.6 points lower on float validation (models/README.md); 36 would pass 16 KB
    blocks: int = 4
    first_kernel: tuple[int, int] = (10, 4)
    first_stride: tuple[int, int] = (2, 2)
    dropout: float = 0.0  # 0.2 cost the 12 classes 1.6 points of validation accuracy (models/README.md)
    word_classes: int = 0  # outputs for other words of their own, summed into `_unknown_` (label 1) by the model

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def build_dscnn(input_shape: tuple[int, int], n_classes: int, config: ModelConfig = ModelConfig(), batch_size=None):
    """(frames, mfcc) features -> class probabilities: conv, `blocks` x (depthwise 3x3, pointwise 1x1),
    average pool, dense, softmax. Every op is in TFLite Micro's int8 kernel set. Export with batch_size=1.

    With `config.word_classes` W, the softmax ("words") has n_classes + W outputs and a fixed 0/1 dense layer sums
    the last W into `_unknown_`, which follows `_silence_` in every label list: `_unknown_` becomes the union of
    several regions of the feature space instead of one, so "four" can sit apart from "off" without being "off"."""
    import keras
    from keras import layers

    def bn_relu(x, name):
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    inputs = keras.Input(shape=(*input_shape, 1), batch_size=batch_size, name="mfcc")
    x = layers.Conv2D(config.channels, config.first_kernel, strides=config.first_stride, padding="same",
                      use_bias=False, name="conv")(inputs)
    x = bn_relu(x, "conv")
    for i in range(config.blocks):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"dw{i}")(x)
        x = bn_relu(x, f"dw{i}")
        x = layers.Conv2D(config.channels, 1, use_bias=False, name=f"pw{i}")(x)
        x = bn_relu(x, f"pw{i}")
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name="pool")(x)
    x = layers.Flatten(name="flat")(x)
    x = layers.Dropout(config.dropout, name="drop")(x)
    x = layers.Dense(n_classes + config.word_classes, name="fc")(x)
    if not config.word_classes:
        return keras.Model(inputs, layers.Softmax(name="probs")(x), name="dscnn")
    x = layers.Softmax(name="words")(x)
    merge = np.vstack([np.eye(n_classes), np.eye(n_classes)[[1] * config.word_classes]])
    outputs = layers.Dense(n_classes, use_bias=False, trainable=False, name="probs",
                           kernel_initializer=keras.initializers.Constant(merge))(x)
    return keras.Model(inputs, outputs, name="dscnn")


def with_words_output(model):
    """A model built with word classes, with its softmax over every class and word as a second output (training)."""
    import keras

    return keras.Model(model.input, [model.output, model.get_layer("words").output], name="dscnn_words")


def with_word_head(model, n_words: int):
    """`model` with a second output for training only: one class per word of the data (each other word its own), on
    the same pooled features, so they must tell apart what `_unknown_` lumps together ("one" from "on"). Shares
    its layers with `model`, which is what gets exported."""
    import keras
    from keras import layers

    x = layers.Dense(n_words, name="word_fc")(model.get_layer("drop").output)
    return keras.Model(model.input, [model.output, layers.Softmax(name="word_probs")(x)], name="dscnn_words")
