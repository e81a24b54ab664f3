"""What running a streamable model a stride at a time costs and changes: a run's int8 window model against its
streaming twin (kws.model.streaming, state in int8 resource variables): bytes, ops, tensor arena, multiply-
accumulates per inference, their outputs under TFLite Micro on the validation stream with digits, stride by stride,
and on the emulated Cortex-M4F (the sketch built for each, as firmware_size.py builds it) the instructions per
inference and the share of a 64 MHz core at the stride; the board's streaming outputs against TFLM's.

    python benchmarks/streaming.py runs/RUN [--stride-ms 80] [--minutes 10]

RUN is a training run of a streamable DS-CNN (`kws train --streamable`). The twin is calibrated on 5 minutes of a
training-split stream; the window model is the run's own export (run_model)."""

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from kws.features import mfcc
from kws.firmware import measure_arena, model_layers, model_ops
from kws.firmware_qemu import run_model_file
from kws.metadata import load_model_file, write_metadata
from kws.labels import keywords
from kws.model.run import load_run, run_model
from kws.model.streaming import streaming_network, to_int8_streaming_tflite
from kws.paths import TRAINING_DATA
from kws.stream_eval import STREAM_SEED, build_stream


def stream(settings, minutes: float, split: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stream of the training data's `split` (as kws eval-stream builds it): its audio and its features."""
    audio, _ = build_stream(TRAINING_DATA, keywords(settings.labels), minutes, split, seed)
    return audio, mfcc(audio, settings.features)


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


def replay(model_bytes: bytes, inputs: np.ndarray) -> np.ndarray:
    """TFLite Micro's int8 outputs for int8 `inputs` (calls, values), one call after the other."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model_bytes)
    shape = interp.get_input_details(0)["shape"]
    outputs = []
    for x in inputs:
        interp.set_input(x.reshape(shape), 0)
        interp.invoke()
        outputs.append(interp.get_output(0).reshape(-1).copy())
    return np.array(outputs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--stride-ms", type=float, default=80.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    settings, model = load_run(args.run)
    frames, stride = settings.features.n_frames, round(args.stride_ms / settings.features.hop_ms)
    twin = streaming_network(model, settings.model, frames, stride)
    calibration = stream(settings, 5.0, "training", 1)[1]
    streaming = to_int8_streaming_tflite(twin, calibration[: len(calibration) // 500 * 500].reshape(-1, 500,
                                                                                                   calibration.shape[1]))
    window, meta = load_model_file(run_model(args.run))
    for name, data in (("window", window), ("streaming", streaming)):
        macs = sum(m for _, m in model_layers(data))
        print(f"{name}: {len(data):,} bytes, tensor arena {measure_arena(data):,} bytes, {macs:,} multiply-accumulates "
              f"an inference, ops {', '.join(model_ops(data))}")

    audio, features = stream(settings, args.minutes, "validation", STREAM_SEED)
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

    board = {}
    with tempfile.TemporaryDirectory() as tmp:
        sound = audio[: 20 * settings.features.sample_rate]
        for name, data, stride_ms in (("window", window, meta.detection.stride_ms), ("streaming", streaming,
                                                                                     args.stride_ms)):
            path = Path(tmp) / f"{name}.tflite"
            at_stride = dataclasses.replace(meta.detection, stride_ms=stride_ms)
            path.write_bytes(write_metadata(data, dataclasses.replace(meta, detection=at_stride)))
            result = board[name] = run_model_file(path, tmp, audio=sound)
            per_stride = result.instructions_per_stride(round(stride_ms / settings.features.hop_ms))
            print(f"{name} on the emulated Cortex-M4F: {result.instructions_per_inference():,.0f} instructions an "
                  f"inference, {result.instructions_per_hop():,.0f} a hop; every {stride_ms:g} ms {per_stride:,.0f} = "
                  f"{100 * per_stride / (64e6 * stride_ms / 1000):.1f} % of a 64 MHz core")
    result, settled = board["streaming"], frames // stride  # calls until the zeros it starts from have left
    same = np.array_equal(replay(streaming, result.inputs)[settled:], result.outputs[settled:])
    print(f"the board's {len(result.outputs) - settled} streaming outputs after its first window equal TFLM's on the "
          f"same inputs: {same}")


if __name__ == "__main__":
    main()
