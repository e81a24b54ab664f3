"""The model matrix of models/README.md: one row per trained model, every column measured here.

    python benchmarks/model_matrix.py runs/a/model.tflite [runs/b/model.tflite ...] [--minutes 60]

Columns: family, front end and width (from the metadata), parameters, int8 bytes, tensor arena (TFLM, host),
multiply-accumulates and instructions per inference on the emulated Cortex-M4F (kws.firmware_qemu.run_model_file),
Speech Commands validation accuracy float and int8 and the balanced other-word score (as `kws evaluate`), and on
the stream with digits (as `kws eval-stream --minutes 60 --seed 0`, validation speakers) the most keywords found
within 1 / 2 / 5 / 10 false accepts per hour, each with its false accepts per 100 other words in the stream."""

import argparse
import tempfile
from pathlib import Path

from kws.firmware import measure_arena, model_layers
from kws.firmware_qemu import run_model_file
from kws.metadata import load_model_file
from kws.model.evaluate import evaluate
from kws.paths import DEFAULT_DATA, TRAINING_DATA
from kws.stream_eval import STREAM_MINUTES, STREAM_SEED, best_within, eval_stream

BUDGETS = (1, 2, 5, 10)  # false accepts per hour


def row(path: Path, minutes: float, work: Path) -> str:
    data, meta = load_model_file(path)
    net = meta.model
    instructions = run_model_file(path, work).instructions_per_inference()
    macs = sum(m for _, m in model_layers(data))
    scored = evaluate(path, [DEFAULT_DATA], "validation", ("float", "litert"))["results"]
    stream = eval_stream(path, TRAINING_DATA, minutes, seed=STREAM_SEED)
    found = []
    for budget in BUDGETS:
        best = best_within(stream["sweep"], budget)
        found.append("-" if best is None else
                     f"{100 * best['hit_rate']:.1f} % ({100 * best['false_accepts'] / stream['other_words']:.2f})")
    return (f"| {net.get('arch', 'ds-cnn')}, {meta.features.kind}, {net.get('channels')} x {net.get('blocks')} "
            f"| {net.get('parameters', 0):,} | {len(data):,} | {measure_arena(data):,} | {macs:,} | "
            f"{instructions / 1e6:.2f} M | {100 * scored['float']['accuracy']:.2f} / "
            f"{100 * scored['litert']['accuracy']:.2f} % | {scored['litert']['other_words']['balanced']:.3f} | "
            + " | ".join(found) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="model .tflite files (each with its .keras beside it)")
    parser.add_argument("--minutes", type=float, default=STREAM_MINUTES, help="stream length (default %(default)g)")
    args = parser.parse_args()
    print("| network, features, width x blocks | parameters | int8 bytes | arena | MACs | M4 instructions | SC "
          "validation float / int8 | other words balanced | "
          + " | ".join(f"≤ {b} FA/h (per 100 other words)" for b in BUDGETS) + " |")
    print("|" + "---|" * (8 + len(BUDGETS)))
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.models:
            print(row(path, args.minutes, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
