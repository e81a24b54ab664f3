"""`kws synth --transform`: tract (formants scaled, speed and pitch kept, a new speaker id) and room (simulated
reverberation)."""

import re
import sys

import librosa
import numpy as np
import pytest
import soundfile as sf

from kws.cli import main
from kws.data.clips import segments
from kws.data.synth import SYNTHETIC_SPEAKERS, is_synthetic, synthesize
from kws.data.transforms import TRACT, change_voice, other_voices, reverberate, room_responses, scale_formants, tract_speaker
from kws.data.voices import ALL_VOICES, Voice, render
from kws.errors import KwsError


def measure(audio):
    """(duration of the sound in s, median F0 in Hz, spectral centroid in Hz) of a rendering."""
    spans = segments(audio)
    sound = audio[spans[0][0] : spans[-1][1]]
    f0 = np.median(librosa.yin(sound, fmin=60, fmax=500, sr=16000))
    centroid = np.median(librosa.feature.spectral_centroid(y=sound, sr=16000, n_fft=512)[0])
    return len(sound) / 16000, f0, centroid


@pytest.mark.parametrize("factor", [TRACT[0], TRACT[-1]])
def test_tract_moves_the_formants_and_keeps_speed_and_pitch(factor, tmp_path):
    voice = Voice("festival", "kal_diphone")  # a voice whose pitch the engine sets
    plain = measure(render(voice, "seven", 175, 1, tmp_path / "a.wav"))
    moved = measure(scale_formants(render(voice, "seven", 175 / factor, 1 / factor, tmp_path / "b.wav"), factor))
    assert moved[0] == pytest.approx(plain[0], rel=0.1)
    assert moved[1] == pytest.approx(plain[1], rel=0.06)
    assert moved[2] / plain[2] == pytest.approx(factor, rel=0.06)


@pytest.mark.parametrize("formants, pitch", [(1.17, 1.3), (0.85, 0.75)])
def test_change_voice_moves_a_takes_formants_and_pitch_and_keeps_its_length(formants, pitch, tmp_path):
    take = render(Voice("festival", "kal_diphone"), "seven", 175, 1, tmp_path / "a.wav")
    changed = change_voice(take, formants, pitch)
    assert np.array_equal(change_voice(take, formants, pitch), changed)  # Praat's random pulses seeded: reproducible
    plain, moved = measure(take), measure(changed)
    assert moved[0] == pytest.approx(plain[0], rel=0.05)
    assert moved[1] / plain[1] == pytest.approx(pitch, rel=0.06)
    assert moved[2] / plain[2] == pytest.approx(formants, rel=0.08)


def test_other_voices_are_as_many_distinct_voices_as_asked(tmp_path):
    take = render(Voice("festival", "kal_diphone"), "seven", 175, 1, tmp_path / "a.wav")
    voices = other_voices(take, 6, np.random.default_rng(0))
    assert len(voices) == 6 and all(v.shape == take.shape for v in voices)
    centroids = [measure(v)[2] for v in voices[:4]]
    assert sorted(centroids) == [centroids[0], centroids[1], centroids[2], centroids[3]]  # TRACT's rising factors


def test_tract_speakers_are_new_stable_and_synthetic(tmp_path):
    paths = synthesize("marvin", tmp_path, 15, seed=2, transforms=["tract"])
    speakers = {re.fullmatch(r"([0-9a-f]{8})_nohash_\d+\.wav", p.name).group(1) for p in paths}
    base = {v.speaker for v in ALL_VOICES}
    assert speakers - base and speakers & base  # transformed voices, and some left as they were
    assert all(is_synthetic(p) for p in paths) and speakers <= SYNTHETIC_SPEAKERS
    assert tract_speaker(Voice("flite", "slt"), 1) == "ec9749af" and tract_speaker(Voice("flite", "slt"), 0.84) == \
        "bf2103a4"
    assert len(SYNTHETIC_SPEAKERS) == len(ALL_VOICES) * (1 + len(TRACT))  # every derived speaker its own id
    again = synthesize("marvin", tmp_path / "again", 15, seed=2, transforms=["tract"])
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]


def test_room_adds_a_reverberant_tail_behind_the_direct_sound():
    rooms = room_responses(np.random.default_rng(0), 2)
    assert all(r.max() == 1 and len(r) > 0.1 * 16000 for r in rooms)
    clip = np.zeros(16000, np.float32)
    clip[6000] = 1  # a click
    for room in rooms:
        wet = reverberate(clip, room)
        assert len(wet) == 16000 and np.argmax(np.abs(wet)) == 6000  # the direct sound stays where it was
        tail = slice(6500, 9000)  # 30-190 ms after the click: reflections
        assert np.sum(wet[tail] ** 2) > 0.005 * np.sum(wet**2) and not clip[tail].any()  # above -23 dB


def test_room_clips_are_clips_of_the_word(tmp_path):
    paths = synthesize("marvin", tmp_path, 6, transforms=["room", "tract"])
    for path in paths:
        clip = sf.read(path, dtype="float32")[0]
        spans = segments(clip)
        assert len(clip) == 16000 and spans and 0.3 < (spans[0][0] + spans[-1][1]) / 2 / 16000 < 0.7


