"""`kws synth`: clips of a word from every installed engine's voices (espeak-ng, flite, festival), varied,
deterministic, one speaker id per voice; `--engine`, `--list-voices`, and what a missing engine says."""

import hashlib
import re
import shutil

import librosa
import numpy as np
import pytest
import soundfile as sf

from kws import Model
from kws.cli import main
from kws.data import voices
from kws.data.clips import segments
from kws.data.synth import SYNTHETIC_SPEAKERS, is_synthetic, synthesize
from kws.data.voices import ALL_VOICES, ENGINES, Voice, installed, render
from kws.errors import KwsError
from kws.features import mfcc

SPEAKER = re.compile(r"([0-9a-f]{8})_nohash_(\d+)\.wav")


def speakers_of(paths) -> list[str]:
    return [SPEAKER.fullmatch(p.name).group(1) for p in paths]


@pytest.fixture
def without(monkeypatch):
    """without(exe, ...): those executables are not found (as if not installed), for this test."""
    which = shutil.which

    def hide(*exes):
        monkeypatch.setattr(voices.shutil, "which", lambda exe: None if exe in exes else which(exe))
        installed.cache_clear()

    yield hide
    installed.cache_clear()


@pytest.fixture(scope="module")
def twelve(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    return out, synthesize("marvin", out / "a", 12, seed=0, engines=ENGINES)


def test_clips_are_varied_1s_16k_mono_named_by_voice_and_every_engine_takes_its_turn(twelve):
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
    by_speaker = {v.speaker: v for v in ALL_VOICES}
    engines = [by_speaker[s].engine for s in speakers_of(paths)]
    assert engines == list(ENGINES) * 4  # engine by engine in turn
    espeak, flite, festival = (speakers_of(paths)[i::3] for i in range(3))
    assert len(set(espeak)) == len(set(flite)) == 4  # each engine's voices in turn: none twice before all spoke
    assert len(set(festival[:3])) == 3 and festival[3] == festival[0]  # festival's 3 voices, then round again
    assert all(is_synthetic(p) for p in paths) and not is_synthetic("marvin/0a7c2a8d_nohash_0.flac")


@pytest.mark.parametrize("engine", ["flite", "festival"])
def test_each_voice_says_the_word_in_a_1s_clip(engine, tmp_path):
    engine_voices = installed(engine)
    assert len(engine_voices) == len(ENGINES[engine].voices)  # the test command installs them all
    paths = synthesize("marvin", tmp_path, len(engine_voices), engines=[engine])
    assert sorted(speakers_of(paths)) == sorted(v.speaker for v in engine_voices)  # each voice once
    for path in paths:
        clip = sf.read(path, dtype="float32")[0]
        spans = segments(clip)
        assert spans, path
        assert 0.25 < (spans[-1][1] - spans[0][0]) / 16000 <= 0.9  # one word's worth of sound, in the second


def test_the_shipped_model_hears_the_word_in_flite_and_festival_clips(tmp_path):
    model = Model()
    paths = synthesize("yes", tmp_path, 8, engines=["flite", "festival"])
    heard = [model.labels[int(np.argmax(model.predict(mfcc(sf.read(p, dtype="float32")[0], model.config))))]
             for p in paths]
    assert heard.count("yes") >= 6, heard


@pytest.mark.parametrize("voice", [Voice("flite", "slt"), Voice("festival", "kal_diphone"),
                                   Voice("espeak-ng", "en-us")], ids=lambda v: v.key)
def test_speed_and_pitch_reach_the_engine(voice, tmp_path):
    def spoken(wpm, f0):
        audio = render(voice, "marvin", wpm, f0, tmp_path / "x.wav")
        spans = segments(audio)
        f0 = librosa.yin(audio[spans[0][0] : spans[-1][1]], fmin=60, fmax=500, sr=16000)
        return (spans[-1][1] - spans[0][0]) / 16000, float(np.median(f0))

    slow, fast = spoken(120, 1), spoken(220, 1)
    low, high = spoken(175, 0.8), spoken(175, 1.25)
    assert slow[0] > 1.3 * fast[0]
    assert high[1] > 1.2 * low[1]


def test_festival_hts_voice_changes_speed(tmp_path):
    voice = Voice("festival", "cmu_us_slt_arctic_hts")
    durations = [len(render(voice, "marvin", wpm, 1, tmp_path / "x.wav")) for wpm in (120, 220)]
    assert durations[0] > 1.3 * durations[1]


def test_same_seed_same_bytes_and_numbering_continues(twelve):
    out, paths = twelve
    again = synthesize("marvin", out / "b", 12, seed=0, engines=ENGINES)
    assert [p.name for p in again] == [p.name for p in paths]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(paths, again))
    assert synthesize("marvin", out / "b", 12, seed=0, engines=ENGINES) == []  # the same clips: none written twice
    more = synthesize("marvin", out / "b", 30, seed=1, engines=ENGINES)  # other clips, some same voices: new numbers
    assert len(more) == 30 and {p.name.replace("_nohash_1", "_nohash_0") for p in more} & {p.name for p in paths}
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(paths, again))  # nothing overwritten
    assert len(list((out / "b" / "marvin").iterdir())) == 42


