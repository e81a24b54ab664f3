import json

import numpy as np
import pytest

from conftest import tone, tone_words, write_wav
from kws.cli import main
from kws.data.augment import AugmentConfig, augment
from kws.data.cache import clip_audio, clip_features
from kws.data.speech_commands import SpeechCommands, which_set
from kws.errors import KwsError
from kws.features import FeatureConfig, mfcc
from kws.labels import LABELS


def test_hash_rule_matches_the_official_validation_list(data_dir):
    listed = {line.split("/")[1] for line in (data_dir / "validation_list.txt").read_text().split()}
    assert len(listed) > 500
    assert all(which_set(name) == "validation" for name in listed)
    # the rule keeps every clip of one speaker in one split
    assert which_set("0a7c2a8d_nohash_0.wav") == which_set("0a7c2a8d_nohash_4.flac")


def test_shared_data_has_the_twelve_classes(data_dir):
    stats = SpeechCommands(data_dir).stats()
    assert tuple(stats) == LABELS
    for label, counts in stats.items():
        assert counts["training"] > 300 and counts["validation"] > 40, label
        assert counts["testing"] == 0  # the subset holds no testing speakers
    # every non-core word, and the folder named `unknown`, is _unknown_
    assert stats["_unknown_"]["training"] > 2000


