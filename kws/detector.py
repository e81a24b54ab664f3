"""The streaming detector: front end -> int8 model -> posterior smoothing -> threshold -> suppression.

Live listening and file detection both feed it audio chunks of any size, so a recording and the same audio from
a microphone give the same detections. Its defaults come from the model's metadata."""

from __future__ import annotations

import dataclasses
import numbers
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .errors import KwsError
from .features import StreamingMfcc
from .labels import is_keyword
from .metadata import DetectorSettings

if TYPE_CHECKING:
    from .runtime import Model


PCM_SCALE = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}  # integer PCM to [-1, 1)
MAX_PEAK = 16.0  # float samples beyond it (24 dB over full scale) are integer PCM values, not float audio


def _as_samples(audio, what: str) -> np.ndarray:
    """`audio` as float32 mono samples: float arrays as they are, int16 and int32 PCM scaled to [-1, 1), a
    (samples, channels) array mixed down to mono as `read_audio` does; a one-line KwsError naming `what` for
    anything else, non-finite samples, or floats beyond +-MAX_PEAK."""
    x = audio
    if not (isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 1):  # the live path: no copy
        try:
            x = np.asarray(audio)
        except (TypeError, ValueError):  # a ragged list
            x = None
        if x is None or (x.dtype.kind != "f" and x.dtype not in PCM_SCALE):
            kind = type(audio).__name__ if x is None or x.ndim == 0 else x.dtype
            raise KwsError(f"{what} is {kind}, not audio samples; pass a float32 array in [-1, 1], or int16 or "
                           "int32 PCM")
        if x.ndim not in (1, 2):
            raise KwsError(f"{what} has shape {x.shape}; pass samples (n,), or (samples, channels)")
        if x.ndim == 2 and not 1 <= x.shape[1] <= max(x.shape[0], 1):  # no channels, or more than samples
            raise KwsError(f"{what} has shape {x.shape}, not (samples, channels) as soundfile and sounddevice give "
                           "them; pass audio.T for channels first")
    if x.dtype in PCM_SCALE:
        x = x / PCM_SCALE[x.dtype]
    elif x.size and not (x.max() <= MAX_PEAK and x.min() >= -MAX_PEAK):
        raise KwsError(f"{what} holds NaN or infinite samples; replace them (e.g. numpy.nan_to_num)"
                       if not np.isfinite(x).all() else
                       f"{what} holds float samples up to {np.abs(x).max():.3g}; float audio is in [-1, 1] (int16 "
                       "values? pass the int16 array, or divide by 32768)")
    x = x.astype(np.float32, copy=False)
    return x.mean(axis=1, dtype=np.float32) if x.ndim == 2 else x


@dataclasses.dataclass(frozen=True)
class Detection:
    """One detection.

    Attributes
    ----------
    label : str
        The keyword.
    time_s : float
        When it fired, seconds from the start of the audio.
    score : float
        Its smoothed posterior (at least the threshold).
    """

    label: str
    time_s: float
    score: float

    def to_dict(self) -> dict:
        return {"label": self.label, "time_s": round(self.time_s, 3), "score": round(self.score, 4)}


class Decider:
    """Threshold and suppression over smoothed posteriors: fires when a keyword is the best label with a score at
    or above the threshold, once per run of such inferences (a word still in view does not fire again when the
    suppression window ends) and at most once per suppression window."""

    # It decides from the first inference on, with no minimum count of results as micro_speech's RecognizeCommands
    # has: that average is over a time window whose count of results varies with the device's timing, this one over
    # a fixed count, so a minimum would change only a stream's first 0.5 s (measured: the same hits and false
    # accepts on the 60- and 120-minute eval-streams) and would silence `kws detect` on a 1 s clip, scored by one
    # inference (0 of 1,819 validation keyword clips found with a minimum of 3, against 1,577; measured by
    # benchmarks/decider_min_count.py). The firmware's Decider is the same.

    def __init__(self, labels, settings: DetectorSettings):
        self.labels = tuple(labels)
        self.settings = settings
        self._keywords = np.array([is_keyword(label) for label in self.labels])
        self._last_fire = -np.inf
        self._armed = True

    def step(self, time_s: float, posteriors: np.ndarray) -> Detection | None:
        best = int(np.argmax(posteriors))
        score = float(posteriors[best])
        above = bool(self._keywords[best]) and score >= self.settings.threshold
        if not above:
            self._armed = True
        elif self._armed and (time_s - self._last_fire) * 1000 >= self.settings.suppression_ms:
            self._last_fire, self._armed = time_s, False
            return Detection(self.labels[best], time_s, score)
        return None


