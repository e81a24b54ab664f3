"""Offline text-to-speech engines for `kws synth`: the English voices each one knows, which of them are installed,
and one rendering of a text at a given speed and pitch, as 16 kHz float32."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import KwsError
from .clips import SAMPLE_RATE

WPM = 175  # espeak-ng's default speed, words per minute: the other engines' duration stretch is WPM / speed
ESPEAK_OCTAVE = 75  # espeak-ng's pitch (0-99, 50 the voice's own) rises this much per octave (measured, 20-80)


@dataclasses.dataclass(frozen=True)
class Voice:
    engine: str  # an ENGINES key
    name: str  # as the engine names it: "en-us+m3", "slt", "kal_diphone"

    @property
    def key(self) -> str:
        """The espeak-ng voice, or "ENGINE:VOICE" for the other engines."""
        return self.name if self.engine == "espeak-ng" else f"{self.engine}:{self.name}"

    @property
    def speaker(self) -> str:
        """The voice's speaker id: sha1 of "tts:" + key, so the split rule keeps each voice in one split."""
        return hashlib.sha1(f"tts:{self.key}".encode()).hexdigest()[:8]


def _run(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True)


# English voices and voice variants of Debian's espeak-ng 1.51 (`espeak-ng --voices=en`, `--voices=variant`)
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
                  "en-us-nyc")
ESPEAK_VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2",
                   "klatt3", "croak", "whisper")


class Espeak:
    """espeak-ng: every accent with every variant, one formant synthesizer (they sound alike more than their
    number says)."""

    name, exe, packages = "espeak-ng", "espeak-ng", "espeak-ng"
    voices = tuple(a + (f"+{v}" if v else "") for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS)

    def installed(self) -> tuple[str, ...]:
        return self.voices if shutil.which(self.exe) else ()

    def command(self, voice: str, text: str, wpm: float, f0: float, wav: Path):
        pitch = min(99, max(0, round(50 + ESPEAK_OCTAVE * np.log2(f0))))
        return [self.exe, "-v", voice, "-s", str(round(wpm)), "-p", str(pitch), "-w", str(wav), text], None


class Flite:
    """flite's built-in voices: kal (8 kHz) and kal16 (diphone), awb, rms and slt (clustergen; rms keeps its
    pitch). Speed by `duration_stretch`, pitch by `f0_shift`."""

    name, exe, packages = "flite", "flite", "flite"
    voices = ("kal", "kal16", "awb", "rms", "slt")

    def installed(self) -> tuple[str, ...]:
        if not shutil.which(self.exe):
            return ()
        listed = re.search(r"Voices available:(.*)", _run([self.exe, "-lv"]).stdout)
        return tuple(v for v in self.voices if listed and v in listed.group(1).split())

    def command(self, voice: str, text: str, wpm: float, f0: float, wav: Path):
        return [self.exe, "-voice", voice, "--setf", f"duration_stretch={WPM / wpm:.3f}",
                "--setf", f"f0_shift={f0:.3f}", "-t", text, "-o", str(wav)], None


class Festival:
    """festival's English voices in Debian: kal and ked (diphone; speed by Duration_Stretch, pitch by the
    intonation model's target mean) and slt (HTS; speed only, by the HTS engine's rate)."""

    name, exe, packages = "festival", "text2wave", "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"
    voices = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")

    def installed(self) -> tuple[str, ...]:
        if not (shutil.which(self.exe) and shutil.which("festival")):
            return ()
        listed = _run(["festival", "-b", "(print (voice.list))"]).stdout.strip("()\n \t").split()
        return tuple(v for v in self.voices if v in listed)

    def command(self, voice: str, text: str, wpm: float, f0: float, wav: Path):
        if voice.endswith("_hts"):
            setting = [f"(set! hts_engine_params (append hts_engine_params (list (list \"-r\" {wpm / WPM:.3f}))))"]
        else:
            setting = [f"(Parameter.set 'Duration_Stretch {WPM / wpm:.3f})",
                       f"(set! int_lr_params (cons (list 'target_f0_mean (* {f0:.3f} "
                       "(cadr (assoc 'target_f0_mean int_lr_params)))) int_lr_params))"]
        evals = [a for expr in [f"(voice_{voice})", *setting] for a in ("-eval", expr)]
        return [self.exe, *evals, "-o", str(wav)], text


ENGINES = {e.name: e for e in (Espeak(), Flite(), Festival())}
ALL_VOICES = tuple(Voice(e.name, v) for e in ENGINES.values() for v in e.voices)


@functools.cache
def installed(engine: str) -> tuple[Voice, ...]:
    """The voices of `engine` installed on this machine (asked once per process)."""
    return tuple(Voice(engine, v) for v in ENGINES[engine].installed())


def render(voice: Voice, text: str, wpm: float, f0: float, wav: Path) -> np.ndarray:
    """`voice` saying `text` at `wpm` words per minute with its pitch times `f0` (rms and the HTS voice keep
    theirs), as 16 kHz float32."""
    engine = ENGINES[voice.engine]
    wav.unlink(missing_ok=True)
    argv, stdin = engine.command(voice.name, text, wpm, f0, wav)
    done = _run(argv, stdin)
    if done.returncode != 0 or not wav.exists():
        message = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise KwsError(f"{engine.name} failed on voice {voice.name!r} ({message}); `kws synth --list-voices` shows "
                       f"the installed voices, `--engine` picks engines")
    audio, rate = sf.read(wav, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        import soxr

        audio = soxr.resample(audio, rate, SAMPLE_RATE).astype(np.float32)
    return audio
