"""Read audio files as 16 kHz mono float32, with a one-line error for anything that cannot be read right."""

from __future__ import annotations

import numbers
import os
import stat
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import KwsError

CONVERT_HINT = "convert it with e.g. `ffmpeg -i IN -ac 1 -ar 16000 OUT.wav`"
MIN_RATE, MAX_RATE = 1000, 768_000  # Hz; a header claiming a rate outside these is broken, not audio


def shown(path) -> str:
    """`path` as printable text: the bytes of a file name that is not UTF-8 shown as \\xNN escapes."""
    try:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    except UnicodeError:  # a lone surrogate, in a name no file system gave
        return str(path).encode("utf-8", "backslashreplace").decode()


def _chunks(f, pos: int, size: int):
    """(position, id, size) of each RIFF chunk header from `pos` to the file's end at `size`."""
    while pos + 8 <= size:
        f.seek(pos)
        chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
        yield pos, chunk_id, chunk_size
        pos += 8 + chunk_size + (chunk_size & 1)


def _check_wav_sizes(path: Path, name: str) -> list[str]:
    """libsndfile reads a truncated WAV short, and a data chunk shorter than what follows it short, without a
    word: refuse the first, note the second (a header left stale by the program that wrote the file)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return []
        size = path.stat().st_size
        for pos, chunk_id, chunk_size in _chunks(f, 12, size):
            if chunk_id != b"data":
                continue
            if chunk_size == 0xFFFFFFFF:
                return []
            if pos + 8 + chunk_size > size:
                raise KwsError(
                    f"{name}: truncated WAV (header promises {chunk_size} data bytes, the file holds "
                    f"{size - pos - 8}); re-export or re-copy the file"
                )
            after = pos + 8 + chunk_size + (chunk_size & 1)
            if all(all(32 <= c < 127 for c in i) and p + 8 + n <= size for p, i, n in _chunks(f, after, size)):
                return []  # whole RIFF chunks follow the data, as they may
            return [f"{name}: the data chunk declares {chunk_size} bytes but {size - pos - 8 - chunk_size} "
                    "more follow it (a stale header?); read the declared part only, re-export the file to read all"]
    return []


def read_audio(path, sample_rate: int) -> tuple[np.ndarray, list[str]]:
    """Read an audio file (any format soundfile reads, any rate and channel count) as mono float32.

    Parameters
    ----------
    path : str or Path
        The audio file.
    sample_rate : int
        The rate to return, in Hz (16000 for kws models); other rates (MIN_RATE to MAX_RATE) are resampled.

    Returns
    -------
    audio : numpy.ndarray
        float32 samples in [-1, 1], shape (n,).
    notes : list of str
        The conversions made (downmix, resampling, scaling), one line each.

    Raises
    ------
    KwsError
        A missing, empty, unreadable or non-finite file, no regular file (a device, pipe or /proc file), headerless
        raw audio, a header claiming a rate outside MIN_RATE to MAX_RATE: one line naming it and the fix.
    """
    if not isinstance(sample_rate, numbers.Integral) or not MIN_RATE <= sample_rate <= MAX_RATE:
        raise KwsError(f"read_audio: sample_rate is {sample_rate!r}, not a whole number of Hz from {MIN_RATE} to "
                       f"{MAX_RATE} (kws models take 16000)")
    try:
        text = os.fsdecode(path)
    except TypeError:
        raise KwsError(f"read_audio: path is {type(path).__name__}, not a file name") from None
    if not text:
        raise KwsError("no file name given; name a .wav or .flac file")
    path, name = Path(text), shown(text)
    try:
        info = path.stat()
        if stat.S_ISREG(info.st_mode) and info.st_size == 0:  # empty, or a /proc file: 0 bytes that hold some
            with open(path, "rb") as f:
                if not f.read(1):
                    raise KwsError(f"{name}: empty file (0 bytes); record or copy it again")
    except FileNotFoundError:
        raise KwsError(f"{name}: no such file; check the path") from None
    except (OSError, ValueError) as e:  # a name too long or holding a NUL byte, a folder without permission
        raise KwsError(f"{name}: cannot open ({getattr(e, 'strerror', None) or e}); check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise KwsError(f"{name}: is a folder, not an audio file; name a .wav or .flac file")
    if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
        raise KwsError(f"{name}: not a regular file (a device, pipe or /proc file); save the audio to a .wav file "
                       "and read that")
    if path.suffix.lower() == ".raw":
        raise KwsError(f"{name}: headerless raw audio (no sample rate or format); convert it to WAV, e.g. "
                       "`sox -t raw -r 16000 -e signed -b 16 -c 1 IN.raw OUT.wav`")
    try:
        notes = _check_wav_sizes(path, name)
        with sf.SoundFile(os.fsencode(path)) as f:  # bytes: soundfile encodes a str name as strict UTF-8
            rate = f.samplerate
            if not MIN_RATE <= rate <= MAX_RATE:
                raise KwsError(f"{name}: its header claims {rate} Hz, outside {MIN_RATE}-{MAX_RATE} Hz (a broken "
                               f"header?); {CONVERT_HINT}")
            audio = f.read(dtype="float32", always_2d=True)
    except OSError as e:
        raise KwsError(f"{name}: cannot read ({e.strerror or e}); check the file's permissions") from None
    except (sf.LibsndfileError, RuntimeError) as e:
        reason = str(e).split(":", 1)[-1].strip() or "unreadable"
        raise KwsError(f"{name}: cannot read as audio ({reason}); {CONVERT_HINT}") from None
    if audio.shape[0] == 0:
        raise KwsError(f"{name}: holds no samples; record or copy it again")
    bad = int(np.count_nonzero(~np.isfinite(audio)))
    if bad:
        raise KwsError(f"{name}: holds NaN or infinite samples ({bad} of {audio.size}); re-export it from the program "
                       "that made it")
    peak = float(np.max(np.abs(audio)))
    if peak > 1:
        notes.append(f"{name}: float samples up to {peak:.3g}x full scale, scaled down to full scale")
        audio /= peak
    if audio.shape[1] > 1:
        notes.append(f"{name}: {audio.shape[1]} channels, mixed down to mono")
    audio = audio.mean(axis=1, dtype=np.float32)
    if rate != sample_rate:
        import soxr

        notes.append(f"{name}: {rate} Hz, resampled to {sample_rate} Hz")
        audio = soxr.resample(audio, rate, sample_rate).astype(np.float32)
    return audio, notes


MAX_CLIP_S = 3.0  # a data clip longer than this is a recording to cut into words, not one word


def fit_clip(audio: np.ndarray, n_samples: int, path, sample_rate: int) -> np.ndarray:
    """A training/evaluation clip of exactly n_samples: a shorter one centred between zeros (a word trimmed to its
    sound, as in the Free Spoken Digit recordings, lands where the model expects words), a longer one cut to its
    loudest n_samples; recordings longer than MAX_CLIP_S are refused."""
    if len(audio) > MAX_CLIP_S * sample_rate:
        raise KwsError(
            f"{shown(path)}: {len(audio) / sample_rate:.2f} s long, but data clips hold one word (at most "
            f"{MAX_CLIP_S:g} s); cut long recordings into 1 s clips (e.g. `kws data import` or "
            "`sox IN OUT.wav trim 0 1`)"
        )
    if len(audio) > n_samples:
        energy = np.concatenate(([0.0], np.cumsum(audio.astype(np.float64) ** 2)))
        start = int(np.argmax(energy[n_samples:] - energy[:-n_samples]))
        return audio[start : start + n_samples]
    pad = n_samples - len(audio)
    return np.pad(audio, (pad // 2, pad - pad // 2))
