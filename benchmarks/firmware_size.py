"""Flash, RAM and instructions of the Arduino sketch as the Nano 33 BLE Sense runs it (nRF52840: Cortex-M4F at
64 MHz, 1 MB flash, 256 KB RAM), measured on the emulated image.

    python benchmarks/firmware_size.py [--data ../shared/data/speech_commands] [--minutes 10]

Builds the unmodified sketch with the vendored TensorFlow Lite Micro (CMSIS-NN kernels) for the Cortex-M4F
(make -C firmware/qemu), sizes the linked image from its link map, and runs it under qemu-system-arm -M mps2-an386
-icount shift=0 twice, side by side: on every validation clip played back to back through the PDM callback, and on
a stream of clips over noise. Reports the int8 outputs against LiteRT's builtin kernels and the TFLM Python
interpreter, the detections against the host Detector (on TFLM, as the board, and on LiteRT), the tensor arena
used, the instructions per inference (per layer, with the CMSIS-NN kernel each ran and its instructions per
multiply-accumulate) and per 20 ms front-end hop, the share of a 64 MHz core at the model's stride, and the
detection latency on the emulated stream. QEMU counts instructions, not cycles: on the
board an instruction takes one cycle or more (loads, branches, flash wait states), so instructions / 64 MHz is a
lower bound on the time."""

import argparse
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kws.data.cache import clip_audio
from kws.data.speech_commands import SpeechCommands
from kws.detector import Detection, DetectorSettings, detect_audio
from kws.firmware import model_layers
from kws.firmware_qemu import ELF, build, clip_stream, host_calls, image_sizes, pcm16, run, settling_calls
from kws.paths import DEFAULT_DATA
from kws.runtime import Model
from kws.stream_eval import build_stream, score

REPO = Path(__file__).resolve().parent.parent
FLASH, RAM, CLOCK_HZ = 1024 * 1024, 256 * 1024, 64e6
BOARD_ONLY = ("stand-ins", "PDM buffer")  # not what the board runs: the mbed core and the PDM driver are there


def linked(elf: Path) -> tuple[int, int]:
    """(flash, RAM) bytes of the linked image, from its section headers."""
    out = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    sections = {p[0]: int(p[1]) for p in map(str.split, out.splitlines()) if len(p) == 3 and p[0].startswith(".")}
    flash = sections[".text"] + sections[".data"] + sections.get(".ARM.exidx", 0)
    return flash, sections[".data"] + sections[".bss"]


