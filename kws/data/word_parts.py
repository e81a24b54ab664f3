"""Negatives cut from your own takes: the start and the end of each recorded wake word, each alone in a 1 s clip.
Words that share a sound with yours ("nine" the vowel of "five", "three" the "t" of "two") fire when the model
has learnt "this voice and that sound"; these clips, in your voice, teach it that part of the word is not the word."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from ..audio import read_audio
from ..features import SAMPLE_RATE
from .clips import clip_around, loudest, quiet_part, segments

KEEP = 0.6  # each part keeps this share of the word: the start loses the word's end, the end loses its start
SPLIT_LISTS = ("validation_list.txt", "testing_list.txt")


def write_word_parts(takes, word: str, out_dir) -> Path:
    """OUT/<word>_parts/<take>_start.wav and <take>_end.wav for each take in which a word is found; empty split
    lists make them all training clips (of `_unknown_`: the folder is not a target word). Returns OUT."""
    out = Path(out_dir)
    folder = out / f"{word}_parts"
    folder.mkdir(parents=True, exist_ok=True)
    for name in SPLIT_LISTS:
        (out / name).write_text("")
    for take in takes:
        audio = read_audio(take, SAMPLE_RATE)[0]
        spans = segments(audio)
        if not spans:
            continue
        start, end = loudest(audio, spans)
        keep, quiet = round(KEEP * (end - start)), quiet_part(audio)
        for tag, part in (("start", audio[start : start + keep]), ("end", audio[end - keep : end])):
            clip = clip_around(part, 0, len(part), quiet)
            sf.write(folder / f"{Path(take).stem}_{tag}.wav", clip, SAMPLE_RATE, subtype="PCM_16")
    return out
