"""`kws synth`: espeak-ng clips of a word, varied, deterministic, one speaker id per synthetic voice."""

import re

import numpy as np
import pytest
import soundfile as sf

from kws.data.synth import VARIANTS, VOICES, is_synthetic, speaker_for, synthesize
from kws.errors import KwsError


@pytest.fixture(scope="module")
def twelve(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    return out, synthesize("marvin", out / "a", 12, seed=0)


def test_clips_are_varied_1s_16k_mono_and_named_by_voice(twelve):
    _, paths = twelve
    assert len(paths) == 12
    clips = []
    for path in paths:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 16000, "PCM_16")
        clip = sf.read(path, dtype="float32")[0]
        assert 0.09 < np.max(np.abs(clip)) < 0.75  # peak between -20 and -3 dBFS: not silent, not clipped
        loud = np.flatnonzero(np.abs(clip) > 0.1 * np.max(np.abs(clip)))
        assert 0.3 < loud.mean() / 16000 < 0.7  # the word is in the middle
        clips.append(clip)
    assert min(np.abs(a - b).max() for i, a in enumerate(clips) for b in clips[:i]) > 0.05  # all different
    voices = {speaker_for(v + (f"+{x}" if x else "")) for v in VOICES for x in VARIANTS}
    speakers = {re.fullmatch(r"([0-9a-f]{8})_nohash_0\.wav", p.name).group(1) for p in paths}
    assert len(speakers) == 12 and speakers <= voices
    assert all(is_synthetic(p) for p in paths) and not is_synthetic("marvin/0a7c2a8d_nohash_0.flac")


def test_same_seed_same_bytes_and_numbering_continues(twelve):
    out, paths = twelve
    again = synthesize("marvin", out / "b", 12, seed=0)
    assert [p.name for p in again] == [p.name for p in paths]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(paths, again))
    assert synthesize("marvin", out / "b", 12, seed=0) == []  # the same clips again: none written twice
    more = synthesize("marvin", out / "b", 30, seed=1)  # other clips, some by the same voices: new numbers
    assert len(more) == 30 and {p.name.replace("_nohash_1", "_nohash_0") for p in more} & {p.name for p in paths}
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(paths, again))  # nothing overwritten
    assert len(list((out / "b" / "marvin").iterdir())) == 42


def test_missing_espeak_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(KwsError, match="apt-get install espeak-ng"):
        synthesize("marvin", tmp_path / "out", 1)