def test_speaker_ids_are_stable_and_all_synthetic():
    ids = {str(v): v.speaker for v in ALL_VOICES}
    assert len(set(ids.values())) == len(ALL_VOICES) == 152 and set(ids.values()) <= SYNTHETIC_SPEAKERS
    # espeak-ng's voices keep the ids of the folders written before the other engines came: sha1("tts:" + voice)
    assert all(v.speaker == hashlib.sha1(f"tts:{v.name}".encode()).hexdigest()[:8]
               for v in ALL_VOICES if v.engine == "espeak-ng")
    by_name = {(v.engine, v.name): v.speaker for v in ALL_VOICES}
    assert by_name["espeak-ng", "en-us"] == "9e578c30" and by_name["espeak-ng", "en-us+m1"] == "becdb393"
    assert by_name["flite", "slt"] == "ec9749af" and by_name["festival", "kal_diphone"] == "70271462"
    assert all(is_synthetic(f"marvin/{s}_nohash_3.wav") for s in ids.values())


def test_espeak_ng_alone_unless_asked(tmp_path):
    paths = synthesize("marvin", tmp_path, 6)
    assert {v.engine for v in ALL_VOICES if v.speaker in speakers_of(paths)} == {"espeak-ng"}


def test_engine_option_restricts_the_voices(tmp_path, capsys):
    assert main(["synth", "marvin", "--out", str(tmp_path), "--count", "3", "--engine", "festival"]) == 0
    assert "wrote 3 new synthetic clip(s)" in capsys.readouterr().out
    festival = {v.speaker for v in ALL_VOICES if v.engine == "festival"}
    assert set(speakers_of(sorted((tmp_path / "marvin").iterdir()))) == festival


def test_list_voices_says_which_are_installed(without, capsys):
    assert main(["synth", "--list-voices"]) == 0  # no WORD needed
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "152 of 152 voices installed" and len(out) == 154
    assert re.fullmatch(r"flite +slt +ec9749af +yes", out[out.index(next(x for x in out if " slt " in x))])
    without("flite")
    assert main(["synth", "--list-voices"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "147 of 152 voices installed"
    assert [x.split()[1] for x in out if x.endswith("no (apt-get install flite)")] == list(ENGINES["flite"].voices)


def test_a_missing_engine_is_skipped_with_a_note(without, tmp_path, capsys):
    without("flite")
    paths = synthesize("marvin", tmp_path, 4, engines=ENGINES)
    assert "note: flite is not installed, so its voices are skipped (`sudo apt-get install flite`" in \
        capsys.readouterr().err
    assert {v.engine for v in ALL_VOICES if v.speaker in speakers_of(paths)} == {"espeak-ng", "festival"}


def test_no_engine_names_the_packages(without, tmp_path, capsys):
    without("espeak-ng", "flite", "text2wave")
    with pytest.raises(KwsError, match=r"no speech synthesizer is installed .*`sudo apt-get install espeak-ng flite "
                                       r"festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts`"):
        synthesize("marvin", tmp_path / "out", 1, engines=ENGINES)
    assert main(["synth", "marvin", "--out", str(tmp_path)]) == 2  # the default: espeak-ng
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "install it (Debian/Ubuntu: `sudo apt-get install espeak-ng`" in err[0]


def test_without_word_or_out_one_line_names_the_fix(capsys):
    assert main(["synth", "marvin"]) == 2
    assert capsys.readouterr().err.strip() == ("kws: error: kws synth needs a WORD and --out DIR (e.g. `kws synth "
                                               "marvin --out mywords`), or --list-voices")


def test_an_engine_failure_names_the_voice(tmp_path):
    with pytest.raises(KwsError, match=r"festival failed on voice 'no_such_diphone' \(SIOD ERROR"):
        render(Voice("festival", "no_such_diphone"), "marvin", 175, 1, tmp_path / "x.wav")
