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


def test_the_detector_runs_a_streaming_model_every_stride_and_each_answer_is_a_windows(streamed):
    """Unsmoothed, the detector's posteriors after frame t are the model's on the window that ends at t + 1, from
    the first whole window on (frame 48), stride after stride, through the end of the input."""
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
    windows = np.array([model.predict(features[f + 1 - FRAMES : f + 1]) for f in heard])
    posteriors = np.array([p for _, p in trace])
    assert np.abs(posteriors - windows).max() <= model.output_quant[0] + 1e-6  # a feature on a rounding edge
    assert np.mean(np.all(posteriors == windows, axis=1)) >= 0.95 and np.ptp(posteriors, axis=0).max() > 0.5


def test_a_streaming_model_keeps_the_stride_it_was_exported_for(streamed):
    model, _ = streamed
    with pytest.raises(KwsError, match="every 80 ms, the stride it was exported for, not every 200 ms"):
        Detector(model, DetectorSettings.from_metadata(model.metadata, stride_ms=200.0))
