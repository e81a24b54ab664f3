"""The data training and quantization share: a data set's training clips as audio (to augment each epoch afresh),
its validation clips as clean features, and one epoch's augmented features."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import KwsError
from ..features import FeatureConfig, mfcc
from ..labels import SILENCE, UNKNOWN
from .augment import augment
from .cache import clip_audio, clip_features
from .speech_commands import SpeechCommands
from .synth import is_synthetic
from .transforms import in_voice, median_pitch, other_voices


EPOCH_CHUNK = 256  # clips augmented at a time: a whole epoch's audio copies would cost more than the arithmetic


def _limit(clips, limit, seed):
    if limit is None:
        return clips
    rng = np.random.default_rng(seed)
    by_label = {}
    for c in clips:
        by_label.setdefault(c.label, []).append(c)
    kept = []
    for label in sorted(by_label):
        group = by_label[label]
        kept += [group[i] for i in sorted(rng.permutation(len(group))[:limit])]
    return kept


@dataclasses.dataclass
class Prepared:
    """What training and quantization need: the data set, labels, and the clean features."""

    dataset: SpeechCommands
    labels: tuple[str, ...]
    train_clips: list
    val_clips: list
    train_audio: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def _recorded(clip) -> bool:
    """A clip read from a recording, not made by a synthesizer."""
    return clip.path is not None and not is_synthetic(clip.path)


def _your_takes(dataset: SpeechCommands, clips) -> list[int]:
    """The indices of `clips` that are recorded takes (not synthetic) of `dataset`'s data folders, not its negatives'."""
    return [i for i, c in enumerate(clips) if _recorded(c) and not dataset.from_negatives(c)]


def with_other_voices(dataset: SpeechCommands, clips, audio: np.ndarray, count: int, seed: int):
    """(clips, audio) with `count` more of each of `dataset`'s recorded (not synthetic) takes among `clips` from its
    data folders (your word and your own other words; not its negatives folders'), as other speakers would say it
    (transforms.other_voices), under the take's own clip (its label, split and speaker)."""
    if not count:
        return clips, audio
    takes = _your_takes(dataset, clips)
    if not takes:
        return clips, audio
    rng = np.random.default_rng([seed, 2])
    voiced = [v for i in takes for v in other_voices(audio[i], count, rng)]
    return clips + [clips[i] for i in takes for _ in range(count)], np.concatenate([audio, np.stack(voiced)])


def with_own_voice_negatives(dataset: SpeechCommands, clips, audio: np.ndarray, count: int, seed: int):
    """(clips, audio) with `count` other words of `dataset`'s negatives folders among `clips` (recordings, drawn by
    `seed`) said again in the voice of a recorded take of its data folders (transforms.in_voice: the pitch of a take
    drawn for each), under the negative's own clip: your other words, as far as the negatives hold them."""
    if not count:
        return clips, audio
    takes = [i for i in _your_takes(dataset, clips) if clips[i].label != SILENCE]
    pool = [i for i, c in enumerate(clips) if c.label == UNKNOWN and _recorded(c) and dataset.from_negatives(c)]
    pitches = [p for p in (median_pitch(audio[i]) for i in takes) if not np.isnan(p)]
    if not pitches or not pool:
        return clips, audio
    rng = np.random.default_rng([seed, 3])
    voiced = [(i, in_voice(audio[i], rng.choice(pitches))) for i in rng.permutation(pool)[:count]]
    voiced = [(i, v) for i, v in voiced if v is not None]
    if not voiced:  # every negative drawn without a voiced frame
        return clips, audio
    return clips + [clips[i] for i, _ in voiced], np.concatenate([audio, np.stack([v for _, v in voiced])])


def prepare(data_dirs, feature_config: FeatureConfig, words=None, cache_dir=None, limit_per_class=None,
            seed: int = 0, negatives=(), voices: int = 0, own_voice: int = 0) -> Prepared:
    """The data set of `data_dirs` and `negatives` (with `words` as its keywords), its training clips (at most
    `limit_per_class` each, picked with `seed`; with `voices`, each recorded take of the data folders that many
    times more in other voices; with `own_voice`, that many of the negatives' other words in the takes' voices) as
    audio and its validation clips as clean features."""
    kwargs = {"words": tuple(words)} if words else {}
    dataset = SpeechCommands(data_dirs, negatives=negatives, **kwargs)
    n = feature_config.clip_samples
    train_clips = _limit(dataset.split("training", n, feature_config.sample_rate), limit_per_class, seed)
    val_clips = dataset.split("validation", n, feature_config.sample_rate)
    if not train_clips or not val_clips:
        raise KwsError(f"{data_dirs}: needs clips in both the training and the validation split to train")
    index = {label: i for i, label in enumerate(dataset.labels)}
    train_audio = clip_audio(dataset, train_clips, feature_config, cache_dir)
    train_clips, train_audio = with_own_voice_negatives(dataset, train_clips, train_audio, own_voice, seed)
    train_clips, train_audio = with_other_voices(dataset, train_clips, train_audio, voices, seed)
    return Prepared(
        dataset, dataset.labels, train_clips, val_clips, train_audio,
        np.array([index[c.label] for c in train_clips]),
        clip_features(dataset, val_clips, feature_config, cache_dir),
        np.array([index[c.label] for c in val_clips]),
    )


def epoch_features(prep: Prepared, epoch: int, seed: int, feature_config, augment_config, pick=None) -> np.ndarray:
    """One epoch's training features: the clips (those at the indices `pick`, default all) augmented afresh
    (seeded by `seed` and `epoch`)."""
    rng = np.random.default_rng([seed, epoch])
    clips, audio = prep.train_clips, prep.train_audio
    if pick is not None:
        clips, audio = [clips[i] for i in pick], audio[pick]
    silence = np.array([c.label == SILENCE for c in clips], bool)
    noises = prep.dataset.noises(feature_config.sample_rate)
    chunks = range(0, len(audio), EPOCH_CHUNK)
    return np.concatenate([mfcc(augment(audio[i : i + EPOCH_CHUNK], silence[i : i + EPOCH_CHUNK], noises, rng,
                                         augment_config, feature_config.sample_rate), feature_config) for i in chunks])
