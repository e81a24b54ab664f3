"""`kws synth`: synthetic examples of a word from espeak-ng voices, as 1 s clips in Speech Commands layout."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import KwsError
from .clips import CLIP_SAMPLES, SAMPLE_RATE, clip_around, save_clip, segments, word_folder

# English voices and voice variants of Debian's espeak-ng 1.51 (`espeak-ng --voices=en`, `--voices=variant`)
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
            "croak", "whisper")
SPEED_WPM = (120, 220)
PITCH = (20, 80)
PEAK_DB = (-20.0, -3.0)  # clip peak level
NOISE_DB = (-70.0, -45.0)  # added white noise, RMS
MAX_WORD_S = 0.9  # longer renderings are spoken again, faster
CLIPS = 200  # `kws synth`'s clips per word
SEED = 0


def _speak(exe: str, voice: str, speed: int, pitch: int, text: str, wav: Path) -> np.ndarray:
    """espeak-ng's rendering of `text` as 16 kHz float32."""
    done = subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text],
                          capture_output=True, text=True)
    if done.returncode != 0 or not wav.exists():
        message = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise KwsError(f"espeak-ng failed on voice {voice!r} ({message}); check `espeak-ng --voices=en`")
    audio, rate = sf.read(wav, dtype="float32")
    if rate != SAMPLE_RATE:
        import soxr

        audio = soxr.resample(audio, rate, SAMPLE_RATE).astype(np.float32)
    return audio


def speaker_for(voice: str) -> str:
    """The speaker id of a synthetic voice ("en-us+m3"): sha1 of "tts:" + voice, so the split rule keeps each
    voice in one split."""
    return hashlib.sha1(f"tts:{voice}".encode()).hexdigest()[:8]


ALL_VOICES = tuple(v + (f"+{x}" if x else "") for v in VOICES for x in VARIANTS)
SYNTHETIC_SPEAKERS = frozenset(speaker_for(v) for v in ALL_VOICES)


def is_synthetic(path: Path) -> bool:
    """Whether a clip was written by `synthesize` (its speaker id is one of the voices')."""
    return Path(path).name.split("_nohash_")[0] in SYNTHETIC_SPEAKERS


def synthesize(word, out_dir, count=CLIPS, seed=SEED) -> list[Path]:
    """Make `count` 1 s clips of `word` (underscores are read as spaces) under OUT/WORD/, cycling through
    VOICES x VARIANTS in a seeded order with a random speed, pitch, level and a little white noise each.
    The same seed gives the same clips, so run again it adds none: returns the new clips' paths (a clip the folder
    already holds is not written twice)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise KwsError("espeak-ng is not installed, so no speech can be synthesized; install it "
                       "(Debian/Ubuntu: `sudo apt-get install espeak-ng`, macOS: `brew install espeak-ng`)")
    folder = word_folder(out_dir, word)
    text = word.replace("_", " ")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ALL_VOICES))
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(count):
            voice = ALL_VOICES[order[i % len(ALL_VOICES)]]
            speed, pitch = int(rng.integers(*SPEED_WPM, endpoint=True)), int(rng.integers(*PITCH, endpoint=True))
            peak_db, noise_db = rng.uniform(*PEAK_DB), rng.uniform(*NOISE_DB)
            while True:
                audio = _speak(exe, voice, speed, pitch, text, Path(tmp) / "tts.wav")
                spans = segments(audio)
                if not spans:
                    raise KwsError(f"espeak-ng says nothing for {word!r}; give a word made of letters")
                start, end = spans[0][0], spans[-1][1]
                if end - start <= MAX_WORD_S * SAMPLE_RATE:
                    break
                if speed >= 450:
                    raise KwsError(f"{word!r} takes {(end - start) / SAMPLE_RATE:.1f} s even at {speed} words per "
                                   "minute; a clip holds 1 s, so pick a shorter word")
                speed = min(450, round(speed * 1.25))
            clip = clip_around(audio, start, end, np.zeros(1, np.float32))
            clip *= 10 ** (peak_db / 20) / np.max(np.abs(clip))
            clip += 10 ** (noise_db / 20) * rng.standard_normal(CLIP_SAMPLES).astype(np.float32)
            if path := save_clip(clip, folder, speaker_for(voice)):
                written.append(path)
    return written
