"""`kws record` in-process against a fake ALSA microphone that plays a scripted sequence of takes."""

import os
import re
from unittest import mock

import numpy as np
import pytest
import soundfile as sf

from conftest import fake_mic_home
from kws.cli import main
from kws.data.record import check_take, record_session

RATE = 16000
TAKE_S = 2.0


def take(burst_at=None, level_db=-10.0, noise_db=-60.0, seed=0):
    """2 s of noise (RMS `noise_db`), with a 0.4 s noisy 300 Hz "word" peaking at `level_db` (above 0: clipped) from
    `burst_at` s."""
    rng = np.random.default_rng(seed)
    audio = 10 ** (noise_db / 20) * rng.standard_normal(int(TAKE_S * RATE))
    if burst_at is not None:
        t = np.arange(int(0.4 * RATE)) / RATE
        word = np.sin(2 * np.pi * 300 * t) + 0.3 * rng.standard_normal(len(t))
        word *= 10 ** (level_db / 20) / np.max(np.abs(word))
        start = int(burst_at * RATE)
        audio[start : start + len(word)] += word
    return audio


# Takes 1, 4 and 8 are good; 2 is too quiet, 3 clipped (so take 2 is asked again twice); 5-7 are loud noise with
# no word in it, silence, loud noise again, so take 3 is skipped after three tries.
TAKES = [take(0.1, seed=1), take(0.9, level_db=-40), take(0.7, level_db=6), take(1.3, seed=4), take(noise_db=-20),
         take(seed=6), take(noise_db=-20, seed=7), take(0.6, seed=8)]
GOOD_BURSTS = [0.1, 1.3, 0.6]


@pytest.fixture
def fake_mic(tmp_path):
    """~/.asoundrc with `kwsfake` playing TAKES; PortAudio is (re)initialised to read it, and again afterwards."""
    fake_mic_home(tmp_path, np.concatenate(TAKES))
    import sounddevice as sd

    with mock.patch.dict(os.environ, HOME=str(tmp_path)):
        sd._terminate()
        sd._initialize()
        yield tmp_path
    sd._terminate()
    sd._initialize()


def test_session_rejects_bad_takes_and_saves_centred_clips(fake_mic, tmp_path):
    out = tmp_path / "data"
    (out / "marvin").mkdir(parents=True)
    sf.write(out / "marvin" / "0123abcd_nohash_0.wav", np.zeros(RATE), RATE, subtype="PCM_16")  # kept, not overwritten
    said, asked = [], []
    paths = record_session("marvin", out, 4, device="kwsfake", speaker="0123abcd", ask=lambda p: asked.append(p) or "",
                           say=said.append, countdown_step=0)
    assert [p.name for p in paths] == [f"0123abcd_nohash_{n}.wav" for n in (1, 2, 3)]
    assert len(asked) == len(TAKES) and asked[1].startswith("take 2/4: ") and "'marvin'" in asked[1]
    log = "\n".join(said)
    assert "too quiet" in log and "clipped" in log and "no word stands out" in log
    assert "skipping take 3 after 3 tries" in log
    assert not sf.read(out / "marvin" / "0123abcd_nohash_0.wav")[0].any()
    for path, burst_at in zip(paths, GOOD_BURSTS):
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (RATE, 1, RATE, "PCM_16")
        clip = sf.read(path, dtype="float32")[0]
        loud = np.flatnonzero(np.abs(clip) > 0.1)
        assert abs(loud.mean() - RATE / 2) < 0.03 * RATE and loud[-1] - loud[0] < 0.45 * RATE
    first = sf.read(paths[0], dtype="float32")[0]  # its word starts 0.1 s into the take: padded 0.2 s in front
    assert 0.0005 < first[: int(0.2 * RATE)].std() < 0.002  # with the take's own noise, not zeros


def test_random_speaker_and_stop(fake_mic, tmp_path):
    answers = iter(["", "q"])
    paths = record_session("marvin", tmp_path / "data", 5, device="kwsfake", ask=lambda p: next(answers),
                           say=lambda s: None, countdown_step=0)
    assert len(paths) == 1 and re.fullmatch(r"[0-9a-f]{8}_nohash_0\.wav", paths[0].name)


def test_unknown_device_is_one_line(fake_mic, tmp_path, capsys):
    assert main(["record", "marvin", "--out", str(tmp_path / "data"), "--device", "no-such-mic"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no-such-mic" in err and "--list-devices" in err


def test_a_48k_take_is_resampled_before_the_check():
    t = np.arange(int(TAKE_S * 48000)) / 48000
    raw = np.round(32768 * (0.001 * np.random.default_rng(0).standard_normal(len(t))
                            + 0.3 * np.sin(2 * np.pi * 300 * t) * ((t >= 1.2) & (t < 1.6)))).astype(np.int16)
    audio, span, problem = check_take(raw, 48000)
    assert problem is None and len(audio) == TAKE_S * RATE
    assert abs(span[0] - 1.2 * RATE) < 0.02 * RATE and abs(span[1] - 1.6 * RATE) < 0.02 * RATE


def test_the_same_takes_again_are_not_saved_twice(fake_mic, tmp_path):
    said = []
    kwargs = dict(device="kwsfake", speaker="0123abcd", ask=lambda p: "", say=said.append, countdown_step=0)
    assert len(record_session("marvin", tmp_path / "data", 4, **kwargs)) == 3
    assert record_session("marvin", tmp_path / "data", 4, **kwargs) == []  # the fake microphone plays them again
    assert said.count("  the same as a clip already there: not saved again") == 3
    assert len(list((tmp_path / "data" / "marvin").iterdir())) == 3
