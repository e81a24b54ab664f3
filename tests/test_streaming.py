"""A streamable DS-CNN run a stride at a time: the same outputs as its window, in float and in int8 (TFLite Micro,
state in int8 resource variables)."""

import numpy as np
import pytest

from kws.errors import KwsError
from kws.model.network import ModelConfig, build_network
from kws.model.streaming import reset, streaming_network, to_int8_streaming_tflite

FRAMES, FEATURES, STRIDE = 49, 10, 4


@pytest.fixture(scope="module")
def window_and_stream():
    """An untrained streamable DS-CNN with weights that make its outputs vary, and its stream twin."""
    import keras

    keras.utils.set_random_seed(0)
    config = ModelConfig(channels=8, blocks=2, streamable=True, word_classes=3)
    model = build_network((FRAMES, FEATURES), 12, config)
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(0, 0.3, w.shape) if w.ndim > 1 and w.shape != (15, 12) else w
                       for w in model.get_weights()])  # not the fixed sum of the word classes
    return config, model, streaming_network(model, config, FRAMES, STRIDE)


def _strides(stream_model, features):
    """The stream model's output after each stride of `features`, by frames heard."""
    reset(stream_model)
    return {start + STRIDE: stream_model(features[None, start : start + STRIDE, :, None]).numpy()[0]
            for start in range(0, len(features) - STRIDE + 1, STRIDE)}


def test_a_stride_at_a_time_gives_the_windows_outputs(window_and_stream):
    config, model, stream = window_and_stream
    features = np.random.default_rng(1).normal(0, 10, (FRAMES + 40, FEATURES)).astype(np.float32)
    outputs = _strides(stream, features)
    heard = [t for t in outputs if FRAMES - 1 <= t < len(features)]  # a whole window, its last frame still to come
    windows = model(np.stack([features[t - FRAMES + 1 : t + 1] for t in heard])[..., None]).numpy()
    assert len(heard) == 11 and np.abs(np.stack([outputs[t] for t in heard]) - windows).max() < 1e-5
    assert np.ptp(windows, axis=0).max() > 0.05  # the outputs move from stride to stride
    shifted = model(features[None, heard[-1] - FRAMES : heard[-1], :, None]).numpy()[0]  # one frame earlier
    assert np.abs(outputs[heard[-1]] - shifted).max() > 1e-3


def test_int8_stream_under_tflite_micro_agrees_with_the_int8_window(window_and_stream):
    from tflite_micro.python.tflite_micro import runtime as tflm

    from kws.firmware import model_ops
    from kws.model.quantize import to_int8_tflite

    config, model, stream = window_and_stream
    rng = np.random.default_rng(2)
    calibration = rng.normal(0, 10, (20, FRAMES + 47, FEATURES)).astype(np.float32)
    streaming, window = to_int8_streaming_tflite(stream, calibration), to_int8_tflite(model, calibration[:, :FRAMES], config)
    ops = set(model_ops(streaming))
    assert {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"} <= ops and "CALL_ONCE" not in ops  # TFLM zeroes them
    runs = [tflm.Interpreter.from_bytes(m) for m in (streaming, window)]
    quant = [(i.get_input_details(0)["quantization_parameters"], i.get_output_details(0)["quantization_parameters"])
             for i in runs]
    q = lambda x, p: np.clip(np.round(x / p["scales"][0] + p["zero_points"][0]), -128, 127).astype(np.int8)  # noqa: E731
    dq = lambda y, p: (y.astype(np.float32) - p["zero_points"][0]) * p["scales"][0]  # noqa: E731
    features = rng.normal(0, 10, (FRAMES + 80, FEATURES)).astype(np.float32)
    gaps, same = [], []
    for start in range(0, len(features) - STRIDE + 1, STRIDE):
        runs[0].set_input(q(features[None, start : start + STRIDE, :, None], quant[0][0]), 0)
        runs[0].invoke()
        t = start + STRIDE
        if FRAMES - 1 <= t < len(features):
            runs[1].set_input(q(features[None, t - FRAMES + 1 : t + 1, :, None], quant[1][0]), 0)
            runs[1].invoke()
            a, b = (dq(r.get_output(0), p[1])[0] for r, p in zip(runs, quant))
            gaps.append(np.abs(a - b).max())
            same.append(a.argmax() == b.argmax())
    # two quantizations of one network (each calibrated on its own inputs): apart by int8's steps, now and then more
    assert len(gaps) == 21 and np.median(gaps) < 0.02 and np.mean(same) >= 0.9


def test_only_a_streamable_ds_cnn_streams_and_at_a_stride_its_convolution_takes():
    model = build_network((FRAMES, FEATURES), 12, ModelConfig(channels=8, blocks=1))
    with pytest.raises(KwsError, match="streamable"):
        streaming_network(model, ModelConfig(channels=8, blocks=1), FRAMES, STRIDE)
    config = ModelConfig(channels=8, blocks=1, streamable=True)
    with pytest.raises(KwsError, match="multiple of it"):
        streaming_network(build_network((FRAMES, FEATURES), 12, config), config, FRAMES, 3)
