"""Misuse of the Python API and odd files: each gets the documented conversion or a one-line KwsError naming the
culprit, never a traceback and never a silently wrong answer."""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import kws
from conftest import write_wav
from kws.cli import main
from kws.errors import KwsError

FEW = settings(max_examples=30, deadline=None)


def one_line_error(call, *args, **kwargs) -> str:
    with pytest.raises(KwsError) as err:
        call(*args, **kwargs)
    text = str(err.value)
    assert text and "\n" not in text
    text.encode("utf-8")  # printable: no lone surrogates from a file name
    return text


@pytest.fixture(scope="module")
def yes_clip(real_clips):
    return kws.read_audio(real_clips[0], 16000)[0]


@pytest.fixture(scope="module")
def yes_found(shipped_model, yes_clip):
    found = kws.detect_audio(shipped_model, yes_clip)
    assert [d.label for d in found] == ["yes"]
    return found


# --- audio arrays -------------------------------------------------------------------------------------------------

def test_int16_and_int32_pcm_are_scaled_like_the_float_clip(shipped_model, yes_clip, yes_found):
    pcm16 = np.round(yes_clip * 32768).astype(np.int16)  # the FLAC's own samples: exact
    assert kws.detect_audio(shipped_model, pcm16) == yes_found
    assert kws.detect_audio(shipped_model, pcm16.astype(np.int32) << 16) == yes_found
    detector = kws.Detector(shipped_model)  # sounddevice's int16 blocks: (frames, 1)
    live = [d for i in range(0, len(pcm16), 512) for d in detector.push(pcm16[i : i + 512, None])]
    assert live + detector.flush() == yes_found


def test_channels_are_mixed_down_as_read_audio_does_and_transposed_arrays_refused(shipped_model, yes_clip,
                                                                                    yes_found):
    assert kws.detect_audio(shipped_model, np.stack([yes_clip, yes_clip], axis=1)) == yes_found
    assert kws.detect_audio(shipped_model, yes_clip.astype(np.float64)) == yes_found
    text = one_line_error(kws.detect_audio, shipped_model, np.stack([yes_clip, yes_clip]))
    assert f"shape (2, {len(yes_clip)})" in text and "audio.T" in text


def test_int16_values_as_floats_are_refused(shipped_model, yes_clip):
    text = one_line_error(kws.detect_audio, shipped_model, yes_clip * 32768)
    assert "float samples up to" in text and "divide by 32768" in text


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("at", [0, 8000, -1])
def test_non_finite_samples_are_refused_not_warned(shipped_model, yes_clip, bad, at, recwarn):
    audio = yes_clip.copy()
    audio[at] = bad
    assert "NaN or infinite" in one_line_error(kws.detect_audio, shipped_model, audio)
    assert "NaN or infinite" in one_line_error(kws.Detector(shipped_model).push, audio)
    assert len(recwarn) == 0


@pytest.mark.parametrize("chunk,kind", [
    (None, "NoneType"), ("yes.wav", "str"), (0.5, "shape ()"), (np.float32(0.5), "shape ()"), ([1, 2, 3], "int64"),
    (np.zeros(10, np.uint8), "uint8"), (np.zeros(10, bool), "bool"), (np.zeros(10, complex), "complex128"),
    ([0.1, "a"], "<U32"), ([[0.1], [0.2, 0.3]], "list"), (np.zeros((10, 1, 1), np.float32), "shape (10, 1, 1)"),
    (np.zeros((5, 0), np.float32), "shape (5, 0)"), (np.zeros((3, 4), np.int16), "shape (3, 4)"),
])
def test_push_refuses_what_is_not_samples(shipped_model, chunk, kind):
    text = one_line_error(kws.Detector(shipped_model).push, chunk)
    assert text.startswith("Detector.push: chunk ") and kind in text


def test_push_of_nothing_finds_nothing(shipped_model):
    detector = kws.Detector(shipped_model)
    assert detector.push(np.zeros(0, np.float32)) == [] and detector.push([]) == []
    assert detector.time_s == 0.0


@pytest.mark.parametrize("chunk", [0, -5, 1.5, True, "1600", None])
def test_detect_audio_chunk_must_be_a_positive_whole_number(shipped_model, yes_clip, chunk):
    assert "chunk is" in one_line_error(kws.detect_audio, shipped_model, yes_clip, chunk=chunk)