def test_transform_option_and_its_errors(tmp_path, monkeypatch, capsys):
    assert main(["synth", "marvin", "--out", str(tmp_path), "--count", "2", "--transform", "tract"]) == 0
    assert "wrote 2 new synthetic clip(s)" in capsys.readouterr().out
    with pytest.raises(KwsError, match="unknown transform 'echo'; pick from tract, room"):
        synthesize("marvin", tmp_path, 1, transforms=["echo"])
    monkeypatch.setitem(sys.modules, "pyroomacoustics", None)  # as if not installed
    assert main(["synth", "marvin", "--out", str(tmp_path), "--transform", "room"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--transform room needs pyroomacoustics; install it (`pip install" in err[0]


def test_training_hears_each_recorded_take_of_yours_again_in_other_voices(tmp_path):
    """`train --other-voices K`: every recorded training take of the data folder (the wake word and your other words)
    K more times, each a changed voice under the take's clip (label, split); synthetic clips and the negatives
    folder's words once."""
    from conftest import write_wav
    from kws.data.cache import clip_audio
    from kws.data.prepare import with_other_voices
    from kws.data.speech_commands import SpeechCommands, which_set
    from kws.features import FeatureConfig

    voice = next(v for v in ALL_VOICES if which_set(v.speaker) == "training")
    people = [f"{i:08x}" for i in range(300) if which_set(f"{i:08x}_nohash_0") == "training"][:2]
    take = render(Voice("festival", "kal_diphone"), "seven", 175, 1, tmp_path / "a.wav")[:16000]
    for name in [f"mine/seven/{p}_nohash_{n}.wav" for p in people for n in range(2)] + [
            f"mine/seven/{voice.speaker}_nohash_0.wav", f"mine/six/{people[0]}_nohash_0.wav",
            f"neg/six/{people[1]}_nohash_0.wav"]:
        write_wav(tmp_path / name, take)
    data = SpeechCommands(tmp_path / "mine", words=("seven",), negatives=[tmp_path / "neg"])
    clips = data.split("training")
    audio = clip_audio(data, clips, FeatureConfig(), tmp_path / "cache")
    more_clips, more_audio = with_other_voices(data, clips, audio, 3, seed=0)
    yours = [c for c in clips if c.path is not None and "mine" in c.path.parts and not is_synthetic(c.path)]
    assert sorted(c.word for c in yours) == ["seven", "seven", "six"]  # one of two people validates (every fifth)
    assert more_clips[: len(clips)] == clips and more_clips[len(clips) :] == [c for c in yours for _ in range(3)]
    assert more_audio.shape == (len(clips) + 9, audio.shape[1]) and np.array_equal(more_audio[: len(clips)], audio)
    assert all(np.abs(v - audio[clips.index(c)]).max() > 0.01 for c, v in zip(more_clips[len(clips):],
                                                                              more_audio[len(clips):]))
    assert with_other_voices(data, clips, audio, 0, seed=0) == (clips, audio)


def test_training_hears_other_words_of_the_negatives_in_your_voice(tmp_path):
    """`train --own-voice-negatives N`: N recorded other words of the negatives folders once more, each in the voice
    (pitch median) of one of your recorded takes, under its own clip (an `_unknown_` of the negatives)."""
    from conftest import write_wav
    from kws.data.cache import clip_audio
    from kws.data.prepare import with_own_voice_negatives
    from kws.data.speech_commands import SpeechCommands, which_set
    from kws.data.transforms import median_pitch
    from kws.features import FeatureConfig

    people = [f"{i:08x}" for i in range(300) if which_set(f"{i:08x}_nohash_0") == "training"][:3]
    theirs = render(Voice("festival", "kal_diphone"), "seven", 175, 1, tmp_path / "a.wav")[:16000]
    yours = change_voice(theirs, 1.09, 1.5)  # a higher voice than the negatives'
    for p in people[:2]:
        write_wav(tmp_path / f"mine/seven/{p}_nohash_0.wav", yours)
    for n, p in enumerate(people):
        write_wav(tmp_path / f"neg/six/{p}_nohash_{n}.wav", theirs)
    data = SpeechCommands(tmp_path / "mine", words=("seven",), negatives=[tmp_path / "neg"])
    clips = data.split("training")
    audio = clip_audio(data, clips, FeatureConfig(), tmp_path / "cache")
    more_clips, more_audio = with_own_voice_negatives(data, clips, audio, 2, seed=0)
    assert more_clips[: len(clips)] == clips and np.array_equal(more_audio[: len(clips)], audio)
    added = more_clips[len(clips) :]
    assert len(added) == 2 and all(c.word == "six" and data.from_negatives(c) for c in added)
    you = median_pitch(audio[next(i for i, c in enumerate(clips) if c.word == "seven")])
    assert you > 1.3 * median_pitch(theirs)
    assert all(median_pitch(v) == pytest.approx(you, rel=0.1) for v in more_audio[len(clips) :])
    assert with_own_voice_negatives(data, clips, audio, 0, seed=0) == (clips, audio)
    for n, p in enumerate(people):  # negatives with no voiced frame: nothing to say in your voice
        write_wav(tmp_path / f"hiss/six/{p}_nohash_{n}.wav", np.random.default_rng(n).normal(0, 0.1, 16000))
    data = SpeechCommands(tmp_path / "mine", words=("seven",), negatives=[tmp_path / "hiss"])
    clips = data.split("training")
    audio = clip_audio(data, clips, FeatureConfig(), tmp_path / "cache")
    assert with_own_voice_negatives(data, clips, audio, 2, seed=0) == (clips, audio)
