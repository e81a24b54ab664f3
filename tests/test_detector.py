"""The streaming detector and `kws detect`, on streams of real clips at known positions."""

import json

import numpy as np
import pytest

from conftest import write_wav
from kws.cli import main
from kws.detector import Decider, DetectorSettings, detect_audio


def test_finds_each_keyword_once_at_its_time(shipped_model, keyword_stream):
    audio, truth = keyword_stream
    found = detect_audio(shipped_model, audio)
    assert [d.label for d in found] == [label for label, _ in truth]
    for d, (_, start) in zip(found, truth):
        assert start + 0.2 < d.time_s < start + 1.5  # fires after the word is heard, within the clip and a bit
        assert d.score >= shipped_model.metadata.detection.threshold


@pytest.mark.parametrize("chunk", [1, 333, 16000, 10**7])
def test_chunk_size_does_not_change_the_result(shipped_model, keyword_stream, chunk):
    audio = keyword_stream[0][: 16000 * 6]
    assert detect_audio(shipped_model, audio, chunk=chunk) == detect_audio(shipped_model, audio, chunk=1600)


def test_noise_alone_gives_nothing(shipped_model):
    rng = np.random.default_rng(1)
    assert detect_audio(shipped_model, 0.05 * rng.standard_normal(16000 * 20).astype(np.float32)) == []
    assert detect_audio(shipped_model, np.zeros(16000 * 5, np.float32)) == []


def test_decider_threshold_and_suppression():
    labels = ("_silence_", "_unknown_", "yes", "no")
    decider = Decider(labels, DetectorSettings(threshold=0.6, suppression_ms=1000))
    p = lambda i, s: np.where(np.arange(4) == i, s, (1 - s) / 3)
    assert decider.step(1.0, p(2, 0.5)) is None  # below threshold
    assert decider.step(1.1, p(1, 0.99)) is None  # _unknown_ never fires
    assert decider.step(1.2, p(2, 0.9)).label == "yes"
    assert decider.step(2.1, p(3, 0.5)) is None  # below threshold: re-armed
    assert decider.step(2.15, p(3, 0.9)) is None  # within 1 s of the last detection
    hit = decider.step(2.2, p(3, 0.9))
    assert (hit.label, hit.time_s) == ("no", 2.2)
    # a word that stays above the threshold (as it slides through the window) fires once, whatever its label
    assert all(decider.step(2.2 + 0.1 * i, p(2 + i % 2, 0.95)) is None for i in range(1, 40))
    assert decider.step(6.2, p(1, 0.9)) is None and decider.step(6.3, p(2, 0.9)).label == "yes"


def test_settings_come_from_the_metadata_and_overrides(shipped_model):
    settings = DetectorSettings.from_metadata(shipped_model.metadata, threshold=0.5)
    assert settings.threshold == 0.5
    assert settings.smoothing_ms == shipped_model.metadata.detection.smoothing_ms


def test_detect_command_json(keyword_stream, tmp_path, capsys):
    audio, truth = keyword_stream
    import soxr

    cd_rate = soxr.resample(audio, 16000, 44100)
    path = write_wav(tmp_path / "stream.wav", np.stack([cd_rate, cd_rate], axis=1), rate=44100)
    assert main(["detect", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    found = json.loads(captured.out)
    assert "2 channels, mixed down" in captured.err and "resampled to 16000 Hz" in captured.err
    assert [d["label"] for d in found] == [label for label, _ in truth]
    assert all(set(d) == {"label", "time_s", "score"} for d in found)


@pytest.mark.parametrize("content", [b"", b"RIFF\x24\x00\x00\x00WAVEfmt junk", b"plain text, not audio" * 10])
def test_detect_bad_input_exit_2(tmp_path, capsys, content):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    assert main(["detect", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad.wav" in err and err.count("\n") == 1


def test_detect_runs_without_tensorflow(keyword_stream, tmp_path):
    """`kws detect` (and `listen`) need only the runtime dependencies: TensorFlow and Keras made unimportable."""
    import subprocess
    import sys

    path = write_wav(tmp_path / "stream.wav", keyword_stream[0][: 16000 * 6])
    code = ("import sys; sys.modules.update(tensorflow=None, keras=None, tflite_micro=None); "
            "from kws.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "detect", str(path), "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [d["label"] for d in json.loads(done.stdout)] == ["yes", "yes"]


def test_one_second_keyword_clips_are_detected(shipped_model, data_dir):
    """A 1 s clip holds 49 frames, one short of the first 40 ms stride: the end of a file is flushed (a shorter
    clip padded to 1 s, as training pads it), so the clip is scored as a whole and a clip the model is sure of is
    found."""
    from kws.audio import read_audio
    from kws.features import mfcc

    threshold = shipped_model.metadata.detection.threshold
    sure = []
    for path in sorted((data_dir / "yes").glob("*.flac")):
        audio = read_audio(path, 16000)[0]
        probs = shipped_model.predict(mfcc(np.pad(audio, (0, 16000 - len(audio))), shipped_model.config))
        if shipped_model.labels[int(np.argmax(probs))] == "yes" and probs.max() >= threshold:
            sure.append(audio)
        if len(sure) == 10:
            break
    assert len(sure) == 10
    for audio in sure:
        assert [d.label for d in detect_audio(shipped_model, audio)] == ["yes"]


def test_flushing_changes_only_the_end_of_a_long_recording(shipped_model, keyword_stream):
    from kws.detector import Detector

    audio, truth = keyword_stream
    cut = int(16000 * (truth[-1][1] + 0.6))  # the stream ends in the middle of its last word
    detector = Detector(shipped_model)
    live = [d for i in range(0, cut, 1600) for d in detector.push(audio[i : min(i + 1600, cut)])]
    flushed = detect_audio(shipped_model, audio[:cut])
    assert flushed[: len(live)] == live and len(live) >= len(truth) - 1
    assert all(d.time_s <= cut / 16000 for d in flushed)
