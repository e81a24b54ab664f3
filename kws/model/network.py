"""The networks `kws train` builds, one family per `ModelConfig.arch`, each a body on the shared head (average pool,
dropout, dense, softmax, and the other words' outputs summed into `_unknown_`), all in TFLite Micro's int8 op set:

- "ds-cnn": the depthwise-separable CNN of "Hello Edge", sized for a Cortex-M4;
- "tc-resnet": a temporal-convolution ResNet (Choi et al. 2019): the features of a frame are the channels of 1-D
  convolutions over time, in residual blocks that halve the time axis;
- "bc-resnet": a broadcasted-residual network (Kim et al. 2021): frequency-wise convolutions, and temporal ones on
  their average over frequency, broadcast back."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import KwsError


ARCHS = ("ds-cnn", "tc-resnet", "bc-resnet")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The network: its family, its width (`channels`: a DS-CNN's; a TC-ResNet's first layer, its blocks widen by
    half of it each; a BC-ResNet's first stage) and depth (`blocks`; a BC-ResNet's stages, up to 4), the DS-CNN's
    first convolution, a TC-ResNet's temporal kernel, dropout, outputs for other words, and whether a DS-CNN is
    causal in time (`streamable`: kws.model.streaming runs it a stride at a time)."""

    channels: int = 34  # 32 scored 0.6 points lower on float validation (models/README.md); 36 would pass 16 KB
    blocks: int = 4
    first_kernel: tuple[int, int] = (10, 4)
    first_stride: tuple[int, int] = (2, 2)
    dropout: float = 0.0  # 0.2 cost the 12 classes 1.6 points of validation accuracy (models/README.md)
    word_classes: int = 0  # outputs for other words of their own, summed into `_unknown_` (label 1) by the model
    arch: str = "ds-cnn"
    kernel: int = 9  # a TC-ResNet's temporal kernel, in frames
    streamable: bool = False  # a DS-CNN padded in time only before each convolution: each step needs no later frame

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise KwsError(f"network arch is {self.arch!r}, not one of {', '.join(ARCHS)}")
        if self.streamable and self.arch != "ds-cnn":
            raise KwsError(f"a streamable network is a ds-cnn for now, not {self.arch!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def build_network(input_shape: tuple[int, int], n_classes: int, config: ModelConfig = ModelConfig(),
                  batch_size=None):
    """(frames, features) -> class probabilities: the family's body, average pool, dense, softmax. Export with
    batch_size=1.

    With `config.word_classes` W, the softmax ("words") has n_classes + W outputs and a fixed 0/1 dense layer sums
    the last W into `_unknown_`, which follows `_silence_` in every label list: `_unknown_` becomes the union of
    several regions of the feature space instead of one, so "four" can sit apart from "off" without being "off"."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(*input_shape, 1), batch_size=batch_size, name="mfcc")
    x = BODIES[config.arch](inputs, config)
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name="pool")(x)
    x = layers.Flatten(name="flat")(x)
    x = layers.Dropout(config.dropout, name="drop")(x)
    x = layers.Dense(n_classes + config.word_classes, name="fc")(x)
    if not config.word_classes:
        return keras.Model(inputs, layers.Softmax(name="probs")(x), name=config.arch.replace("-", ""))
    x = layers.Softmax(name="words")(x)
    merge = np.vstack([np.eye(n_classes), np.eye(n_classes)[[1] * config.word_classes]])
    outputs = layers.Dense(n_classes, use_bias=False, trainable=False, name="probs",
                           kernel_initializer=keras.initializers.Constant(merge))(x)
    return keras.Model(inputs, outputs, name=config.arch.replace("-", ""))


def is_streamable(model) -> bool:
    """Whether a Keras network `build_network` made is causal in time (`ModelConfig.streamable`)."""
    return any(layer.name == "conv_pad" for layer in model.layers)


def causal_padding(x, kernel: tuple[int, int], stride: tuple[int, int], name: str):
    """`x` padded for a convolution 'valid' in time and 'same' in frequency: in time, kernel - stride zeros before
    the frames and none after, so each step depends on its own frames and earlier ones only (a stream keeps the
    earlier ones instead: kws.model.streaming)."""
    from keras import layers

    before = kernel[0] - stride[0]
    return layers.ZeroPadding2D(((before, 0), frequency_padding(x, kernel[1], stride[1])), name=name)(x)


def frequency_padding(x, kernel: int, stride: int) -> tuple[int, int]:
    """The zeros a 'same' convolution adds below and above the frequency axis of `x` (batch, time, frequency,
    channels)."""
    n = x.shape[2]
    total = max((-(-n // stride) - 1) * stride + kernel - n, 0)
    return total // 2, total - total // 2


def _bn_relu(x, name, relu=True):
    from keras import layers

    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def dscnn_body(x, config: ModelConfig):
    """A convolution, then `blocks` x (depthwise 3x3, pointwise 1x1), each with batch norm and ReLU."""
    from keras import layers

    padding = "valid" if config.streamable else "same"
    if config.streamable:
        x = causal_padding(x, config.first_kernel, config.first_stride, "conv_pad")
    x = layers.Conv2D(config.channels, config.first_kernel, strides=config.first_stride, padding=padding,
                      use_bias=False, name="conv")(x)
    x = _bn_relu(x, "conv")
    for i in range(config.blocks):
        if config.streamable:
            x = causal_padding(x, (3, 3), (1, 1), f"dw{i}_pad")
        x = layers.DepthwiseConv2D(3, padding=padding, use_bias=False, name=f"dw{i}")(x)
        x = _bn_relu(x, f"dw{i}")
        x = layers.Conv2D(config.channels, 1, use_bias=False, name=f"pw{i}")(x)
        x = _bn_relu(x, f"pw{i}")
    return x


def tcresnet_body(x, config: ModelConfig):
    """A convolution over 3 frames and all the features (which become the channels; no padding: two frames fewer),
    then `blocks` residual blocks of two temporal convolutions (`kernel` frames), the first halving the time axis, widening by
    channels / 2 a block; a 1x1 convolution on the shortcut where the shape changes."""
    from keras import layers

    width = config.channels
    x = layers.Conv2D(width, (3, x.shape[2]), padding="valid", use_bias=False, name="conv")(x)
    x = _bn_relu(x, "conv")
    for i in range(config.blocks):
        width += config.channels // 2
        y = layers.Conv2D(width, (config.kernel, 1), strides=(2, 1), padding="same", use_bias=False,
                          name=f"tc{i}a")(x)
        y = _bn_relu(y, f"tc{i}a")
        y = layers.Conv2D(width, (config.kernel, 1), padding="same", use_bias=False, name=f"tc{i}b")(y)
        y = _bn_relu(y, f"tc{i}b", relu=False)
        shortcut = layers.Conv2D(width, 1, strides=(2, 1), use_bias=False, name=f"tc{i}s")(x)
        shortcut = _bn_relu(shortcut, f"tc{i}s", relu=False)
        x = layers.ReLU(name=f"tc{i}_relu")(layers.Add(name=f"tc{i}_add")([y, shortcut]))
    return x


def _bc_block(x, width: int, freq_stride: int, dilation: int, name: str):
    """A broadcasted-residual block (Kim et al. 2021): a frequency-wise depthwise convolution f2 (3 bands; where
    the width changes, a 1x1 convolution first and no identity), then f1 on its average over frequency: a temporal
    depthwise convolution (3 frames, dilated), ReLU, a 1x1 convolution; f1's output, one value per frame and
    channel, is broadcast back over frequency and added. Batch norm stands in for sub-spectral norm."""
    from keras import layers

    transition = x.shape[-1] != width or freq_stride > 1
    if transition:
        x = _bn_relu(layers.Conv2D(width, 1, use_bias=False, name=f"{name}_in")(x), f"{name}_in")
    f2 = layers.DepthwiseConv2D((1, 3), strides=(1, freq_stride), padding="same", use_bias=False,
                                name=f"{name}_f2")(x)
    f2 = _bn_relu(f2, f"{name}_f2", relu=False)
    y = layers.AveragePooling2D((1, f2.shape[2]), name=f"{name}_avg")(f2)
    y = layers.DepthwiseConv2D((3, 1), dilation_rate=(dilation, 1), padding="same", use_bias=False,
                               name=f"{name}_f1")(y)
    y = _bn_relu(y, f"{name}_f1")
    y = layers.Conv2D(width, 1, use_bias=False, name=f"{name}_pw")(y)
    parts = [f2, y] if transition else [x, f2, y]
    return layers.ReLU(name=f"{name}_relu")(layers.Add(name=f"{name}_add")(parts))


def bcresnet_body(x, config: ModelConfig):
    """BC-ResNet (Kim et al. 2021) on (frames, bands): a 5x5 convolution halving the bands (2 x `channels`), then
    `blocks` stages of widths 1, 1.5, 2, 2.5 x `channels`, each a transition block and 0, 0, 2, 2 more, the 2nd and
    3rd halving the bands, the 3rd and 4th dilating time by 2 and 4; a 5x5 depthwise convolution over what is left
    of the bands and a 1x1 convolution to 4 x `channels`. Made for 40 log-mel bands (`kws train --features
    log-mel`)."""
    from keras import layers

    c = config.channels
    x = layers.Conv2D(2 * c, 5, strides=(1, 2), padding="same", use_bias=False, name="conv")(x)
    x = _bn_relu(x, "conv")
    for stage, (scale, more, stride, dilation) in enumerate(
            ((1, 0, 1, 1), (1.5, 0, 2, 1), (2, 2, 2, 2), (2.5, 2, 1, 4))[: config.blocks]):
        for b in range(1 + more):
            x = _bc_block(x, round(scale * c), stride if b == 0 else 1, dilation, f"bc{stage}{b}")
    x = layers.DepthwiseConv2D((5, x.shape[2]), padding="valid", use_bias=False, name="head_dw")(x)
    x = _bn_relu(x, "head_dw")
    return _bn_relu(layers.Conv2D(4 * c, 1, use_bias=False, name="head_pw")(x), "head_pw")


BODIES = {"ds-cnn": dscnn_body, "tc-resnet": tcresnet_body, "bc-resnet": bcresnet_body}


def with_words_output(model):
    """A model built with word classes, with its softmax over every class and word as a second output (training)."""
    import keras

    return keras.Model(model.input, [model.output, model.get_layer("words").output], name="words_model")


def with_word_head(model, n_words: int):
    """`model` with a second output for training only: one class per word of the data (each other word its own), on
    the same pooled features, so they must tell apart what `_unknown_` lumps together ("one" from "on"). Shares
    its layers with `model`, which is what gets exported."""
    import keras
    from keras import layers

    x = layers.Dense(n_words, name="word_fc")(model.get_layer("drop").output)
    return keras.Model(model.input, [model.output, layers.Softmax(name="word_probs")(x)], name="words_model")