def test_data_stats_command(data_dir, capsys):
    assert main(["data", "stats", str(data_dir), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["yes"]["validation"] == 250 and set(stats) == set(LABELS)
    assert main(["data", "stats", str(data_dir)]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["class", "training", "validation", "testing"]


def test_hash_rule_when_there_are_no_lists(tiny_speech_commands):
    data = SpeechCommands(tiny_speech_commands)
    for clip in data.recorded:
        assert clip.split == which_set(clip.path.name)
    assert {c.label for c in data.recorded} == {"yes", "no", "_unknown_"}  # marvin is not a core word
    assert data.labels == LABELS


def test_official_lists_override_the_hash_rule(tiny_speech_commands):
    name = next((tiny_speech_commands / "yes").iterdir()).name
    (tiny_speech_commands / "testing_list.txt").write_text(f"yes/{name}\n")
    data = SpeechCommands(tiny_speech_commands)
    by_name = {(c.path.parent.name, c.path.name): c.split for c in data.recorded}
    assert by_name[("yes", name)] == "testing"
    # only the listed clip is in testing; the validation split still follows the hash rule
    assert sum(s == "testing" for s in by_name.values()) == 1
    assert any(s == "validation" for s in by_name.values())


def test_one_persons_recordings_train_whatever_their_speaker_id_hashes_to(tmp_path):
    """A user's takes whose speaker id hashes to validation (or testing) train all the same; synthetic clips and
    listed splits keep theirs, and a word of several speakers is left as the hash rule splits it."""
    from kws.data.synth import VOICE_OF

    held = {s: next(f"{i:08x}" for i in range(1000) if which_set(f"{i:08x}_nohash_0") == s)
            for s in ("validation", "testing")}
    voice = next(v for v in sorted(VOICE_OF) if which_set(VOICE_OF[v]) == "validation")
    for split, speaker in held.items():
        root = tmp_path / split
        for n in range(10):
            write_wav(root / "marvin" / f"{speaker}_nohash_{n}.wav", tone(0.5))
        write_wav(root / "marvin" / f"{voice}_nohash_0.wav", tone(0.5))
        data = SpeechCommands(root, words=("marvin",))
        splits = {c.path.name: c.split for c in data.recorded}
        assert [splits[f"{speaker}_nohash_{n}.wav"] for n in range(10)] == ["training"] * 10, split
        assert splits[f"{voice}_nohash_0.wav"] == "validation"
    alone = tmp_path / "alone"  # one person only: every fifth take still held out, to score on
    for n in range(10):
        write_wav(alone / "marvin" / f"{held['validation']}_nohash_{n}.wav", tone(0.5))
    assert [c.split for c in SpeechCommands(alone, words=("marvin",)).recorded].count("validation") == 2
    (tmp_path / "validation" / "validation_list.txt").write_text(f"marvin/{held['validation']}_nohash_0\n")
    data = SpeechCommands(tmp_path / "validation", words=("marvin",))
    assert {c.split for c in data.recorded if c.path.name.startswith(held["validation"])} == {"validation", "training"}
    many = tmp_path / "many"
    for speaker in held.values():
        write_wav(many / "marvin" / f"{speaker}_nohash_0.wav", tone(0.5))
    assert sorted(c.split for c in SpeechCommands(many, words=("marvin",)).recorded) == ["testing", "validation"]


def test_a_word_of_several_people_none_validating_holds_out_every_fifth_voice(tmp_path):
    """Ten people's takes of a wake word, all of ids the hash rule trains: two of them validate, every take of each
    person in one split; with one person of the hash rule's validation among them, the rule stands."""
    speakers = [f"{i:08x}" for i in range(300) if which_set(f"{i:08x}_nohash_0") == "training"][:10]
    for speaker in speakers:
        for n in range(3):
            write_wav(tmp_path / "ten" / "marvin" / f"{speaker}_nohash_{n}.wav", tone(0.5))
    splits = {}
    for c in SpeechCommands(tmp_path / "ten", words=("marvin",)).recorded:
        splits.setdefault(c.path.name.split("_nohash_")[0], set()).add(c.split)
    assert sorted(map(tuple, splits.values())) == [("training",)] * 8 + [("validation",)] * 2
    held = next(f"{i:08x}" for i in range(300) if which_set(f"{i:08x}_nohash_0") == "validation")
    write_wav(tmp_path / "ten" / "marvin" / f"{held}_nohash_0.wav", tone(0.5))
    data = SpeechCommands(tmp_path / "ten", words=("marvin",))
    assert all(c.split == which_set(c.path.name) for c in data.recorded)


def test_a_synthetic_voice_and_its_transforms_share_a_split(tmp_path):
    """Clips of a voice with its formants scaled are a speaker of their own, but they are split with the voice:
    one that trains cannot be heard again, transformed, in validation."""
    from kws.data.transforms import TRACT, tract_speaker
    from kws.data.voices import ALL_VOICES

    voice = next(v for v in ALL_VOICES if which_set(v.speaker) == "training"
                 and any(which_set(tract_speaker(v, f)) == "validation" for f in TRACT))
    other = next(v for v in ALL_VOICES if which_set(v.speaker) == "validation")
    for v in (voice, other):
        for f in (1, *TRACT):
            write_wav(tmp_path / "marvin" / f"{tract_speaker(v, f)}_nohash_0.wav", tone(0.5))
    splits = {c.path.name.split("_nohash_")[0]: c.split for c in SpeechCommands(tmp_path, words=("marvin",)).recorded}
    assert [splits[tract_speaker(voice, f)] for f in (1, *TRACT)] == ["training"] * 5
    assert [splits[tract_speaker(other, f)] for f in (1, *TRACT)] == ["validation"] * 5


def test_your_own_other_words_train_and_every_fifth_validates(tmp_path):
    """One person's other words in the data folder are negatives to learn (all train, every fifth held out to score
    and tune on), whatever their id hashes to; other people's in a negatives folder keep the hash rule."""
    me, them = (next(f"{i:08x}" for i in range(start, 1000) if which_set(f"{i:08x}_nohash_0") == "validation")
                for start in (0, 500))
    for root, word, speaker in (("mine", "marvin", me), ("mine", "six", me), ("neg", "six", them)):
        for n in range(10):
            write_wav(tmp_path / root / word / f"{speaker}_nohash_{n}.wav", tone(0.5))
    data = SpeechCommands(tmp_path / "mine", words=("marvin",), negatives=[tmp_path / "neg"])
    splits = {(c.path.parent.parent.name, c.word): [] for c in data.recorded}
    for c in data.recorded:
        splits[c.path.parent.parent.name, c.word].append(c.split)
    every_fifth = (["training"] * 4 + ["validation"]) * 2
    assert splits["mine", "six"] == splits["mine", "marvin"] == every_fifth
    assert splits["neg", "six"] == ["validation"] * 10


def test_negatives_folders_give_other_words_only(tmp_path):
    """A wake word's clips in a negatives folder (the digits hold "eight") are neither positives nor negatives;
    the user's own folder gives the positives, and its other words are negatives too."""
    for root, word, speaker in (("mine", "eight", "aaaa0001"), ("mine", "hello", "aaaa0001"),
                                ("neg", "eight", "bbbb0002"), ("neg", "bed", "bbbb0002")):
        for i in range(3):
            write_wav(tmp_path / root / word / f"{speaker}_nohash_{i}.wav", tone(0.5))
    data = SpeechCommands(tmp_path / "mine", words=("eight",), negatives=[tmp_path / "neg"])
    by_word = {(c.path.parent.parent.name, c.word): c.label for c in data.recorded}
    assert by_word == {("mine", "eight"): "eight", ("mine", "hello"): "_unknown_", ("neg", "bed"): "_unknown_"}
    # the same folder as data (the old way) would have made every "eight" in it a positive
    both = SpeechCommands([tmp_path / "mine", tmp_path / "neg"], words=("eight",))
    assert sum(c.label == "eight" for c in both.recorded) == 6


def test_official_test_set_layout(tmp_path):
    root = tmp_path / "test_set"
    write_wav(root / "_silence_" / "silence_0.wav", np.zeros(16000))
    write_wav(root / "_unknown_" / "bed_00f0204f_nohash_0.wav", tone(1.0))
    write_wav(root / "yes" / "0a2b400e_nohash_0.wav", tone(1.0))
    data = SpeechCommands(root)
    clips = data.split("all")
    assert sorted(c.label for c in clips) == ["_silence_", "_unknown_", "yes"]  # no generated silence added


def test_generated_silence_is_deterministic_and_at_random_volume(tiny_speech_commands):
    a = SpeechCommands(tiny_speech_commands).split("training")
    b = SpeechCommands(tiny_speech_commands).split("training")
    silence = [c for c in a if c.label == "_silence_"]
    assert a == b and len(silence) == round(0.1 * sum(c.label != "_silence_" for c in a))
    volumes = [c.noise[2] for c in silence]
    assert min(volumes) >= 0 and max(volumes) < 1 and len(set(volumes)) > 1


def test_missing_or_empty_folder_is_one_line(tmp_path):
    with pytest.raises(KwsError, match="no such folder"):
        SpeechCommands(tmp_path / "nope")
    with pytest.raises(KwsError, match="no .wav or .flac clips"):
        SpeechCommands(tmp_path)
    assert main(["data", "stats", str(tmp_path / "nope")]) == 2


def test_cache_returns_the_same_and_skips_decoding(tiny_speech_commands, tmp_path, monkeypatch):
    config = FeatureConfig()
    data = SpeechCommands(tiny_speech_commands)
    clips = data.split("training")
    first = clip_features(data, clips, config, tmp_path / "cache", progress=False)
    audio = clip_audio(data, clips, config, tmp_path / "cache", progress=False)
    np.testing.assert_allclose(first, mfcc(audio, config), atol=1e-4)
    assert np.abs(audio[[c.label == "_silence_" for c in clips]]).max() > 0  # silence holds noise

    import kws.data.cache as cache

    monkeypatch.setattr(cache, "read_audio", lambda *a: pytest.fail("decoded again despite the cache"))
    np.testing.assert_array_equal(clip_features(data, clips, config, tmp_path / "cache", progress=False), first)
    # another feature setting is another cache entry (audio still cached)
    other = clip_features(data, clips, FeatureConfig(n_mfcc=13), tmp_path / "cache", progress=False)
    assert other.shape[-1] == 13


def test_a_new_folder_of_recordings_decodes_that_folder_only(tiny_speech_commands, tmp_path, monkeypatch):
    """Each wake-word run adds your recordings to the same negatives: they stay cached, a folder at a time."""
    import kws.data.cache as cache

    config, cache_dir = FeatureConfig(), tmp_path / "cache"
    before = SpeechCommands(tiny_speech_commands)
    old = clip_audio(before, before.split("training"), config, cache_dir, progress=False)
    tone_words(tmp_path / "mine", ["hello"], 3, 300.0, np.random.default_rng(1))
    after = SpeechCommands(tiny_speech_commands, negatives=[tmp_path / "mine"])
    clips = after.split("training")
    decoded = []
    read = cache.read_audio
    monkeypatch.setattr(cache, "read_audio", lambda path, rate: decoded.append(path) or read(path, rate))
    audio = clip_audio(after, clips, config, cache_dir, progress=False)
    assert decoded and all(p.parent == tmp_path / "mine" / "hello" for p in decoded)
    index = {c.name: i for i, c in enumerate(clips)}
    for c, a in zip(before.split("training"), old):
        if c.path is not None:
            np.testing.assert_array_equal(audio[index[c.name]], a)


def test_augmentation_is_seeded_and_recipe_like(tiny_speech_commands):
    config = FeatureConfig()
    data = SpeechCommands(tiny_speech_commands)
    clips = data.split("training")
    audio = clip_audio(data, clips, config, None, progress=False)
    silence = np.array([c.label == "_silence_" for c in clips])
    noises = data.noises(16000)
    aug = AugmentConfig()
    a = augment(audio, silence, noises, np.random.default_rng(1), aug, 16000)
    b = augment(audio, silence, noises, np.random.default_rng(1), aug, 16000)
    c = augment(audio, silence, noises, np.random.default_rng(2), aug, 16000)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.abs(a).max() <= 1.0
    # no noise, no gain: a pure time shift of at most 100 ms
    plain = AugmentConfig(background_frequency=0.0, gain_db=0.0, speed=0.0)
    shifted = augment(audio[~silence][:5], silence[~silence][:5], noises, np.random.default_rng(3), plain, 16000)
    for x, y in zip(audio[~silence][:5], shifted):
        lags = [s for s in range(-1600, 1601) if np.allclose(np.roll(x, s)[1600:-1600], y[1600:-1600], atol=1e-6)]
        assert lags, "output is not a shifted copy of the input"


def test_a_short_word_is_placed_anywhere_in_its_clip():
    word = np.zeros(16000, np.float32)
    word[6000:10000] = 0.5  # 0.25 s of sound centred in silence, as short clips are stored
    config = AugmentConfig(speed=0, background_frequency=0, gain_db=0)
    out = augment(np.stack([word] * 200), np.zeros(200, bool), [], np.random.default_rng(0), config, 16000)
    starts = (out != 0).argmax(axis=1)
    assert (out != 0).sum(axis=1).min() == 4000  # never cut
    assert starts.min() < 1000 and starts.max() > 11000  # far beyond the 100 ms shift, to both ends


def test_speed_augmentation_shifts_pitch_within_bounds():
    clip = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000).astype(np.float32)
    config = AugmentConfig(speed=0.1, time_shift_ms=0, background_frequency=0, gain_db=0)
    out = augment(np.stack([clip] * 20), np.zeros(20, bool), [], np.random.default_rng(0), config, 16000)
    peaks = np.abs(np.fft.rfft(out[:, 4000:12000], axis=1)).argmax(axis=1) * 2  # 2 Hz bins
    assert out.shape == (20, 16000)
    assert peaks.min() >= 900 - 4 and peaks.max() <= 1100 + 4 and len(set(peaks)) > 5
