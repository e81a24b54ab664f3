"""Bad input gets one line naming the file and the fix (exit code 2), or a documented conversion."""

import numpy as np
import pytest

from conftest import tone, write_wav
from kws.audio import fit_clip, read_audio
from kws.cli import main
from kws.errors import KwsError


@pytest.fixture
def bad_files(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.touch()
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 50)
    full = write_wav(tmp_path / "full.wav", tone(1.0)).read_bytes()
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(full[: len(full) // 2])
    header_only = tmp_path / "header_only.wav"
    header_only.write_bytes(full[:40] + (0).to_bytes(4, "little"))  # a data chunk of 0 samples
    return {"empty": empty, "not audio": text, "truncated": truncated, "no samples": header_only,
            "missing": tmp_path / "missing.wav", "folder": tmp_path}


@pytest.mark.parametrize("case,message", [
    ("empty", "empty file"), ("not audio", "cannot read as audio"), ("truncated", "truncated WAV"),
    ("no samples", "no samples"), ("missing", "no such file"), ("folder", "is a folder"),
])
def test_bad_files_raise_one_line_naming_the_file(bad_files, case, message):
    path = bad_files[case]
    with pytest.raises(KwsError) as err:
        read_audio(path, 16000)
    text = str(err.value)
    assert message in text and str(path) in text and "\n" not in text


@pytest.mark.parametrize("case", ["empty", "not audio", "truncated", "missing"])
def test_cli_exit_code_2_without_traceback(bad_files, case, capsys):
    assert main(["features", str(bad_files[case])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kws: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_stereo_is_mixed_down_with_a_note(tmp_path):
    left, right = tone(1.0, 440), tone(1.0, 660)
    path = write_wav(tmp_path / "stereo.wav", np.stack([left, right], axis=1))
    audio, notes = read_audio(path, 16000)
    assert audio.shape == (16000,)
    np.testing.assert_allclose(audio, (left + right) / 2, atol=2e-4)
    assert notes == [f"{path}: 2 channels, mixed down to mono"]


def test_other_rates_are_resampled_with_a_note(tmp_path):
    path = write_wav(tmp_path / "cd.wav", tone(1.0, 1000, rate=44100), rate=44100)
    audio, notes = read_audio(path, 16000)
    assert len(audio) == 16000 and "44100 Hz, resampled to 16000 Hz" in notes[0]
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) - 1000) <= 1  # the tone is still at 1 kHz


def test_flac_and_float_wav_read_like_pcm(tmp_path):
    x = tone(0.5)
    for name, subtype in (("a.flac", "PCM_16"), ("b.wav", "FLOAT"), ("c.wav", "PCM_24")):
        audio, notes = read_audio(write_wav(tmp_path / name, x, subtype=subtype), 16000)
        np.testing.assert_allclose(audio, x, atol=1e-4)
        assert notes == []


def test_fit_clip_centres_short_cuts_long_to_its_loudest_second_and_refuses_recordings(tmp_path):
    short = fit_clip(np.ones(12000, np.float32), 16000, "x.wav", 16000)
    assert short.shape == (16000,) and short[2000:14000].all() and not short[:2000].any() and not short[14000:].any()
    long = np.zeros(24000, np.float32)
    long[5000:9000] = 1.0  # the word, 0.31-0.56 s into a 1.5 s clip
    cut = fit_clip(long, 16000, "x.wav", 16000)
    assert cut.shape == (16000,) and cut.sum() == 4000  # the whole word kept
    with pytest.raises(KwsError, match=r"x\.wav: 3\.50 s long.*cut long recordings"):
        fit_clip(np.ones(56000, np.float32), 16000, "x.wav", 16000)


def test_features_command_prints_shape_and_plots(real_clips, tmp_path, capsys):
    png = tmp_path / "mfcc.png"
    assert main(["features", str(real_clips[0]), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "frames x 10 MFCCs" in out and png.stat().st_size > 10_000


def test_features_command_refuses_audio_shorter_than_a_window(tmp_path, capsys):
    path = write_wav(tmp_path / "blip.wav", tone(0.01))
    assert main(["features", str(path)]) == 2
    assert "shorter than one 40 ms window" in capsys.readouterr().err
