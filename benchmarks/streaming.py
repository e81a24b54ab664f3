"""What running a streamable model a stride at a time costs and changes: a run's int8 window model against its
streaming twin (kws.model.streaming, state in int8 resource variables): bytes, ops, tensor arena, multiply-
accumulates per inference, their outputs under TFLite Micro on windows of the validation stream with digits (heard
from silence, and in the stream), what each detects in the stream with digits (the window model at the stride and at
200 ms: zeros before each window, as the network was trained; the twin: the stream's own past), and on the emulated
Cortex-M4F (the sketch built for each, as firmware_size.py builds it) the instructions per inference (by op) and the
share of a 64 MHz core at the stride; the board's streaming outputs against TFLM's.

    python benchmarks/streaming.py runs/RUN [--stride-ms 80] [--minutes 10] [--smoothing-ms 600]

RUN is a training run of a streamable DS-CNN (`kws train --streamable`). Both are calibrated on 5 minutes of a
training-split stream (the window model on a window every 10 frames of it)."""

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from kws.features import mfcc
from kws.firmware import measure_arena, model_layers, model_ops
from kws.firmware_qemu import run_model_file, settling_calls
from kws.labels import keywords
from kws.metadata import DetectorSettings, ModelMetadata, write_metadata
from kws.model.quantize import to_int8_streaming_tflite, to_int8_tflite
from kws.model.run import load_run
from kws.model.streaming import streaming_network
from kws.paths import TRAINING_DATA
from kws.runtime import Model
from kws.stream_eval import STREAM_MINUTES, STREAM_SEED, best_within, build_stream, eval_stream


def stream(settings, minutes: float, split: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stream of the training data's `split` (as kws eval-stream builds it): its audio and its features."""
    audio, _ = build_stream(TRAINING_DATA, keywords(settings.labels), minutes, split, seed)
    return audio, mfcc(audio, settings.features)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--stride-ms", type=float, default=80.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--smoothing-ms", type=float, default=600.0)
    args = parser.parse_args()
    settings, network = load_run(args.run)
    frames, stride = settings.features.n_frames, round(args.stride_ms / settings.features.hop_ms)
    calibration = stream(settings, 5.0, "training", 1)[1]
    windows = np.stack([calibration[i : i + frames] for i in range(0, len(calibration) - frames, 10)])
    twin = streaming_network(network, settings.model, stride)
    models = {"window": (to_int8_tflite(network, windows, settings.model), DetectorSettings()),
              "streaming": (to_int8_streaming_tflite(twin, calibration[None]), DetectorSettings(stride_ms=args.stride_ms))}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, (converted, detection) in models.items():
            data = write_metadata(converted, ModelMetadata(settings.features, tuple(settings.labels), detection))
            paths[name] = Path(tmp) / f"{name}.tflite"
            paths[name].write_bytes(data)
            macs = sum(m for _, m in model_layers(data))
            print(f"{name}: {len(data):,} bytes, tensor arena {measure_arena(data):,} bytes, {macs:,} multiply-"
                  f"accumulates an inference, ops {', '.join(model_ops(data))}")
        window, streaming = (Model(paths[name], "tflm") for name in ("window", "streaming"))

        print(f"the stream with digits, {STREAM_MINUTES:g} minutes (as `kws eval-stream --seed {STREAM_SEED}`, "
              f"smoothing {args.smoothing_ms:g} ms): most keywords found within 1 / 2 / 5 / 10 false accepts per hour")
        for name, stride_ms in (("window", args.stride_ms), ("window", 200.0), ("streaming", args.stride_ms)):
            report = eval_stream(paths[name], TRAINING_DATA, stride_ms=stride_ms, smoothing_ms=args.smoothing_ms)
            best = [best_within(report["sweep"], n) for n in (1, 2, 5, 10)]
            print(f"  {name}, every {stride_ms:g} ms: "
                  + " / ".join(f"{100 * b['hit_rate']:.1f}" if b else "-" for b in best) + " %")

        audio, features = stream(settings, args.minutes, "validation", STREAM_SEED)
        windows = [features[t - frames + 1 : t + 1] for t in range(frames - 1, len(features), stride)]
        pairs = np.array([(streaming.predict(w), window.predict(w)) for w in windows])  # heard from silence
        gaps = np.abs(pairs[:, 0] - pairs[:, 1]).max(axis=1)
        same = pairs[:, 0].argmax(1) == pairs[:, 1].argmax(1)
        print(f"{len(gaps):,} windows of {args.minutes:g} minutes of the validation stream, {args.stride_ms:g} ms "
              f"apart, each heard from silence: the same top label in {100 * np.mean(same):.2f} %, largest output "
              f"gap median {np.median(gaps):.4f}, 99th percentile {np.percentile(gaps, 99):.4f}, most {gaps.max():.4f}")
        listener, padded = streaming.stream(), np.vstack([np.zeros_like(features[:frames]), features])
        heard = [listener.predict_newest(padded[t : t + frames]) for t in range(stride, len(features), stride)]
        in_stream = np.array(heard[frames // stride - 1 :][: len(pairs)])
        print(f"in the stream (the frames before each window heard): the same top label as the window model's in "
              f"{100 * np.mean(in_stream.argmax(1) == pairs[:, 1].argmax(1)):.2f} %")

        board = {}
        for name, model in (("window", window), ("streaming", streaming)):
            stride_ms = model.metadata.detection.stride_ms
            result = board[name] = run_model_file(model.path, tmp, audio=audio[: 20 * settings.features.sample_rate])
            per_stride = result.instructions_per_stride(round(stride_ms / settings.features.hop_ms))
            print(f"{name} on the emulated Cortex-M4F: {result.instructions_per_inference():,.0f} instructions an "
                  f"inference, {result.instructions_per_hop():,.0f} a hop; every {stride_ms:g} ms {per_stride:,.0f} = "
                  f"{100 * per_stride / (64e6 * stride_ms / 1000):.1f} % of a 64 MHz core")
            instructions, macs = Counter(), Counter()  # by op, an inference
            for (op, m), (_, _, n) in zip(model_layers(model.bytes), result.layers()):
                instructions[op] += n
                macs[op] += m
            print("  by op: " + ", ".join(f"{op} {n:,.0f}" + (f" ({n / macs[op]:.2f} per MAC)" if macs[op] else "")
                                          for op, n in instructions.items()))
    result, settled = board["streaming"], settling_calls(streaming)
    replay = streaming.stream()
    replayed = np.array([replay.predict_int8(x) for x in result.inputs])
    same = np.array_equal(replayed[settled:], result.outputs[settled:])
    print(f"the board's {len(result.outputs) - settled} streaming outputs, once what it kept at first has left them, "
          f"equal TFLM's on the same inputs: {same}")


if __name__ == "__main__":
    main()
