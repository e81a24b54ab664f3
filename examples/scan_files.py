"""Find keywords in recordings: one line per detection, for each file given or each audio file in a folder.

    python examples/scan_files.py RECORDING_OR_FOLDER... [--threshold T]"""

import argparse
import os
import sys
from pathlib import Path

import kws
from kws.options import score

AUDIO = {".wav", ".flac", ".ogg", ".mp3"}


def audio_files(paths):
    """The files given, and the audio files in the folders given (recursively), in order."""
    for path in map(Path, paths):
        yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO) if path.is_dir() else [path]


def scan(paths, threshold=None):
    """(file, detection) for every detection in the recordings; a file that cannot be read is reported and skipped."""
    model = kws.Model()
    settings = kws.DetectorSettings.from_metadata(model.metadata, threshold=threshold)
    for path in audio_files(paths):
        try:
            audio, _ = kws.read_audio(path, model.config.sample_rate)
        except kws.KwsError as e:
            print(f"skipped: {e}", file=sys.stderr)
            continue
        for detection in kws.detect_audio(model, audio, settings):
            yield path, detection


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="recordings or folders of them")
    parser.add_argument("--threshold", type=score, help="detection threshold (default: the model's)")
    args = parser.parse_args()
    try:
        for path, d in scan(args.paths, args.threshold):
            print(f"{path}\t{d.time_s:.2f} s\t{d.label}\t{d.score:.2f}", flush=True)
    except BrokenPipeError:  # the reader went away (`| head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
