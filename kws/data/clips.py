"""1 s word clips for your own wake word: find the sound in a recording, centre it in 1 s, save it in Speech
Commands naming (`WORD/<speaker>_nohash_<n>.wav`, 16 kHz mono 16-bit), once: a clip the folder already holds is
not written again. Shared by record, import and synth."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import KwsError
from ..features import CLIP_SAMPLES, SAMPLE_RATE

FRAME = SAMPLE_RATE // 100  # samples per 10 ms energy frame, where speech is told from silence
MIN_GAP_S = 0.25  # a pause at least this long separates two utterances
MIN_RANGE_DB = 10.0  # a recording needs this much between noise floor and peak to hold any sound at all


def word_folder(out_dir, word: str) -> Path:
    """OUT/WORD, created; WORD must be a plain folder name (the class label)."""
    if not word or word != word.strip() or re.search(r"[/\\]", word) or word[0] in "._-":
        raise KwsError(f"word {word!r} cannot be a folder name; use a plain word such as 'marvin'")
    folder = Path(out_dir) / word
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise KwsError(f"{folder}: cannot create the folder ({e.strerror}); pick another --out") from None
    return folder


def speaker_id(name: str | None = None) -> str:
    """An 8-hex speaker id: `name` itself if it is one, else the first 8 hex digits of its sha1 (so a name always
    maps to the same id); a random id if no name is given."""
    if name is None:
        return secrets.token_hex(4)
    if re.fullmatch(r"[0-9a-f]{8}", name):
        return name
    return hashlib.sha1(name.encode()).hexdigest()[:8]


_HASHES: dict[Path, dict[str, tuple[int, int, str | None]]] = {}  # folder -> name -> (size, mtime, sha1 of samples)


def _sha1(samples: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(samples).tobytes()).hexdigest()


def _folder_hashes(folder: Path) -> set[str]:
    """The sha1 of each audio file's 16-bit samples in `folder`: each file is read once per process (again if it
    changes); files that are not audio are left out."""
    key = folder.resolve()
    known, seen = _HASHES.get(key, {}), {}
    for entry in os.scandir(folder):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        stat = entry.stat()
        old = known.get(entry.name)
        if old and old[:2] == (stat.st_size, stat.st_mtime_ns):
            seen[entry.name] = old
            continue
        try:
            digest = _sha1(sf.read(entry.path, dtype="int16")[0])
        except (sf.SoundFileError, RuntimeError, OSError):
            digest = None
        seen[entry.name] = (stat.st_size, stat.st_mtime_ns, digest)
    _HASHES[key] = seen
    return {digest for _, _, digest in seen.values()}


@contextlib.contextmanager
def _locked(folder: Path):
    """Hold `folder`'s lock (flock on the folder itself): one writer at a time, across threads and processes."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def speaker_of(path) -> str:
    """A clip's speaker id: its name up to `_nohash_` (`c22d3f18` for `five/c22d3f18_nohash_4.wav`)."""
    return Path(path).name.split("_nohash_")[0]


def save_clip(clip: np.ndarray, folder: Path, speaker: str) -> Path | None:
    """Write `clip` as `folder/<speaker>_nohash_<n>.wav`, n one past the speaker's highest existing number; None,
    and nothing written, if a file in `folder` has the same 16-bit samples. Safe beside other writers: the folder
    is locked while it is checked, the name is claimed with a hard link (never over a file), and the file appears
    whole."""
    pcm = np.round(np.clip(clip, -1.0, 32767 / 32768) * 32768).astype(np.int16)
    with _locked(folder):
        if _sha1(pcm) in _folder_hashes(folder):
            return None
        taken = [int(m.group(1)) for p in folder.glob(f"{speaker}_nohash_*")
                 if (m := re.fullmatch(rf"{speaker}_nohash_(\d+)\.\w+", p.name))]
        n = max(taken, default=-1) + 1
        tmp = folder / f".tmp-{secrets.token_hex(4)}-{speaker}"  # no audio suffix: data loaders skip it
        sf.write(tmp, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        try:
            while True:
                path = folder / f"{speaker}_nohash_{n}.wav"
                try:
                    os.link(tmp, path)
                    return path
                except FileExistsError:
                    n += 1
        finally:
            tmp.unlink()


def envelope_db(audio: np.ndarray) -> np.ndarray:
    """RMS level of each 10 ms frame in dBFS."""
    n = len(audio) // FRAME
    frames = audio[: n * FRAME].reshape(n, FRAME).astype(np.float64)
    return 10 * np.log10(np.maximum(np.mean(frames**2, axis=1), 1e-12))


def segments(audio: np.ndarray, min_gap_s: float = MIN_GAP_S) -> list[tuple[int, int]]:
    """Sample ranges [start, end) of sound: frames above a threshold between the recording's noise floor (its
    10th-percentile frame level, at least -80 dBFS) and its peak, with pauses shorter than `min_gap_s` bridged."""
    env = envelope_db(audio)
    if len(env) == 0:
        return []
    floor, peak = max(float(np.percentile(env, 10)), -80.0), float(env.max())
    if peak - floor < MIN_RANGE_DB:
        return []
    active = np.flatnonzero(env > floor + 0.35 * (peak - floor))
    gap = round(min_gap_s * SAMPLE_RATE / FRAME)
    breaks = np.flatnonzero(np.diff(active) > gap)
    starts = np.concatenate(([active[0]], active[breaks + 1]))
    ends = np.concatenate((active[breaks], [active[-1]])) + 1
    return [(int(s) * FRAME, int(e) * FRAME) for s, e in zip(starts, ends)]


def loudest(audio: np.ndarray, spans: list[tuple[int, int]]) -> tuple[int, int]:
    """The span holding the most energy."""
    return max(spans, key=lambda s: float(np.sum(audio[s[0] : s[1]].astype(np.float64) ** 2)))


def quiet_part(audio: np.ndarray) -> np.ndarray:
    """The recording's quietest 10 ms frames (its bottom fifth by level), end to end: filler that sounds like the
    recording's own background."""
    env = envelope_db(audio)
    if len(env) == 0:
        return audio
    frames = np.flatnonzero(env <= np.percentile(env, 20))
    return np.concatenate([audio[f * FRAME : (f + 1) * FRAME] for f in frames])


def clip_around(audio: np.ndarray, start: int, end: int, quiet: np.ndarray,
                exclude: list[tuple[int, int]] = (), n: int = CLIP_SAMPLES) -> np.ndarray:
    """n samples centred on audio[start:end]. Where the window runs past the recording, and over the `exclude`
    spans (other utterances), `quiet` (repeated as needed) fills in."""
    lo = (start + end) // 2 - n // 2
    fill = np.resize(quiet, n) if len(quiet) else np.zeros(n, audio.dtype)
    clip = fill.astype(np.float32)
    a, b = max(lo, 0), min(lo + n, len(audio))
    clip[a - lo : b - lo] = audio[a:b]
    for s, e in exclude:
        s, e = max(s, lo), min(e, lo + n)
        if s < e:
            clip[s - lo : e - lo] = fill[s - lo : e - lo]
    return clip
