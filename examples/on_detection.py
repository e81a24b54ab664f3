"""Run your own function on each detection from the microphone (what `kws listen` cannot be, since it prints).

    python examples/on_detection.py [--device NAME_OR_NUMBER] [--seconds S]

Edit `on_detection` to switch a light, send a message or wake an assistant; Ctrl-C stops."""

import argparse
import os
import sys

import kws
from kws.options import seconds


def on_detection(detection: kws.Detection) -> None:
    """Your code here."""
    print(f"heard {detection.label!r} at {detection.time_s:.2f} s (score {detection.score:.2f})", flush=True)


def run(callback, device=None, seconds=None, model=kws.DEFAULT_MODEL) -> None:
    """Feed the microphone to a detector and call `callback(detection)` for each detection, for `seconds` of
    audio (None: until Ctrl-C)."""
    detector = kws.Detector(kws.Model(model))
    with kws.Microphone(device) as mic:
        for chunk in mic:
            for detection in detector.push(chunk):
                callback(detection)
            if seconds is not None and detector.time_s >= seconds:
                return


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", help="input device, by number or name (default: the system's default input)")
    parser.add_argument("--seconds", type=seconds, help="stop after this much audio (default: Ctrl-C)")
    args = parser.parse_args()
    try:
        run(on_detection, args.device, args.seconds)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # the reader went away (`| head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except kws.KwsError as e:  # no microphone, an unknown device, ...: one line, exit code 2
        parser.exit(2, f"{parser.prog}: error: {e}\n")
