"""`kws data import`: your own recordings of a word, in any format, cut into 1 s clips in Speech Commands layout."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..audio import read_audio
from ..errors import KwsError
from .clips import (MIN_GAP_S, SAMPLE_RATE, clip_around, loudest, quiet_part, save_clip, segments, speaker_id,
                    word_folder)

SHORT_S = 1.2  # recordings up to this long hold one word
MIN_WORD_S = 0.15
MAX_WORD_S = 1.0


@dataclasses.dataclass
class ImportReport:
    """The clips written, how many the folder already held (not written again), and each file left out (wholly or
    in part) with the reason."""

    written: list[Path] = dataclasses.field(default_factory=list)
    duplicates: int = 0
    skipped: list[tuple[Path, str]] = dataclasses.field(default_factory=list)

    def add(self, path: Path | None) -> None:
        """Count what save_clip did: wrote `path`, or (None) found the clip already there."""
        if path is None:
            self.duplicates += 1
        else:
            self.written.append(path)


def _speaker(path: Path, src: Path) -> str:
    relative = path.relative_to(src) if path != src else Path(path.name)
    return speaker_id(relative.parts[0] if len(relative.parts) > 1 else path.stem)


def import_recordings(src, word, out_dir) -> ImportReport:
    """Cut the recordings in `src` (a folder, searched recursively, or one file; any format, rate and channel count
    libsndfile reads) into 1 s clips under OUT/WORD/. A recording up to 1.2 s is one clip, centred on its sound;
    a longer one is cut on pauses (>= 0.25 s) into utterances, each centred in its own clip; utterances shorter than
    0.15 s or longer than 1 s, and unreadable or silent files, are reported in `skipped`; a clip the folder
    already holds (the same recordings imported again) is counted in `duplicates`, not written twice.

    Speaker ids (the part of the name the split rule hashes) come from the path below `src`: one folder per
    speaker is recommended, and every file under `src/NAME/` gets the id sha1(NAME)[:8]; a file directly in `src`
    (or `src` itself, a file) gets sha1 of its name without the extension."""
    src = Path(src)
    if not src.exists():
        raise KwsError(f"{src}: no such file or folder; give a folder (or file) of recordings")
    folder = word_folder(out_dir, word)
    files = [src]
    if src.is_dir():  # every file below, except clips written earlier when OUT/WORD lies inside src
        files = sorted(p for p in src.rglob("*") if p.is_file() and folder.resolve() not in p.resolve().parents)
    if not files:
        raise KwsError(f"{src}: no files in the folder; put the recordings of {word!r} there (one folder per speaker)")
    report = ImportReport()
    for path in files:
        try:
            audio, _ = read_audio(path, SAMPLE_RATE)
        except KwsError as e:
            report.skipped.append((path, str(e).removeprefix(f"{path}: ")))
            continue
        spans = segments(audio)
        if not spans:
            report.skipped.append((path, "no sound stands out from the background noise; is it silent?"))
            continue
        speaker = _speaker(path, src)
        quiet = quiet_part(audio)
        if len(audio) <= SHORT_S * SAMPLE_RATE:
            span = loudest(audio, spans)
            report.add(save_clip(clip_around(audio, *span, quiet), folder, speaker))
            continue
        rejected = []
        for start, end in spans:
            seconds = (end - start) / SAMPLE_RATE
            if MIN_WORD_S <= seconds <= MAX_WORD_S:
                others = [s for s in spans if s != (start, end)]
                report.add(save_clip(clip_around(audio, start, end, quiet, others), folder, speaker))
            else:
                rejected.append(f"{seconds:.2f} s at {start / SAMPLE_RATE:.2f} s, "
                                f"{'too short' if seconds < MIN_WORD_S else 'too long'}")
        if rejected:
            report.skipped.append((path, f"left out {len(rejected)} of {len(spans)} stretches of sound "
                                         f"({'; '.join(rejected)}); a word takes {MIN_WORD_S}-{MAX_WORD_S:g} s, "
                                         f"with pauses of at least {MIN_GAP_S} s around it"))
    return report
