"""Augmentation as in the Speech Commands recipe: random time shift (a word shorter than its clip anywhere in
it), background noise mixed at a random volume, and fresh noise for `_silence_` clips; seeded, so a run is
reproducible."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    time_shift_ms: float = 100.0  # or further, as far as a clip's zero padding (a short word placed anywhere)
    background_frequency: float = 0.8  # share of word clips that get noise mixed in
    background_volume: float = 0.1  # word clips: noise volume uniform in [0, this)
    silence_volume: float = 1.0  # silence clips: noise volume uniform in [0, this)
    gain_db: float = 6.0  # word clips: random gain in [-gain_db, +gain_db], for microphones of other levels
    speed: float = 0.1  # word clips: speed (tempo and pitch) changed by a factor in [1 - speed, 1 + speed]


def _noise_segments(noises, count, n, rng) -> np.ndarray:
    out = np.zeros((count, n), np.float32)
    for i in range(count):
        noise = noises[rng.integers(len(noises))]
        start = rng.integers(max(1, len(noise) - n))
        segment = noise[start : start + n]
        out[i, : len(segment)] = segment
    return out


def _change_speed(clip: np.ndarray, factor: float) -> np.ndarray:
    """The clip played `factor` times faster (resampled), cropped or padded around its centre."""
    import soxr

    n = len(clip)
    # cubic interpolation: within 1 dB up to 4 kHz (the filterbank's top), twice as fast as soxr's "LQ"
    stretched = soxr.resample(clip, n, n / factor, quality="QQ").astype(np.float32)
    offset = (len(stretched) - n) // 2
    if offset >= 0:
        return stretched[offset : offset + n]
    out = np.zeros(n, np.float32)
    out[-offset : -offset + len(stretched)] = stretched
    return out


def _padding(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Samples of silence (below one 16-bit step) before and after each clip's sound: how far it can move."""
    sound = np.abs(audio) >= 2**-15
    some = sound.any(axis=1)
    lead = np.where(some, sound.argmax(axis=1), 0)
    trail = np.where(some, sound[:, ::-1].argmax(axis=1), 0)
    return lead, trail


def augment(audio: np.ndarray, is_silence: np.ndarray, noises: list[np.ndarray], rng: np.random.Generator,
            config: AugmentConfig, sample_rate: int) -> np.ndarray:
    """A new augmented copy of a batch of clips (N, samples); `is_silence` marks `_silence_` clips."""
    count, n = audio.shape
    if config.speed > 0:
        factors = rng.uniform(1 - config.speed, 1 + config.speed, size=count)
        audio = np.stack([a if silent else _change_speed(a, f) for a, f, silent in zip(audio, factors, is_silence)])
    out = np.zeros_like(audio)
    max_shift = int(sample_rate * config.time_shift_ms / 1000)
    lead, trail = _padding(audio)
    shifts = rng.integers(-np.maximum(max_shift, lead), np.maximum(max_shift, trail) + 1)
    for i, s in enumerate(shifts):
        if s >= 0:
            out[i, s:] = audio[i, : n - s]
        else:
            out[i, :s] = audio[i, -s:]
    out *= (10 ** (rng.uniform(-config.gain_db, config.gain_db, size=count) / 20)).astype(np.float32)[:, None]
    if noises:
        volume = np.where(rng.uniform(size=count) < config.background_frequency,
                          rng.uniform(0, config.background_volume, size=count), 0.0)
        volume = np.where(is_silence, rng.uniform(0, config.silence_volume, size=count), volume)
        out[is_silence] = 0.0
        out += _noise_segments(noises, count, n, rng) * volume[:, None].astype(np.float32)
    return np.clip(out, -1.0, 1.0)
