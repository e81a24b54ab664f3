"""`kws synth`: synthetic examples of a word from every installed text-to-speech engine's voices (voices.py), as
1 s clips in Speech Commands layout, one speaker id per voice (and per voice transformed, transforms.py)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import KwsError
from .clips import CLIP_SAMPLES, SAMPLE_RATE, clip_around, save_clip, segments, speaker_of, word_folder
from .transforms import TRACT, TRANSFORMS, reverberate, room_responses, scale_formants, tract_speaker
from .voices import ALL_VOICES, ENGINES, ESPEAK_OCTAVE, Voice, installed, render

SPEED_WPM = (120, 220)
PITCH = (20, 80)  # espeak-ng's scale, 50 the voice's own: its F0 times 0.76-1.32
PEAK_DB = (-20.0, -3.0)  # clip peak level
NOISE_DB = (-70.0, -45.0)  # added white noise, RMS
MAX_WORD_S = 0.9  # longer renderings are spoken again, faster
CLIPS = 200  # `kws synth`'s clips per word
SEED = 0
# The engines used unless others are asked for: with flite's and festival's voices beside espeak-ng's (a third of
# the clips each), a many-speaker "eight" was found less often within 1 false accept per hour (50.8 and 56.0 %
# against 72.2 %), and beside other voices of the recorded takes no more often ("happy", "cat", "eight";
# docs/custom_words.md); they stay one `--engine` away.
DEFAULT_ENGINES = ("espeak-ng",)

# every synthetic speaker id (a voice, or a voice transformed) -> its voice's: one voice's clips share a split
VOICE_OF = {tract_speaker(v, f): v.speaker for v in ALL_VOICES for f in (1, *TRACT)}
SYNTHETIC_SPEAKERS = frozenset(VOICE_OF)


def is_synthetic(path: Path) -> bool:
    """Whether a clip was written by `synthesize` (its speaker id is one of the voices')."""
    return speaker_of(path) in SYNTHETIC_SPEAKERS


def available_voices(engines=None) -> list[Voice]:
    """The installed voices of `engines` (default: DEFAULT_ENGINES), engine by engine. An engine that is not installed is skipped
    with a note on stderr when another is; none installed is an error naming the packages."""
    names = list(dict.fromkeys(engines or DEFAULT_ENGINES))
    if unknown := [n for n in names if n not in ENGINES]:
        raise KwsError(f"unknown engine {unknown[0]!r}; pick one of {', '.join(ENGINES)}")
    voices = [v for name in names for v in installed(name)]
    missing = [name for name in names if not installed(name)]
    if not voices:
        packages = " ".join(ENGINES[n].packages for n in names)
        raise KwsError(f"no speech synthesizer is installed ({', '.join(names)}), so no speech can be synthesized; "
                       f"install {'it' if len(names) == 1 else 'them'} (Debian/Ubuntu: `sudo apt-get install "
                       f"{packages}`, macOS: `brew install espeak-ng`)")
    for name in missing:
        print(f"note: {name} is not installed, so its voices are skipped (`sudo apt-get install "
              f"{ENGINES[name].packages}` adds them)", file=sys.stderr)
    return voices


def synthesize(word, out_dir, count=CLIPS, seed=SEED, engines=None, transforms=()) -> list[Path]:
    """Make `count` 1 s clips of `word` (underscores are read as spaces) under OUT/WORD/ from the installed voices of
    `engines` (default: DEFAULT_ENGINES): engine by engine in turn, each engine's voices in a seeded order, so every engine
    gives an equal share (espeak-ng's 144 voices are one synthesizer), each clip with a random speed, pitch, level
    and a little white noise. `transforms` (TRANSFORMS): "tract" gives each clip one of TRACT's formant factors or
    none, a speaker of its own; "room" puts each clip in one of ROOMS simulated rooms (its voice's speaker id).
    The same seed, engines and transforms give the same clips, so run again it adds none: returns the new clips'
    paths (a clip the folder already holds is not written twice)."""
    if unknown := set(transforms) - set(TRANSFORMS):
        raise KwsError(f"unknown transform {sorted(unknown)[0]!r}; pick from {', '.join(TRANSFORMS)}")
    voices = available_voices(engines)
    folder = word_folder(out_dir, word)
    rooms = room_responses(np.random.default_rng([seed, 1])) if "room" in transforms else None
    text = word.replace("_", " ")
    rng = np.random.default_rng(seed)
    by_engine = [[v for v in voices if v.engine == e] for e in dict.fromkeys(v.engine for v in voices)]
    orders = [[group[i] for i in rng.permutation(len(group))] for group in by_engine]
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(count):
            order = orders[i % len(orders)]
            voice = order[i // len(orders) % len(order)]
            speed, pitch = int(rng.integers(*SPEED_WPM, endpoint=True)), int(rng.integers(*PITCH, endpoint=True))
            peak_db, noise_db = rng.uniform(*PEAK_DB), rng.uniform(*NOISE_DB)
            tract = (1, *TRACT)[rng.integers(len(TRACT) + 1)] if "tract" in transforms else 1
            room = rooms[rng.integers(len(rooms))] if rooms else None
            f0 = 2 ** ((pitch - 50) / ESPEAK_OCTAVE) / tract  # the formant scaling below brings it back
            while True:
                audio = render(voice, text, speed / tract, f0, Path(tmp) / "tts.wav")
                if tract != 1:
                    audio = scale_formants(audio, tract)
                spans = segments(audio)
                if not spans:
                    raise KwsError(f"{voice.engine} says nothing for {word!r}; give a word made of letters")
                start, end = spans[0][0], spans[-1][1]
                if end - start <= MAX_WORD_S * SAMPLE_RATE:
                    break
                if speed >= 450:
                    raise KwsError(f"{word!r} takes {(end - start) / SAMPLE_RATE:.1f} s even at {speed} words per "
                                   "minute; a clip holds 1 s, so pick a shorter word")
                speed = min(450, round(speed * 1.25))
            clip = clip_around(audio, start, end, np.zeros(1, np.float32))
            if room is not None:
                clip = reverberate(clip, room)
            clip *= 10 ** (peak_db / 20) / np.max(np.abs(clip))
            clip += 10 ** (noise_db / 20) * rng.standard_normal(CLIP_SAMPLES).astype(np.float32)
            if path := save_clip(clip, folder, tract_speaker(voice, tract)):
                written.append(path)
    return written


def voice_table() -> str:
    """`kws synth --list-voices`: every voice each engine knows, its speaker id and whether it is installed."""
    rows = [("engine", "voice", "speaker", "installed")]
    for v in ALL_VOICES:
        missing = f"no (apt-get install {ENGINES[v.engine].packages})"
        rows.append((v.engine, v.name, v.speaker, "yes" if v in installed(v.engine) else missing))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(f"{c:<{w}}" for c, w in zip(r, widths)) + "  " + r[3] for r in rows]
    found = sum(r[3] == "yes" for r in rows[1:])
    return "\n".join(lines + [f"{found} of {len(ALL_VOICES)} voices installed"])
