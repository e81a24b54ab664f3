"""A folder in Speech Commands layout: `word/speaker_nohash_n.{wav,flac}`, `_background_noise_/`, optional
`validation_list.txt` / `testing_list.txt` (else the data set's sha1-of-speaker rule) and optional `_silence_/`."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..audio import read_audio
from ..errors import KwsError
from ..features import CLIP_SAMPLES, SAMPLE_RATE
from ..labels import BACKGROUND_NOISE_DIR, CORE_WORDS, SILENCE, UNKNOWN, label_for_folder
from .clips import speaker_of
from .synth import VOICE_OF, is_synthetic

SPLITS = ("training", "validation", "testing")
AUDIO_SUFFIXES = (".wav", ".flac")
_MAX_PER_CLASS = 2**27 - 1


def which_set(filename: str, validation_percentage: float = 10, testing_percentage: float = 10) -> str:
    """The data set's own split rule: sha1 of the name up to `_nohash_`, so a speaker stays in one split."""
    h = int(hashlib.sha1(speaker_of(filename).encode()).hexdigest(), 16)
    percent = (h % (_MAX_PER_CLASS + 1)) * (100.0 / _MAX_PER_CLASS)
    if percent < validation_percentage:
        return "validation"
    if percent < validation_percentage + testing_percentage:
        return "testing"
    return "training"


@dataclasses.dataclass(frozen=True)
class Clip:
    """One example: a recorded clip (`path`), or generated silence (`noise` = (noise file index, offset, volume))."""

    label: str
    split: str
    path: Path | None = None
    noise: tuple[int, int, float] | None = None

    @property
    def word(self) -> str:
        """The spoken word: the folder's name, or in the official test set's `_unknown_/` folder the file name's
        prefix (`_unknown_/five_c22d3f18_nohash_4.wav` is "five"); `_silence_` for generated silence."""
        if self.path is None:
            return SILENCE
        folder = self.path.parent.name
        prefix = re.match(r"([^_]+)_[0-9a-f]{8}_nohash_", self.path.name)
        return prefix.group(1) if folder == UNKNOWN and prefix else folder

    @property
    def name(self) -> str:
        if self.path is not None:
            return f"{self.path.parent.name}/{self.path.name}"
        i, offset, volume = self.noise
        return f"{SILENCE}/noise{i}@{offset}x{volume:.3f}"


def _list_keys(path: Path) -> set[str] | None:
    """`word/stem` keys of an official split list (extension-blind, so a .wav list also fits .flac clips)."""
    if not path.is_file():
        return None
    return {str(Path(line.strip()).with_suffix("")) for line in path.read_text().splitlines() if line.strip()}


def as_roots(folders) -> list[str]:
    """One folder or a list of folders, as a list of strings."""
    return [str(f) for f in ([folders] if isinstance(folders, (str, Path)) else folders)]


