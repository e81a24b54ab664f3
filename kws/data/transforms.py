"""Voice transforms for `kws synth --transform`: `tract`, new speakers from every voice with a shorter or longer
vocal tract (formants scaled); `room`, each clip heard in a simulated room (pyroomacoustics); and for recorded
takes, `change_voice` and `in_voice`: formants and pitch moved by Praat's "Change gender" (parselmouth)."""

from __future__ import annotations

import hashlib

import numpy as np

from ..errors import KwsError
from .clips import SAMPLE_RATE
from .voices import Voice

TRANSFORMS = ("tract", "room")
TRACT = (0.84, 0.92, 1.09, 1.19)  # formant scale factors: each one a new speaker of every voice
ROOMS = 16  # simulated rooms per `synthesize` call, drawn from its seed
ROOM_SIZE_M = ((3.0, 3.0, 2.4), (8.0, 6.0, 3.5))  # shoebox length, width, height: smallest, largest
RT60_S = (0.15, 0.6)  # reverberation time of the rooms: a furnished home to a bare one
PITCH_HZ = (75.0, 400.0)  # `change_voice`'s pitch median stays within human voices' (and Praat's default range)
VOICE_FORMANTS = (0.8, 1.25)  # `in_voice` moves formants at most this far (as measured: docs/custom_words.md)


def tract_speaker(voice: Voice, factor: float) -> str:
    """The speaker id of `voice` with formants scaled by `factor`: its own at 1, else sha1 of "tts:KEY|tractF"."""
    if factor == 1:
        return voice.speaker
    return hashlib.sha1(f"tts:{voice.key}|tract{factor:g}".encode()).hexdigest()[:8]


def scale_formants(audio: np.ndarray, factor: float) -> np.ndarray:
    """`audio` played `factor` times faster: every frequency times `factor`, the duration divided by it. Rendered
    `factor` times slower with its pitch divided by `factor`, a voice keeps its speed and pitch and only its
    formants move, as with a vocal tract 1 / `factor` as long (flite's rms and festival's HTS voice, whose pitch
    is their own, move theirs too)."""
    import soxr

    return soxr.resample(audio, SAMPLE_RATE, SAMPLE_RATE / factor).astype(np.float32)


def room_responses(rng: np.random.Generator, count: int = ROOMS) -> list[np.ndarray]:
    """Impulse responses of `count` shoebox rooms (image source method), each with a random size, reverberation
    time, source and microphone position, normalised to a unit direct path."""
    try:
        import pyroomacoustics as pra
    except ImportError:
        raise KwsError("--transform room needs pyroomacoustics; install it (`pip install pyroomacoustics`, "
                       "or `pip install -e .[train]`)") from None
    responses = []
    for _ in range(count):
        size = rng.uniform(*ROOM_SIZE_M)
        absorption, max_order = pra.inverse_sabine(rng.uniform(*RT60_S), size)
        room = pra.ShoeBox(size, fs=SAMPLE_RATE, materials=pra.Material(absorption), max_order=max_order)
        room.add_source(rng.uniform(0.5, size - 0.5))
        room.add_microphone(rng.uniform(0.5, size - 0.5))
        room.compute_rir()
        rir = np.asarray(room.rir[0][0], np.float32)
        responses.append(rir / np.max(np.abs(rir)))
    return responses


def reverberate(clip: np.ndarray, response: np.ndarray) -> np.ndarray:
    """`clip` convolved with a room's impulse response, its direct sound where it was, the same length."""
    n = len(clip) + len(response) - 1
    wet = np.fft.irfft(np.fft.rfft(clip, n) * np.fft.rfft(response, n), n)
    delay = int(np.argmax(np.abs(response)))
    return wet[delay : delay + len(clip)].astype(np.float32)


def other_voices(audio: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """`count` versions of a recorded take as other speakers would say it (`change_voice`): formants cycling
    through TRACT's factors, the pitch moved with them (x factor^3, +-10 %: a shorter vocal tract, a higher voice)."""
    factors = [TRACT[i % len(TRACT)] for i in range(count)]
    return [change_voice(audio, f, f**3 * rng.uniform(0.9, 1.1)) for f in factors]


def change_voice(audio: np.ndarray, formants: float, pitch: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A recorded take as another speaker would say it: formants times `formants` and the pitch median times
    `pitch`, duration kept (Praat's "Change gender": resampling, then PSOLA back to the original pitch contour,
    shifted). A take with no voiced frame keeps its pitch."""
    sound = _sound(audio, sample_rate)
    median = _median_pitch(sound)
    target = 0.0 if np.isnan(median) else float(np.clip(median * pitch, *PITCH_HZ))
    return _change_gender(sound, formants, target)


def median_pitch(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """The median pitch of a take's voiced frames in Hz (NaN where none is voiced)."""
    return _median_pitch(_sound(audio, sample_rate))


def in_voice(audio: np.ndarray, pitch_hz: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray | None:
    """A recorded take as a speaker of median pitch `pitch_hz` would say it: its pitch median moved there, its formants
    by the cube root of that ratio (as `other_voices` pairs them; within VOICE_FORMANTS), duration kept. None for a
    take with no voiced frame."""
    sound = _sound(audio, sample_rate)
    median = _median_pitch(sound)
    if np.isnan(median):
        return None
    target = float(np.clip(pitch_hz, *PITCH_HZ))
    return _change_gender(sound, float(np.clip((target / median) ** (1 / 3), *VOICE_FORMANTS)), target)


def _sound(audio: np.ndarray, sample_rate: int):
    try:
        import parselmouth
    except ImportError:
        raise KwsError("voices made from recorded takes need praat-parselmouth; install it (`pip install "
                       "praat-parselmouth`, or `pip install -e .[train]`)") from None
    return parselmouth.Sound(np.asarray(audio, np.float64), sampling_frequency=sample_rate)


def _median_pitch(sound) -> float:
    from parselmouth.praat import call

    return call(sound.to_pitch(), "Get quantile", 0, 0, 0.5, "Hertz")


def _change_gender(sound, formants: float, pitch_hz: float) -> np.ndarray:
    """Praat's "Change gender" of `sound`: formants times `formants`, pitch median `pitch_hz` (0: kept). Its PSOLA
    draws random pulses in voiceless stretches; a fixed seed makes the result a function of its arguments."""
    from parselmouth.praat import call, run

    run("random_initializeWithSeedUnsafelyButPredictably (1)")
    return np.asarray(call(sound, "Change gender", 75, 600, formants, pitch_hz, 1.0, 1.0).values[0], np.float32)
