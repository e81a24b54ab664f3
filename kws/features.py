"""The front end: one FeatureConfig, one implementation, batch and streaming; MFCCs, or log-mel bands.

Frame k covers samples [k * hop, k * hop + window): periodic Hann window, zero-padded to n_fft, power spectrum,
Slaney mel filterbank, 10 * log10(max(mel, log_floor)); for MFCCs then an orthonormal DCT-II, first n_mfcc
coefficients, liftered (as librosa's `lifter`; the lifter is folded into the DCT table), for log-mel features
the n_mels bands themselves.
Each frame depends only on its own window, so a stream fed in chunks of any size yields exactly the frames of
the whole clip. The tables (window, filterbank, DCT) are computed here once; the firmware export writes them out.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .errors import KwsError

SAMPLE_RATE = 16000  # Hz, of every clip, stream and model input
KINDS = ("mfcc", "log-mel")  # the features a front end can make


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """The front end's settings, as a model's metadata stores them; settings that make no front end raise KwsError.

    Parameters
    ----------
    sample_rate : int
        Hz.
    window_ms, hop_ms : float
        Frame length and the step between frames.
    n_fft : int
        FFT size (frames are zero-padded to it).
    n_mels, n_mfcc : int
        Mel bands, and the cepstral coefficients kept (MFCCs only).
    n_frames : int
        Frames one inference sees (49: 1 s).
    fmin, fmax : float
        The filterbank's range, in Hz.
    log_floor : float
        Mel energies below it are clipped before the log.
    lifter : int
        Sinusoidal liftering of the coefficients (0: none; MFCCs only).
    kind : {"mfcc", "log-mel"}
        The features: n_mfcc cepstral coefficients, or the n_mels log-mel bands (no DCT).
    """

    sample_rate: int = SAMPLE_RATE
    window_ms: float = 40.0
    hop_ms: float = 20.0
    n_fft: int = 1024
    n_mels: int = 40
    n_mfcc: int = 10
    n_frames: int = 49
    fmin: float = 20.0
    fmax: float = 4000.0
    log_floor: float = 1e-6
    lifter: int = 22  # HTK sinusoidal liftering: evens out the coefficients' ranges for one int8 input scale
    kind: str = "mfcc"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise KwsError(f"feature setting kind is {self.kind!r}, not one of {', '.join(KINDS)}")
        for f in dataclasses.fields(self):
            if f.name == "kind":
                continue
            value = getattr(self, f.name)
            kind = int if f.type == "int" else (int, float)
            if isinstance(value, bool) or not isinstance(value, kind) or not np.isfinite(value) or value < 0:
                raise KwsError(f"feature setting {f.name} is {value!r}, not a {'whole ' if kind is int else ''}"
                               "number >= 0")
        if not (0 < self.hop_length <= self.window_length <= self.n_fft and 0 < self.n_mfcc <= self.n_mels
                and self.n_frames > 0 and self.fmin < self.fmax <= self.sample_rate / 2 and self.log_floor > 0):
            raise KwsError("feature settings do not make a front end (it needs 0 < hop <= window <= n_fft, "
                           "0 < n_mfcc <= n_mels, n_frames > 0, fmin < fmax <= sample_rate / 2, log_floor > 0)")

    @property
    def n_features(self) -> int:
        """Features per frame: the MFCCs kept, or the mel bands."""
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels

    @property
    def window_length(self) -> int:
        return round(self.sample_rate * self.window_ms / 1000)

    @property
    def hop_length(self) -> int:
        return round(self.sample_rate * self.hop_ms / 1000)

    @property
    def clip_samples(self) -> int:
        """Samples one inference sees: n_frames windows, hop apart (16,000 = 1 s for the defaults)."""
        return self.window_length + self.hop_length * (self.n_frames - 1)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise KwsError(f"feature settings have unknown keys {sorted(unknown)}; the model was made by a newer kws, upgrade kws")
        return cls(**d)


CLIP_SAMPLES = FeatureConfig().clip_samples  # one word clip, one model window: 1 s


def _hz_to_mel(f):
    """Slaney's mel scale (linear below 1 kHz, logarithmic above), as librosa's default."""
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    lin = f / f_sp
    log = min_log_hz / f_sp + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep
    return np.where(f >= min_log_hz, log, lin)


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@dataclasses.dataclass(frozen=True)
class Tables:
    window: np.ndarray  # (window_length,)
    mel: np.ndarray  # (n_mels, n_fft // 2 + 1), Slaney-normalised triangles
    dct: np.ndarray | None  # (n_mfcc, n_mels), orthonormal DCT-II rows times the lifter; None for log-mel

    @functools.cached_property
    def bins(self) -> int:
        """FFT bins the filterbank reads: those up to its last nonzero column (fmax)."""
        return int(np.flatnonzero(self.mel.any(axis=0))[-1]) + 1

    @functools.cached_property
    def mel_used(self) -> np.ndarray:
        """The filterbank's nonzero columns, transposed (frames_to_mfcc's product)."""
        return np.ascontiguousarray(self.mel[:, : self.bins].T)


@functools.lru_cache(maxsize=8)
def tables(config: FeatureConfig) -> Tables:
    """The front end's constant tables, computed once per config (the firmware export writes these)."""
    n = config.window_length
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)  # periodic Hann

    fft_freqs = np.arange(config.n_fft // 2 + 1) * config.sample_rate / config.n_fft
    edges = _mel_to_hz(np.linspace(_hz_to_mel(config.fmin), _hz_to_mel(config.fmax), config.n_mels + 2))
    lower = (fft_freqs[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    upper = (edges[2:, None] - fft_freqs[None, :]) / np.diff(edges)[1:, None]
    mel = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]

    dct = None
    if config.kind == "mfcc":
        k = np.arange(config.n_mfcc)[:, None]
        i = np.arange(config.n_mels)[None, :]
        dct = np.sqrt(2.0 / config.n_mels) * np.cos(np.pi * k * (2 * i + 1) / (2 * config.n_mels))
        dct[0] /= np.sqrt(2.0)
        if config.lifter > 0:
            dct *= 1 + (config.lifter / 2) * np.sin(np.pi * (k + 1) / config.lifter)
        dct.setflags(write=False)
    for a in (window, mel):
        a.setflags(write=False)
    return Tables(window, mel, dct)


def frames_to_mfcc(frames: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Features of raw frames (..., window_length) -> (..., n_features), float32."""
    t = tables(config)
    spectrum = np.fft.rfft(frames * t.window, n=config.n_fft)[..., : t.bins]  # float64: numpy's faster FFT
    power = spectrum.real**2 + spectrum.imag**2
    log_mel = 10.0 * np.log10(np.maximum(power @ t.mel_used, config.log_floor))
    return (log_mel if t.dct is None else log_mel @ t.dct.T).astype(np.float32)


def num_frames(n_samples: int, config: FeatureConfig) -> int:
    if n_samples < config.window_length:
        return 0
    return 1 + (n_samples - config.window_length) // config.hop_length


BLOCK_FRAMES = 2048  # frames transformed at a time: a long recording's spectra never all sit in memory


def mfcc(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Features (MFCCs or log-mel bands, as `config.kind` says) of a whole clip (or a batch of clips, shape
    (..., samples)) -> (..., frames, n_features)."""
    audio = np.asarray(audio, dtype=np.float32)
    n = num_frames(audio.shape[-1], config)
    if n == 0:
        return np.zeros(audio.shape[:-1] + (0, config.n_features), np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(audio, config.window_length, axis=-1)
    frames = windows[..., : n * config.hop_length : config.hop_length, :]
    return np.concatenate([frames_to_mfcc(frames[..., i : i + BLOCK_FRAMES, :], config)
                           for i in range(0, n, BLOCK_FRAMES)], axis=-2)


class StreamingMfcc:
    """Feed audio in chunks of any size; get each new frame as soon as its window is complete."""

    def __init__(self, config: FeatureConfig):
        self.config = config
        self._pending = np.zeros(0, np.float32)

    def reset(self) -> None:
        self._pending = np.zeros(0, np.float32)

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Append samples; return the frames (k, n_features) whose windows they completed (k may be 0)."""
        buf = np.concatenate([self._pending, np.asarray(chunk, np.float32).reshape(-1)])
        frames = mfcc(buf, self.config)
        self._pending = buf[len(frames) * self.config.hop_length :]
        return frames