class SpeechCommands:
    """The clips of one or more folders in Speech Commands layout, labelled and split; `_silence_` made from
    their background noise. Several folders make one data set (e.g. your own word plus Speech Commands as
    negatives). The `negatives` folders give other words and noise only: their clips of the target words are left
    out (neither positive nor negative). One person's recordings of a word train whatever split their speaker id
    hashes to: when a target word's real clips (not synthetic, in folders without split lists), or a data folder's
    clips of another word, are all one speaker's and none is in training, all are (your own other words are
    negatives to learn, not only to score). A target word's real clips of several speakers, none of whom the hash
    rule puts in validation, have every fifth speaker (at least one) held out for validation, so that the threshold
    is tuned on a voice training never heard. A word still with no validation clip has every fifth clip held out
    for validation, so that it can be scored and tuned on. Synthetic clips split by their voice: a voice and its
    transforms (synth.VOICE_OF) are one speaker."""

    def __init__(self, roots, words=CORE_WORDS, silence_percentage: float = 10.0, seed: int = 0, negatives=()):
        self.roots = [Path(r) for r in as_roots(roots)]
        self.negatives = [Path(r) for r in as_roots(negatives)]
        self.words = tuple(words)
        self.labels = (SILENCE, UNKNOWN) + self.words
        self.seed = seed
        self.recorded, self.noise_paths = [], []
        self._hash_split = set()  # paths split by the hash rule (their folder has no split lists)
        for root in self.roots:
            self._scan(root)
        own_other_words = defaultdict(list)  # folder -> the data folders' clips of other words in it
        for i, c in enumerate(self.recorded):
            if c.label == UNKNOWN:
                own_other_words[c.path.parent].append(i)
        for root in self.negatives:
            self._scan(root, skip=self.words)
        for word in self.words:
            clips = [i for i, c in enumerate(self.recorded) if c.label == word]
            self._hold_out_voices(clips)
            self._one_persons_split(clips)
        for clips in own_other_words.values():
            if len(self._real_speakers(clips)) == 1:
                self._one_persons_split(clips)
        self.silence_percentage = silence_percentage
        self._noises = None

    def _real_speakers(self, clips: list[int]) -> dict[str, list[int]]:
        """Speaker id -> the clips (indices) of `clips` that are real recordings split by the hash rule."""
        speakers = defaultdict(list)
        for i in clips:
            path = self.recorded[i].path
            if path in self._hash_split and not is_synthetic(path):
                speakers[speaker_of(path)].append(i)
        return speakers

    def _hold_out_voices(self, clips: list[int]) -> None:
        """A word's real clips of several speakers, none of whom validates: every fifth speaker (at least one, in
        the order of their ids' sha1) does."""
        speakers = self._real_speakers(clips)
        if len(speakers) < 2 or any(self.recorded[i].split == "validation"
                                    for takes in speakers.values() for i in takes):
            return
        order = sorted(speakers, key=lambda s: hashlib.sha1(s.encode()).hexdigest())
        for speaker in order[::5]:
            for i in speakers[speaker]:
                self.recorded[i] = dataclasses.replace(self.recorded[i], split="validation")

    def _one_persons_split(self, clips: list[int]) -> None:
        """A word's clips: when its real ones are one person's and none trains, all do; when none validates, every
        fifth does."""
        speakers = list(self._real_speakers(clips).values())
        if len(speakers) == 1 and self.recorded[speakers[0][0]].split != "training":
            for i in speakers[0]:
                self.recorded[i] = dataclasses.replace(self.recorded[i], split="training")
        if clips and not any(self.recorded[i].split == "validation" for i in clips):
            for i in clips[4::5]:
                self.recorded[i] = dataclasses.replace(self.recorded[i], split="validation")

    def _scan(self, root: Path, skip=()) -> None:
        if not root.is_dir():
            raise KwsError(
                f"{root}: no such folder; give a folder in Speech Commands layout "
                "(download it with `python data_scripts/download_speech_commands.py`)"
            )
        lists = {s: _list_keys(root / f"{s}_list.txt") for s in ("validation", "testing")}
        clips = []
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in (BACKGROUND_NOISE_DIR, *skip)):
            label = label_for_folder(folder.name, self.words)
            for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES):
                clips.append(Clip(label, self._split_of(path, lists), path))
        if not clips:
            raise KwsError(
                f"{root}: no .wav or .flac clips in word folders; expected Speech Commands layout "
                "(word/speaker_nohash_n.wav)"
            )
        self.recorded += clips
        if not any(keys is not None for keys in lists.values()):
            self._hash_split.update(c.path for c in clips)
        noise_dir = root / BACKGROUND_NOISE_DIR
        if noise_dir.is_dir():
            self.noise_paths += sorted(p for p in noise_dir.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)

    @staticmethod
    def _split_of(path: Path, lists: dict) -> str:
        key = f"{path.parent.name}/{path.stem}"
        listed = [s for s, keys in lists.items() if keys is not None and key in keys]
        if listed:
            return listed[0]
        speaker = speaker_of(path)
        rule = which_set(VOICE_OF.get(speaker, speaker))
        # A split that has an official list takes exactly its list; the hash rule fills the others.
        return "training" if lists.get(rule) is not None else rule

    def from_negatives(self, clip: Clip) -> bool:
        """Whether a recorded clip is a `negatives` folder's (other people's words), not a data folder's (yours)."""
        return any(root in clip.path.parents for root in self.negatives)

    def noises(self, sample_rate: int) -> list[np.ndarray]:
        """The background-noise recordings as float32 arrays (loaded once)."""
        if self._noises is None:
            self._noises = [read_audio(p, sample_rate)[0] for p in self.noise_paths]
        return self._noises

    def _silence(self, split: str, count: int, clip_samples: int, sample_rate: int) -> list[Clip]:
        """Generated silence: a random stretch of a random noise recording at a random volume in [0, 1)."""
        if count == 0 or not self.noise_paths:
            return []
        lengths = [len(n) for n in self.noises(sample_rate)]
        rng = np.random.default_rng([self.seed, zlib.crc32(split.encode())])
        out = []
        for _ in range(count):
            i = int(rng.integers(len(lengths)))
            offset = int(rng.integers(max(1, lengths[i] - clip_samples)))
            out.append(Clip(SILENCE, split, noise=(i, offset, round(float(rng.uniform(0, 1)), 4))))
        return out

    def split(self, name: str, clip_samples: int = CLIP_SAMPLES, sample_rate: int = SAMPLE_RATE) -> list[Clip]:
        """Every clip of a split ("training", "validation", "testing" or "all"), with generated silence added
        (silence_percentage of the recorded clips) unless the folder has recorded `_silence_` clips there."""
        if name not in SPLITS + ("all",):
            raise KwsError(f"unknown split {name!r}; use one of {', '.join(SPLITS)} or all")
        clips = [c for c in self.recorded if name in ("all", c.split)]
        if clips and not any(c.label == SILENCE for c in clips):
            count = round(len(clips) * self.silence_percentage / 100)
            clips = clips + self._silence(name, count, clip_samples, sample_rate)
        return clips

    def stats(self) -> dict[str, dict[str, int]]:
        """label -> split -> number of clips (generated silence included)."""
        table = {label: dict.fromkeys(SPLITS, 0) for label in self.labels}
        for split in SPLITS:
            for c in self.split(split):
                table[c.label][split] += 1
        return table