def test_detect_audio_takes_numpy_integers_as_chunk(shipped_model, yes_clip, yes_found):
    assert kws.detect_audio(shipped_model, yes_clip, chunk=np.int64(333)) == yes_found


@pytest.mark.parametrize("threshold", [2, -0.1, float("nan"), float("inf"), "0.5"])
def test_thresholds_outside_0_1_are_refused(shipped_model, threshold):
    text = one_line_error(kws.DetectorSettings.from_metadata, shipped_model.metadata, threshold=threshold)
    assert text.startswith("threshold is") and "[0, 1]" in text


@pytest.mark.parametrize("settings_", [0.5, {"threshold": 0.5}, "fast"])
def test_settings_must_be_detector_settings(shipped_model, yes_clip, settings_):
    assert "not a DetectorSettings" in one_line_error(kws.detect_audio, shipped_model, yes_clip, settings_)


@pytest.mark.parametrize("features,message", [
    (np.zeros((3, 3)), "have shape (3, 3)"), (np.zeros((1, 49, 10, 1)), "have shape (1, 49, 10, 1)"),
    (None, "are NoneType"), (np.full((49, 10), np.nan), "NaN or infinite"),
])
def test_predict_refuses_other_shapes_and_non_finite_features(shipped_model, features, message):
    assert message in one_line_error(shipped_model.predict, features)


# Whatever is pushed, the answer is detections or one KwsError: never another exception.
DTYPES = st.sampled_from(["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
                          "complex64"])
SAMPLES = st.floats(allow_nan=True, allow_infinity=True, width=16) | st.integers(-(2**31), 2**31 - 1)
AUDIO = DTYPES.flatmap(lambda dtype: hnp.arrays(
    dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=40),
    elements=hnp.from_dtype(np.dtype(dtype), allow_nan=True, allow_infinity=True) if dtype[0] in "fc" else None))


