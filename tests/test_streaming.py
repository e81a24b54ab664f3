"""A streamable DS-CNN run a stride at a time: the same outputs as its window, in float and in int8 (TFLite Micro,
state in int8 resource variables); its export, run by the host's Model and Detector."""

import numpy as np
import pytest
from conftest import LITERT_TFLM_MAX_STEPS

from kws.detector import Detector, DetectorSettings
from kws.errors import KwsError
from kws.features import mfcc
from kws.model.network import ModelConfig, build_network
from kws.model.quantize import to_int8_streaming_tflite
from kws.model.streaming import reset, streaming_network
from kws.runtime import Model

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
    return config, model, streaming_network(model, config, STRIDE)


def _strides(stream_model, features):
    """The stream model's output after each stride of `features`, by frames heard."""
    reset(stream_model)
    return {start + STRIDE: stream_model(features[None, start : start + STRIDE, :, None]).numpy()[0]
            for start in range(0, len(features) - STRIDE + 1, STRIDE)}


def test_a_stride_at_a_time_is_the_causal_network_over_the_whole_stream(window_and_stream):
    """Heard from silence, a window gives the window model's output; further on, each output is the same layers'
    over the stream so far (where the window has zeros before its frames, the stream has its earlier frames)."""
    import keras

    from kws.model.network import dscnn_body

    config, model, stream = window_and_stream
    features = np.random.default_rng(1).normal(0, 10, (FRAMES + 40, FEATURES)).astype(np.float32)
    outputs = _strides(stream, features)
    heard = [t for t in outputs if FRAMES - 1 <= t < len(features)]  # a whole window, its last frame still to come
    window = model(features[None, :FRAMES, :, None]).numpy()[0]
    assert heard[0] == FRAMES - 1 and np.abs(outputs[heard[0]] - window).max() < 1e-5
    shifted = model(features[None, 1 : FRAMES + 1, :, None]).numpy()[0]  # one frame later
    assert np.abs(outputs[heard[0]] - shifted).max() > 1e-3

    body_input = keras.Input((None, FEATURES, 1))
    body = keras.Model(body_input, dscnn_body(body_input, config))  # the same layers on any length
    for layer in body.layers[1:]:
        layer.set_weights(model.get_layer(layer.name).get_weights())
    head = keras.Model(model.get_layer("pool").input, model.output)
    steps = body(features[None, ..., None]).numpy()
    pooled = model.get_layer("pool").input.shape[1]
    for t in heard[1:]:  # the steps of the frames heard: each ends one conv stride after the one before
        last = t // config.first_stride[0]
        assert np.abs(outputs[t] - head(steps[:, last - pooled : last]).numpy()[0]).max() < 1e-5
    assert np.ptp(np.stack([outputs[t] for t in heard]), axis=0).max() > 0.02  # they move from stride to stride


def test_int8_stream_agrees_with_the_int8_window_on_windows_heard_from_silence(window_and_stream, tmp_path):
    from kws.features import FeatureConfig
    from kws.labels import LABELS
    from kws.metadata import DetectorSettings, ModelMetadata, write_metadata
    from kws.model.quantize import to_int8_tflite

    config, model, stream = window_and_stream
    rng = np.random.default_rng(2)
    calibration = rng.normal(0, 10, (20, FRAMES + 47, FEATURES)).astype(np.float32)
    models = {}
    for name, data, stride_ms in (("streaming", to_int8_streaming_tflite(stream, calibration), 80.0),
                                  ("window", to_int8_tflite(model, calibration[:, :FRAMES], config), 200.0)):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(write_metadata(data, ModelMetadata(FeatureConfig(), LABELS, DetectorSettings(stride_ms=stride_ms))))
        models[name] = Model(path, "tflm")
    assert models["streaming"].streaming and not models["window"].streaming
    windows = rng.normal(0, 10, (30, FRAMES, FEATURES)).astype(np.float32)
    a, b = (np.stack([models[name].predict(w) for w in windows]) for name in ("streaming", "window"))
    # two quantizations of one network (each calibrated on its own inputs): apart by int8's steps, now and then more
    assert np.median(np.abs(a - b).max(axis=1)) < 0.02 and np.mean(a.argmax(1) == b.argmax(1)) >= 0.9