def timed(pcm, sizes):
    start = time.perf_counter()
    return run(pcm, *sizes), time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"Speech Commands folder (default {DEFAULT_DATA})")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the stream (default 10)")
    args = parser.parse_args()

    start = time.perf_counter()
    build()
    build_s = time.perf_counter() - start
    model, tflm = Model(), Model(runtime="tflm")
    config = model.config
    kb = lambda n: f"{n:>8,} B ({n / 1024:5.1f} KB)"  # noqa: E731

    sizes = image_sizes()
    flash, ram = (sum(s[kind] for part, s in sizes.items() if part not in BOARD_ONLY) for kind in ("flash", "ram"))
    total_flash, total_ram = linked(ELF)
    print(f"Image: {ELF.relative_to(REPO)} (make -C firmware/qemu -j2: {build_s:.0f} s here, incremental)")
    print("  part                  flash                       RAM (static)")
    for part, s in sizes.items():
        print(f"  {part:<20}{kb(s['flash'])}    {kb(s['ram'])}")
    print(f"  sketch without the mbed core (all but the stand-ins and the PDM buffer): flash {kb(flash)} = "
          f"{flash / FLASH:.1%} of 1 MB, RAM {kb(ram)} = {ram / RAM:.1%} of 256 KB")
    print(f"  (parts from the link map, before the linker merges duplicate strings; the whole linked image is "
          f"{total_flash:,} B flash, {total_ram:,} B RAM. The C/C++ runtime includes the stand-ins' stdio and "
          "semihosting. Not included: the mbed OS core, USB serial, the PDM driver and its 1 KB of buffers.)")

    dataset = SpeechCommands(args.data, words=model.labels[2:])  # the clips `kws evaluate` scores
    clips = dataset.split("validation", config.clip_samples, config.sample_rate)
    clips_pcm, aligned = clip_stream(clip_audio(dataset, clips, config, progress=False), model)
    audio, events = build_stream(args.data, model.labels[2:], minutes=args.minutes, seed=4)
    stream_pcm = pcm16(audio)
    tensor_sizes = (model.input_frames * config.n_features, len(model.labels))
    with ThreadPoolExecutor(2) as pool:
        (clips_run, clips_s), (stream_run, stream_s) = pool.map(lambda pcm: timed(pcm, tensor_sizes),
                                                                (clips_pcm, stream_pcm))

    used, reserved = clips_run.arena()
    print(f"\nTensor arena: {used:,} B used on the 32-bit board (arena_used_bytes()), {reserved:,} B reserved "
          f"(kws_config.h): {reserved - used:,} B spare. Stack: at most {clips_run.counts['stack_bytes']:,} B.")

    per_inference, per_hop = stream_run.instructions_per_inference(), stream_run.instructions_per_hop()
    stride = DetectorSettings.from_metadata(model.metadata).stride_frames(config.hop_ms)
    per_stride = stream_run.instructions_per_stride(stride)
    budget_ms = stride * config.hop_ms
    print(f"\nInstructions (QEMU -icount, on the {args.minutes:g}-minute stream): {per_inference:,.0f} per inference, "
          f"{per_hop:,.0f} per {config.hop_ms:g} ms hop (PDM callback, ring, front end, detector); one inference "
          f"and its {stride} hops: {per_stride:,.0f} = at least {per_stride / CLOCK_HZ * 1e3:.1f} ms at 64 MHz, "
          f"against the {budget_ms:g} ms stride ({per_stride / CLOCK_HZ * 1e3 / budget_ms:.0%} of it; "
          "instructions are a lower bound on cycles)")

    print(f"\nPer layer, one inference (the CMSIS-NN kernel it ran; multiply-accumulates from the model's shapes):")
    layers, measured = model_layers(model.bytes), stream_run.layers()
    assert [op for op, _ in layers] == [op for op, _, _ in measured], "the model's layers and the board's differ"
    print(f"  {'#':>2} {'op':<18} {'kernel':<27} {'MACs':>9} {'instructions':>13} {'per MAC':>8} {'share':>6}")
    for i, ((op, macs), (_, kernel, n)) in enumerate(zip(layers, measured)):
        print(f"  {i:>2} {op:<18} {kernel:<27} {macs:>9,} {n:>13,.0f} {n / macs if macs else 0:>8.2f} "
              f"{n / per_inference:>6.1%}")
    total_macs, layered = sum(macs for _, macs in layers), sum(n for *_, n in measured)
    print(f"  the interpreter between layers: {per_inference - layered:,.0f} instructions "
          f"({(per_inference - layered) / per_inference:.1%})")
    print(f"  all: {total_macs:,} MACs, {per_inference / total_macs:.2f} instructions per MAC")
    hits = score([Detection(label, t, p) for label, t, p in stream_run.detections()], events,
                 len(stream_pcm) / config.sample_rate / 3600)
    print(f"\nShare of a 64 MHz core at the {budget_ms:g} ms stride: {per_stride / CLOCK_HZ * 1e3 / budget_ms:.0%}. "
          f"Detection latency on the emulated stream (end of the word to the detection, {hits['hits']} keywords "
          f"found): median {hits['latency_median_s']:.2f} s, p90 {hits['latency_p90_s']:.2f} s")

    start = settling_calls(model)  # a streaming model's outputs, once what it kept at first has left them
    outputs = clips_run.outputs[start:]
    on_litert = np.stack([model.predict_int8(q) for q in clips_run.inputs])[start:]
    on_tflm = np.stack([tflm.predict_int8(q) for q in clips_run.inputs])[start:]
    steps = np.abs(on_litert.astype(int) - outputs)
    python = host_calls(model, clips_pcm)[0][aligned]
    truth = np.array([model.labels.index(c.label) for c in clips])
    after = aligned[aligned >= start] - start  # the clips' outputs among those compared
    print(f"\nValidation clips: {len(clips)} clips, {len(outputs):,} inferences ({clips_s:.0f} s under QEMU). "
          f"Board vs LiteRT: {np.count_nonzero(steps == 1):,} of {steps.size:,} outputs 1 step apart, "
          f"{np.count_nonzero(steps > 1):,} more (at most {steps.max()}), top-1 differs on "
          f"{np.count_nonzero(on_litert.argmax(1) != outputs.argmax(1))}; board vs TFLM Python: "
          f"{np.count_nonzero(on_tflm != outputs)} outputs differ. The {len(aligned):,} inferences that answer for "
          f"exactly a clip: vs LiteRT {np.count_nonzero(steps[after] == 1):,} outputs 1 step apart, "
          f"{np.count_nonzero(steps[after] > 1):,} more (at most {steps[after].max()}); "
          f"{(clips_run.inputs[aligned] != python).mean():.4%} of their int8 inputs differ from the Python "
          f"front end's; accuracy {(clips_run.outputs[aligned].argmax(1) == truth).mean():.4f}")

    board = [(label, t) for label, t, _ in stream_run.detections()]
    print(f"\nStream: {len(stream_pcm) / config.sample_rate / 60:.1f} minutes ({stream_s:.0f} s under QEMU), "
          f"{len(board)} detections on the board; the host Detector's:")
    for runtime in (tflm, model):
        host = [(d.label, round(d.time_s, 2)) for d in detect_audio(runtime, stream_pcm / np.float32(32768))]
        same = sum(d in host for d in board)
        print(f"  with {runtime.runtime:<6}: {len(host)}, {same} of them the board's (label and time)"
              f"{', all equal' if board == host else ''}")

if __name__ == "__main__":
    main()
