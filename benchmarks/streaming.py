"""What running a streamable model a stride at a time costs and changes: a run's int8 window model against its
streaming twin (kws.model.streaming, state in int8 resource variables): bytes, ops, tensor arena, multiply-
accumulates per inference, and their outputs under TFLite Micro on the validation stream with digits, stride by
stride.

    python benchmarks/streaming.py runs/RUN [--stride-ms 80] [--minutes 10]

RUN is a training run of a streamable DS-CNN (`kws train --streamable`). The twin is calibrated on 5 minutes of a
training-split stream; the window model is the run's own export (run_model)."""

import argparse

import numpy as np

from kws.features import mfcc
from kws.firmware import measure_arena, model_layers, model_ops
from kws.labels import keywords
from kws.model.run import load_run, run_model
from kws.model.streaming import streaming_network, to_int8_streaming_tflite
from kws.paths import TRAINING_DATA
from kws.stream_eval import STREAM_SEED, build_stream


def stream_features(settings, minutes: float, split: str, seed: int) -> np.ndarray:
    audio, _ = build_stream(TRAINING_DATA, keywords(settings.labels), minutes, split, seed)
    return mfcc(audio, settings.features)


def tflm(model_bytes: bytes):
    """A TFLite Micro interpreter of `model_bytes` and a function: float features -> float outputs."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model_bytes)
    inp = interp.get_input_details(0)["quantization_parameters"]
    out = interp.get_output_details(0)["quantization_parameters"]

    def run(features: np.ndarray) -> np.ndarray:
        x = np.round(features / inp["scales"][0] + inp["zero_points"][0])
        interp.set_input(np.clip(x, -128, 127).astype(np.int8)[None, :, :, None], 0)
        interp.invoke()
        return (interp.get_output(0)[0].astype(np.float32) - out["zero_points"][0]) * out["scales"][0]

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--stride-ms", type=float, default=80.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    settings, model = load_run(args.run)
    frames, stride = settings.features.n_frames, round(args.stride_ms / settings.features.hop_ms)
    twin = streaming_network(model, settings.model, frames, stride)
    calibration = stream_features(settings, 5.0, "training", 1)
    streaming = to_int8_streaming_tflite(twin, calibration[: len(calibration) // 500 * 500].reshape(-1, 500,
                                                                                                   calibration.shape[1]))
    window = run_model(args.run).read_bytes()
    for name, data in (("window", window), ("streaming", streaming)):
        macs = sum(m for _, m in model_layers(data))
        print(f"{name}: {len(data):,} bytes, tensor arena {measure_arena(data):,} bytes, {macs:,} multiply-accumulates "
              f"an inference, ops {', '.join(model_ops(data))}")

    features = stream_features(settings, args.minutes, "validation", STREAM_SEED)
    run_stream, run_window = tflm(streaming), tflm(window)
    gaps, same = [], []
    for start in range(0, len(features) - stride + 1, stride):
        heard = start + stride
        out = run_stream(features[start:heard])
        if frames - 1 <= heard < len(features):  # the window that ends one frame after what the stream heard
            ref = run_window(features[heard - frames + 1 : heard + 1])
            gaps.append(np.abs(out - ref).max())
            same.append(out.argmax() == ref.argmax())
    gaps = np.array(gaps)
    print(f"{len(gaps):,} strides of {args.stride_ms:g} ms on {args.minutes:g} minutes of the validation stream: "
          f"the same top label in {100 * np.mean(same):.2f} %, largest output gap median {np.median(gaps):.4f}, "
          f"99th percentile {np.percentile(gaps, 99):.4f}, most {gaps.max():.4f}")


if __name__ == "__main__":
    main()
