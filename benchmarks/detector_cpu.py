"""CPU cost of the always-on detector at default settings, on a 10-minute recording.

    python benchmarks/detector_cpu.py [--model M] [--minutes 10]

Builds a stream of validation-speaker words over background noise (`kws eval-stream`'s builder), writes it
to a wav file, then runs `kws detect`'s code path over the file and reports CPU seconds per second of audio
(the real-time factor; x100 = % of one core) and the detections found."""

import argparse
import tempfile
import time
from pathlib import Path

import soundfile as sf

from kws.audio import read_audio
from kws.detector import detect_audio
from kws.labels import keywords
from kws.paths import DEFAULT_DATA, DEFAULT_MODEL
from kws.runtime import Model
from kws.stream_eval import build_stream


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    model = Model(args.model)
    audio, events = build_stream(args.data, keywords(model.labels), args.minutes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.wav"
        sf.write(path, audio, model.config.sample_rate, subtype="PCM_16")
        cpu, wall = time.process_time(), time.perf_counter()
        samples, _ = read_audio(path, model.config.sample_rate)
        detections = detect_audio(model, samples)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    seconds = len(samples) / model.config.sample_rate
    settings = model.metadata.detection
    print(f"{seconds / 60:.1f} min file, {len(detections)} detections, settings {settings}")
    print(f"CPU {cpu:.2f} s (wall {wall:.2f} s) -> real-time factor {cpu / seconds:.4f} = "
          f"{100 * cpu / seconds:.2f} % of one core")


if __name__ == "__main__":
    main()