def detections_or_kws_error(call, *args, **kwargs):
    """What `call` returns, or None for a one-line KwsError; any warning fails (a NaN made on the way, an overflow
    or a mean of no channels would be a silently wrong answer)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            found = call(*args, **kwargs)
        except KwsError as e:
            assert "\n" not in str(e)
            return None
    assert isinstance(found, list) and all(isinstance(d, kws.Detection) for d in found)
    return found


@FEW
@given(chunks=st.lists(AUDIO | st.none() | st.text(max_size=3) | st.lists(SAMPLES, max_size=5), max_size=4))
def test_push_gives_detections_or_a_kws_error(shipped_model, chunks):
    detector = kws.Detector(shipped_model)
    for chunk in chunks:
        detections_or_kws_error(detector.push, chunk)


@FEW
@given(audio=AUDIO, chunk=st.integers(-2, 3000) | st.floats(-2, 3000) | st.none())
def test_detect_audio_gives_detections_or_a_kws_error(shipped_model, audio, chunk):
    detections_or_kws_error(kws.detect_audio, shipped_model, audio, chunk=chunk)


@FEW
@given(pcm=hnp.arrays(np.int16, st.integers(0, 6000)), nan_at=st.integers(0, 5999))
def test_int16_detections_are_those_of_the_scaled_floats_and_nan_anywhere_is_refused(shipped_model, pcm, nan_at):
    floats = pcm / np.float32(32768)
    assert kws.detect_audio(shipped_model, pcm) == kws.detect_audio(shipped_model, floats)
    if len(floats):
        floats[nan_at % len(floats)] = np.nan
        assert "NaN" in one_line_error(kws.detect_audio, shipped_model, floats)


# --- model files --------------------------------------------------------------------------------------------------

def garbled(data: bytes) -> bytes:
    """The model with one tensor pointing at a buffer that does not exist: a flatbuffer that parses but is wrong."""
    from ai_edge_litert import schema_py_generated as schema
    import flatbuffers

    model = schema.ModelT.InitFromPackedBuf(data, 0)
    model.subgraphs[0].tensors[3].buffer = 999
    builder = flatbuffers.Builder(16384)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.mark.parametrize("runtime", ["litert", "tflm"])
@pytest.mark.parametrize("damage", ["cut 1", "cut 100", "cut half", "garbled"])
def test_truncated_or_garbled_models_are_refused_naming_the_file(tmp_path, runtime, damage):
    data = Path(kws.DEFAULT_MODEL).read_bytes()
    path = tmp_path / "damaged.tflite"
    path.write_bytes(garbled(data) if damage == "garbled" else
                     data[: len(data) // 2] if damage == "cut half" else data[: -int(damage.split()[1])])
    text = one_line_error(kws.Model, path, runtime)
    assert str(path) in text and ("corrupt model file" in text or "not a TFLite model" in text)
    assert damage == "cut half" or "corrupt model file" in text  # the metadata parses: LiteRT's verifier refuses


# --- files --------------------------------------------------------------------------------------------------------

@pytest.fixture
def odd_files(tmp_path, yes_clip):
    raw = tmp_path / "mic.raw"
    np.round(yes_clip * 32767).astype("<i2").tofile(raw)
    wav = write_wav(tmp_path / "yes.wav", yes_clip).read_bytes()
    one_hz = tmp_path / "one_hz.wav"
    one_hz.write_bytes(wav[:24] + (1).to_bytes(4, "little") + (2).to_bytes(4, "little") + wav[32:])
    mhz = tmp_path / "mhz.wav"
    mhz.write_bytes(wav[:24] + (10**6).to_bytes(4, "little") + (2 * 10**6).to_bytes(4, "little") + wav[32:])
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)  # opening it would wait for a writer forever
    return {"raw": (raw, "headerless raw audio"), "1 Hz": (one_hz, "claims 1 Hz"),
            "1 MHz": (mhz, "claims 1000000 Hz"), "fifo": (fifo, "not a regular file"),
            "device": (Path("/dev/urandom"), "not a regular file"), "zeros": (Path("/dev/zero"), "not a regular file"),
            "proc": (Path("/proc/self/status"), "not a regular file"),
            "long name": (tmp_path / ("x" * 300 + ".wav"), "File name too long")}


@pytest.mark.parametrize("case", ["raw", "1 Hz", "1 MHz", "fifo", "device", "zeros", "proc", "long name"])
def test_odd_files_get_one_line_naming_them(odd_files, case):
    path, message = odd_files[case]
    text = one_line_error(kws.read_audio, path, 16000)
    assert text.startswith(f"{path}: ") and message in text


@pytest.mark.parametrize("case", ["raw", "1 Hz", "fifo", "device", "long name"])
def test_detect_command_exit_2_on_odd_files(odd_files, case, capsys):
    assert main(["detect", str(odd_files[case][0])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kws: error: ") and err.count("\n") == 1 and odd_files[case][1] in err


def test_detect_command_exit_2_on_a_truncated_model(tmp_path, yes_clip, capsys):
    model = tmp_path / "cut.tflite"
    model.write_bytes(Path(kws.DEFAULT_MODEL).read_bytes()[:-100])
    assert main(["detect", str(write_wav(tmp_path / "yes.wav", yes_clip)), "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kws: error: {model}: corrupt model file") and err.count("\n") == 1


def test_file_names_that_are_not_utf8_are_read_and_shown_escaped(tmp_path, yes_clip):
    name = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.wav")  # Latin-1, as an old system wrote it
    plain = write_wav(tmp_path / "yes.wav", yes_clip)
    Path(name).write_bytes(plain.read_bytes())
    audio, notes = kws.read_audio(name, 16000)
    np.testing.assert_array_equal(audio, kws.read_audio(plain, 16000)[0])
    assert notes == []
    text = one_line_error(kws.read_audio, name[:-4] + "-missing.wav", 16000)
    assert text == f"{tmp_path}/caf\\xe9-missing.wav: no such file; check the path"


@pytest.mark.parametrize("path,message", [
    ("", "no file name given"), (None, "path is NoneType"), (3, "path is int"), ("a\0b.wav", "embedded null byte"),
])
def test_read_audio_refuses_what_is_not_a_file_name(path, message):
    assert message in one_line_error(kws.read_audio, path, 16000)


@pytest.mark.parametrize("rate", [0, -16000, 16000.0, "16000", None, 10**7])
def test_read_audio_refuses_rates_that_are_not_rates(real_clips, rate):
    assert "sample_rate is" in one_line_error(kws.read_audio, real_clips[0], rate)
