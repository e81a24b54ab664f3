"""`kws data import`: recordings in any format cut into centred 1 s clips; bad files reported, not kept."""

import hashlib

import numpy as np
import pytest
import soundfile as sf
from conftest import write_wav

from kws.cli import main
from kws.data.importer import import_recordings
from kws.errors import KwsError

RATE = 16000


def recording(seconds, rate, bursts, seed=0):
    """Noise at -60 dBFS with 300 Hz "words" at -10 dBFS peak: bursts = [(start_s, length_s), ...]."""
    rng = np.random.default_rng(seed)
    audio = 0.001 * rng.standard_normal(int(seconds * rate))
    for start, length in bursts:
        t = np.arange(int(length * rate)) / rate
        audio[int(start * rate) : int(start * rate) + len(t)] += 0.3 * np.sin(2 * np.pi * 300 * t)
    return audio.astype(np.float32)


def check_centred(path, length_s):
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (RATE, 1, RATE, "PCM_16")
    loud = np.flatnonzero(np.abs(sf.read(path, dtype="float32")[0]) > 0.1)
    assert abs(loud.mean() - RATE / 2) < 0.02 * RATE  # centred
    assert abs((loud[-1] - loud[0]) - length_s * RATE) < 0.02 * RATE  # this word only, the neighbours left out


@pytest.fixture
def recordings(tmp_path):
    """alice/session.wav: 44.1 kHz stereo, three 0.3 s words 0.3 s apart (each 1 s window overlaps a neighbour);
    bob.wav: 0.8 s at 8 kHz; noises.wav: a click and a 1.5 s hum; and three bad files."""
    src = tmp_path / "src"
    session = recording(3.0, 44100, [(0.5, 0.3), (1.1, 0.3), (1.7, 0.3)])
    write_wav(src / "alice" / "session.wav", np.stack([session, 0.5 * session], axis=1), rate=44100)
    write_wav(src / "bob.wav", recording(0.8, 8000, [(0.1, 0.35)], seed=1), rate=8000)
    write_wav(src / "noises.wav", recording(4.0, RATE, [(0.5, 0.05), (1.5, 1.5)], seed=2))
    (src / "empty.wav").write_bytes(b"")
    (src / "notes.txt").write_text("marvin, 20 takes\n")
    good = write_wav(tmp_path / "good.wav", recording(1.0, RATE, [(0.3, 0.3)])).read_bytes()
    (src / "cut.wav").write_bytes(good[: len(good) // 2])
    return src


def test_import_cuts_centres_and_reports(recordings, tmp_path):
    report = import_recordings(recordings, "marvin", tmp_path / "data")
    alice, bob = (hashlib.sha1(name.encode()).hexdigest()[:8] for name in ("alice", "bob"))
    assert [p.name for p in report.written] == [f"{alice}_nohash_{n}.wav" for n in range(3)] + [f"{bob}_nohash_0.wav"]
    for path, length in zip(report.written, (0.3, 0.3, 0.3, 0.35)):
        assert path.parent == tmp_path / "data" / "marvin"
        check_centred(path, length)
    reasons = {path.name: reason for path, reason in report.skipped}
    assert set(reasons) == {"empty.wav", "notes.txt", "cut.wav", "noises.wav"}
    assert "empty file" in reasons["empty.wav"] and "cannot read as audio" in reasons["notes.txt"]
    assert "truncated" in reasons["cut.wav"]
    assert reasons["noises.wav"].startswith(
        "left out 2 of 2 stretches of sound (0.05 s at 0.50 s, too short; 1.50 s at 1.50 s, too long)")


def test_a_file_is_imported_once_and_numbering_continues(recordings, tmp_path):
    bob = hashlib.sha1(b"bob").hexdigest()[:8]
    for n in range(2):
        report = import_recordings(recordings / "bob.wav", "marvin", tmp_path / "data")
        assert [p.name for p in report.written] == [f"{bob}_nohash_0.wav"][n:] and report.duplicates == n
    write_wav(tmp_path / "more" / "bob.wav", recording(1.0, RATE, [(0.4, 0.3)], seed=3))  # bob's next take
    report = import_recordings(tmp_path / "more" / "bob.wav", "marvin", tmp_path / "data")
    assert [p.name for p in report.written] == [f"{bob}_nohash_1.wav"] and report.duplicates == 0


def test_cli_reports_skipped_files_and_missing_source(recordings, tmp_path, capsys):
    assert main(["data", "import", str(recordings), "--word", "marvin", "--out", str(tmp_path / "data")]) == 0
    out, err = capsys.readouterr()
    assert "wrote 4 new clip(s) of 'marvin'" in out and "skipped 4 file(s)" in out
    assert err.count("skipped ") == 4 and f"skipped {recordings / 'cut.wav'}: truncated WAV" in err
    assert main(["data", "import", str(tmp_path / "nowhere"), "--word", "marvin", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err
    with pytest.raises(KwsError, match="plain word"):
        import_recordings(recordings, "../marvin", tmp_path / "data")
