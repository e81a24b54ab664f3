"""Synthetic other words (espeak-ng) as extra negatives for the 12-class model: the 25 non-keyword words of
Speech Commands, each in its own folder beside the recordings of that word (which keep at least half of its
weight), and common English words, some close to the keywords, together in one folder `espeak_other/` (one word
of `_unknown_`). Only voices of the training split are kept, so validation stays real speech.

    python data_scripts/synth_other_words.py --out data/other_words [--per-word 60] [--per-common-word 12]
    kws train --data ../shared/data/speech_commands --data ../shared/data/free_spoken_digit --data data/other_words

Every failure (no espeak-ng, unwritable folder) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tqdm import tqdm

from kws.data.clips import speaker_of
from kws.data.speech_commands import which_set
from kws.data.synth import synthesize
from kws.errors import KwsError

SPEECH_COMMANDS_OTHER = ("backward bed bird cat dog eight five follow forward four happy house learn marvin nine one "
                         "seven sheila six three tree two visual wow zero").split()
COMMON = """yet yeah yell yesterday nope nod note cup upper town dune clown lift loft laugh light bright fright ride
onion honor own often offer stuff stock stomp shop top goal goat ghost gold good got door dawn rain lion neon ball
call fall wall ten eleven twelve twenty hundred hello hey okay music lamp play pause next volume open close start
begin finish cancel repeat maybe sure thanks please today tonight morning water coffee phone computer window kitchen
garden yellow orange purple green red blue black white apple banana""".split()  # no keyword, no homophone of one
COMMON_FOLDER = "espeak_other"


def _keep_training_voices(paths) -> list[Path]:
    kept = []
    for p in paths:
        if which_set(p.name) == "training":
            kept.append(p)
        else:
            p.unlink()
    return kept


def make(out: Path, per_word: int, per_common_word: int) -> int:
    if out.is_dir() and any(out.iterdir()):  # its common words are numbered from 0: a second run would replace them
        raise KwsError(f"{out}: already holds files; pick a new --out (this script writes a whole folder)")
    written = 0
    for i, word in enumerate(tqdm(SPEECH_COMMANDS_OTHER, desc="other words", unit="word")):
        written += len(_keep_training_voices(synthesize(word, out, per_word, seed=i)))
    folder = out / COMMON_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    common = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, word in enumerate(tqdm(COMMON, desc="common words", unit="word")):
            for path in synthesize(word, tmp, per_common_word, seed=100 + i):
                path.rename(folder / f"{speaker_of(path)}_nohash_{common}.wav")
                common += 1
    return written + len(_keep_training_voices(sorted(folder.iterdir())))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write, in Speech Commands layout")
    parser.add_argument("--per-word", type=int, default=60, help="clips per Speech Commands word (default 60)")
    parser.add_argument("--per-common-word", type=int, default=12, help="clips per common word (default 12)")
    args = parser.parse_args(argv)
    try:
        written = make(args.out, args.per_word, args.per_common_word)
    except KwsError as e:
        print(f"synth_other_words: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {written} training-split clips of {len(SPEECH_COMMANDS_OTHER) + len(COMMON)} words under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