def test_only_a_streamable_ds_cnn_streams_and_at_a_stride_its_convolution_takes():
    model = build_network((FRAMES, FEATURES), 12, ModelConfig(channels=8, blocks=1))
    with pytest.raises(KwsError, match="streamable"):
        streaming_network(model, ModelConfig(channels=8, blocks=1), STRIDE)
    config = ModelConfig(channels=8, blocks=1, streamable=True)
    with pytest.raises(KwsError, match="multiple of it"):
        streaming_network(build_network((FRAMES, FEATURES), 12, config), config, 3)


@pytest.fixture(scope="module")
def streamed(tiny_run, tiny_families):
    """The tiny streamable run's export (a streaming model) and eight of its data's clips back to back."""
    from kws.data.cache import clip_audio
    from kws.data.speech_commands import SpeechCommands

    model = Model(tiny_families["streamable"][1])
    dataset = SpeechCommands(tiny_run[0], words=("yes", "no"))
    clips = dataset.split("validation", model.config.clip_samples, model.config.sample_rate)[:8]
    return model, clip_audio(dataset, clips, model.config, progress=False).reshape(-1)


def test_a_streamable_run_exports_a_model_that_takes_a_stride_a_call(streamed):
    from kws.firmware import model_ops

    model, _ = streamed
    assert model.streaming and model.input_frames == STRIDE and model.metadata.detection.stride_ms == 80
    ops = set(model_ops(model.bytes))
    assert {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"} <= ops and "CALL_ONCE" not in ops  # TFLM zeroes them
    assert model.metadata.accuracy["int8"] > 0.8  # measured through the stream; an untrained model scores ~0.3


def test_a_window_through_a_streaming_model_does_not_depend_on_what_it_heard_before(streamed):
    model, audio = streamed
    features = mfcc(audio, model.config)
    a = features[:FRAMES]
    first = model.predict(a)
    others = [model.predict(features[start : start + FRAMES]) for start in range(50, len(features) - FRAMES, 50)]
    assert max(np.abs(p - first).max() for p in others) > 0.5  # other clips, other answers
    assert np.array_equal(model.predict(a), first)
    step = model.output_quant[0]
    assert np.abs(Model(model.path, "tflm").predict(a) - first).max() <= LITERT_TFLM_MAX_STEPS * step + 1e-6


def test_the_detector_runs_a_streaming_model_every_stride_from_the_first(streamed):
    """Unsmoothed, the detector's posteriors are the model's outputs on the newest frames of each stride, from the
    first stride on, counted from the first whole window (frame 48: the first window heard from silence) through
    the end of the input."""
    model, audio = streamed
    c = model.config
    trace = []
    detector = Detector(model, DetectorSettings.from_metadata(model.metadata, smoothing_ms=0.0),
                        on_posteriors=lambda t, p: trace.append((t, p.copy())))
    for i in range(0, len(audio), 1234):
        detector.push(audio[i : i + 1234])
    detector.flush()
    frames = len(mfcc(audio, c))
    features = mfcc(np.pad(audio, (0, STRIDE * c.hop_length)), c)  # as flush pads it
    heard = [round((t * c.sample_rate - c.window_length) / c.hop_length) + 1 for t, _ in trace]
    assert heard == list(range(FRAMES - 1, frames - 1 + STRIDE, STRIDE))  # the last answers for the last frame
    listener, padded = model.stream(), np.vstack([np.zeros((FRAMES, FEATURES), np.float32), features])
    outputs = {h: listener.predict_newest(padded[h : h + FRAMES]) for h in range(STRIDE, heard[-1] + 1, STRIDE)}
    expected, posteriors = np.array([outputs[h] for h in heard]), np.array([p for _, p in trace])
    assert np.abs(posteriors - expected).max() <= model.output_quant[0] + 1e-6  # a feature on a rounding edge
    assert np.mean(np.all(posteriors == expected, axis=1)) >= 0.95 and np.ptp(posteriors, axis=0).max() > 0.5
    assert np.abs(posteriors[0] - model.predict(features[:FRAMES])).max() <= model.output_quant[0] + 1e-6


def test_a_streaming_model_keeps_the_stride_it_was_exported_for(streamed):
    model, _ = streamed
    with pytest.raises(KwsError, match="every 80 ms, the stride it was exported for, not every 200 ms"):
        Detector(model, DetectorSettings.from_metadata(model.metadata, stride_ms=200.0))
