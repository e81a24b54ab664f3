"""The shipped model's figures: bytes, tensor arena, host inference latency, validation accuracy float / int8
(LiteRT) / int8 (TFLite Micro) on Speech Commands, and how each other word is rejected (int8) on the validation
speakers of Speech Commands and the Free Spoken Digits.

    python benchmarks/model.py [--model kws/shipped/kws12.tflite] [--data ../shared/data/speech_commands]
                               [--digits ../shared/data/free_spoken_digit]
"""

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from kws.firmware import measure_arena
from kws.model.evaluate import evaluate
from kws.paths import DEFAULT_DATA, DEFAULT_MODEL, DIGITS_DATA
from kws.runtime import Model


def latency_us(model: Model, repeats: int = 2000) -> float:
    features = np.random.default_rng(0).normal(0, 100, (49, 10)).astype(np.float32)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats // 5):
            model.predict(features)
        times.append((time.perf_counter() - start) / (repeats // 5))
    return statistics.median(times) * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--digits", default=DIGITS_DATA)
    args = parser.parse_args()
    data = Path(args.model).read_bytes()
    meta = Model(args.model).metadata
    print(f"model {args.model}: {len(data):,} bytes ({meta.model['parameters']:,} parameters, "
          f"{meta.model['channels']} channels x {meta.model['blocks']} blocks)")
    print(f"tensor arena (TFLite Micro, measured): {measure_arena(data):,} bytes")
    for runtime in ("litert", "tflm"):
        print(f"host latency per inference, int8 {runtime}: {latency_us(Model(args.model, runtime)):.0f} us (1 thread)")
    report = evaluate(args.model, args.data, "validation", ("float", "litert", "tflm"))
    print(f"validation accuracy ({args.data}, {report['results']['litert']['n']} clips):")
    for runtime, result in report["results"].items():
        print(f"  {runtime:<7} {result['accuracy']:.4f}   " +
              " ".join(f"{label} {r['accuracy']:.3f}" for label, r in result["per_class"].items()))
    other = evaluate(args.model, [args.data, args.digits], "validation")["results"]["litert"]["other_words"]
    print(f"other words called _unknown_ (int8, validation speakers of {args.data} and {args.digits}): "
          f"balanced {other['balanced']:.3f}, worst {other['worst']:.3f}")
    print("  " + " ".join(f"{word} {w['accuracy']:.2f} ({w['n']})" for word, w in other["per_word"].items()))


if __name__ == "__main__":
    main()