class Calls(NamedTuple):
    """When the Detector (and the sketch's, kws_detector.cpp) calls a model, in front-end frames heard: `stride`
    between calls; `first` at the first call (a window model waits for its window, a streaming model is called from
    the first stride on); `ready` when an output first answers for a whole window (a streaming model's, after frame
    t, for the window that ends at t + 1)."""

    stride: int
    first: int
    ready: int


def model_calls(model: Model, settings: DetectorSettings | None = None) -> Calls:
    """When `model` is called at `settings`' stride (default: the model's)."""
    settings = settings or DetectorSettings.from_metadata(model.metadata)
    stride, n = settings.stride_frames(model.config.hop_ms), model.config.n_frames
    if model.streaming:
        return Calls(stride, stride, n - 1)
    return Calls(stride, -(-n // stride) * stride, n)


class Detector:
    """The streaming detector: feed audio chunks of any size, get the detections they complete.

    Parameters
    ----------
    model : Model
        The model to run.
    settings : DetectorSettings, optional
        Threshold, smoothing, suppression and stride (default: the model's metadata); anything else, or a streaming
        model at another stride than its own, raises KwsError.
    on_posteriors : callable, optional
        Called with (time_s, smoothed posteriors) after every inference that answers for a whole window.

    Attributes
    ----------
    posteriors : numpy.ndarray
        The latest smoothed posteriors, one per label.
    time_s : float
        End of the audio consumed so far.
    """

    def __init__(self, model: Model, settings: DetectorSettings | None = None, on_posteriors=None):
        self.model = model
        self.on_posteriors = on_posteriors  # called with (time_s, smoothed posteriors) after every inference
        if settings is not None and not isinstance(settings, DetectorSettings):
            raise KwsError(f"Detector settings is {type(settings).__name__}, not a DetectorSettings; use e.g. "
                           "kws.DetectorSettings.from_metadata(model.metadata, threshold=0.7)")
        self.settings = settings or DetectorSettings.from_metadata(model.metadata)
        self.frontend = StreamingMfcc(model.config)
        self._calls = model_calls(model, self.settings)
        self._stride = self._calls.stride
        self._smooth = self.settings.smooth_inferences(model.config.hop_ms)
        if model.streaming and self._stride != model.input_frames:
            hop_ms = model.config.hop_ms
            raise KwsError(f"{model.path}: a streaming model runs every {model.input_frames * hop_ms:g} ms, the "
                           f"stride it was exported for, not every {self._stride * hop_ms:g} ms; leave stride_ms at "
                           "the model's")
        self.reset()

    def reset(self) -> None:
        config = self.model.config
        self.frontend.reset()
        self._window = np.zeros((config.n_frames, config.n_features), np.float32)
        self._frames = self._samples = self._inferred_at = 0
        self._history: list[np.ndarray] = []
        self._decider = Decider(self.model.labels, self.settings)
        self._runner = self.model.stream() if self.model.streaming else self.model  # a stream's past is its own
        self.posteriors = np.zeros(len(self.model.labels), np.float32)

    @property
    def time_s(self) -> float:
        """End of the audio consumed so far, at frame resolution."""
        c = self.model.config
        return (c.window_length + (self._frames - 1) * c.hop_length) / c.sample_rate if self._frames else 0.0

    def push(self, chunk: np.ndarray) -> list[Detection]:
        """The detections `chunk` (samples at the model's rate, any length) completed, in order.

        float32 (or float64) samples in [-1, 1]; int16 and int32 PCM (e.g. sounddevice's dtype="int16" blocks) are
        scaled to that (/ 32768, / 2147483648), and (samples, channels) arrays mixed down to mono. Anything else,
        NaN or infinite samples, and floats beyond +-16 (int16 values as floats) raise `KwsError`."""
        chunk = _as_samples(chunk, "Detector.push: chunk")
        self._samples += len(chunk)
        found = []
        for frame in self.frontend.push(chunk):
            self._window = np.roll(self._window, -1, axis=0)
            self._window[-1] = frame
            self._frames += 1
            if self._frames >= self._calls.first and self._frames % self._stride == 0:
                found.append(self._infer())
        return [d for d in found if d is not None]

    def flush(self) -> list[Detection]:
        """End of a finite input (a file, not a live stream): zero-pad to complete the frame holding the last
        sample and at least one window (a short clip is padded to 1 s, as in training), then run the model on
        the last window unless the stride just did (a streaming model: on to the stride whose output answers for
        the last frame). Detections are timed at most at the input's end."""
        c = self.model.config
        if self._samples == 0:
            return []
        end = self._samples / c.sample_rate
        frames = max(c.n_frames, 1 + -(-max(0, self._samples - c.window_length) // c.hop_length))
        if self.model.streaming:
            frames = max(frames, -(-(frames - 1) // self._stride) * self._stride)
        found = self.push(np.zeros(c.window_length + (frames - 1) * c.hop_length - self._samples, np.float32))
        if not self.model.streaming and self._inferred_at != self._frames:
            found += [d for d in [self._infer()] if d is not None]
        return [dataclasses.replace(d, time_s=min(d.time_s, end)) for d in found]

    def _infer(self) -> Detection | None:
        self._inferred_at = self._frames
        scores = self._runner.predict_newest(self._window)
        if self._frames < self._calls.ready:  # a streaming model's window began before the stream
            return None
        self._history = (self._history + [scores])[-self._smooth :]
        self.posteriors = np.mean(self._history, axis=0)
        if self.on_posteriors is not None:
            self.on_posteriors(self.time_s, self.posteriors)
        return self._decider.step(self.time_s, self.posteriors)


def detect_audio(model: Model, audio: np.ndarray, settings: DetectorSettings | None = None,
                 chunk: int = 1600) -> list[Detection]:
    """Detections in a whole recording.

    Parameters
    ----------
    model : Model
        The model to run.
    audio : numpy.ndarray
        Samples at the model's rate (`read_audio(path, model.config.sample_rate)[0]`), as `Detector.push` takes
        them: float in [-1, 1], or int16 or int32 PCM; (samples, channels) is mixed down to mono.
    settings : DetectorSettings, optional
        Default: the model's metadata.
    chunk : int
        Samples fed at a time, at least 1; the result does not depend on it.

    Returns
    -------
    list of Detection
        In time order; the end is padded to complete the last window (a 1 s clip is scored as a whole).

    Raises
    ------
    KwsError
        Audio that is not samples (or NaN, infinite, beyond +-16), settings that are not DetectorSettings, a chunk
        that is not a positive whole number.
    """
    if not isinstance(chunk, numbers.Integral) or isinstance(chunk, bool) or chunk < 1:
        raise KwsError(f"detect_audio: chunk is {chunk!r}, not a positive whole number of samples")
    audio = _as_samples(audio, "detect_audio: audio")
    detector = Detector(model, settings)
    return [d for i in range(0, len(audio), chunk) for d in detector.push(audio[i : i + chunk])] + detector.flush()
