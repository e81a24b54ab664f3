"""The sketch as the board runs it: the unmodified .ino cross-built against the vendored TensorFlow Lite Micro
(CMSIS-NN kernels) for the Cortex-M4F and run under QEMU with real audio through its PDM callback, compared with
LiteRT's builtin kernels, the TFLM Python interpreter and the host Detector. The build fails on any warning in
the sketch or the stand-ins (-Werror). A representative part of what benchmarks/firmware_size.py runs in full
(all validation clips, a 10-minute stream)."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import LITERT_TFLM_MAX_STEPS

from kws.data.cache import clip_audio
from kws.data.speech_commands import SpeechCommands
from kws.detector import DetectorSettings, detect_audio
from kws.firmware import arena_size, measure_arena
from kws.firmware_qemu import build, clip_stream, host_calls, image_sizes, pcm16, run, run_model_file, settling_calls
from kws.runtime import Model
from kws.stream_eval import build_stream

FLASH_BOUND, RAM_BOUND = 150 * 1024, 64 * 1024  # the bounds for the sketch without the mbed core


@pytest.fixture(scope="session")
def image():
    return build()


@pytest.fixture(scope="module")
def runs(image, data_dir, shipped_model):
    """Two runs of the image, side by side: every 40th validation clip back to back through the emulated
    microphone (55 s of audio), and a one-minute stream of clips over noise. {"clips": (run, pcm, indices of the
    outputs that answer for exactly a clip), "stream": (run, pcm)}."""
    config = shipped_model.config
    dataset = SpeechCommands(data_dir, words=shipped_model.labels[2:])
    clips = dataset.split("validation", config.clip_samples, config.sample_rate)[::40]
    clips_pcm, aligned = clip_stream(clip_audio(dataset, clips, config, progress=False), shipped_model)
    audio, _ = build_stream(data_dir, shipped_model.labels[2:], minutes=1.0, seed=4)
    stream_pcm = pcm16(audio)
    sizes = (shipped_model.input_frames * config.n_features, len(shipped_model.labels))
    with ThreadPoolExecutor(2) as pool:
        clips_run, stream_run = pool.map(lambda pcm: run(pcm, *sizes), (clips_pcm, stream_pcm))
    return {"clips": (clips_run, clips_pcm, aligned), "stream": (stream_run, stream_pcm)}


@pytest.mark.parametrize("family", ["ds-cnn", "tc-resnet", "bc-resnet", "streamable"])
def test_a_sketch_exported_for_another_model_builds_and_runs(image, tiny_run, tiny_families, tmp_path, family):
    """The README's custom-word flow: `kws export-firmware --model MINE --out DIR`, then `make -C firmware/qemu
    SKETCH=DIR` builds DIR as it is (its copy of the library), and the image boots and infers; for each family."""
    from kws.cli import main

    model = Model(tiny_run[2] if family == "ds-cnn" else tiny_families[family][1])
    sketch = tmp_path / f"custom_{family.replace('-', '_')}"
    assert main(["export-firmware", "--model", str(model.path), "--out", str(sketch)]) == 0
    elf = build(sketch=sketch)
    assert elf.name == f"{sketch.name}.elf"
    config = model.config
    result = run(np.zeros(config.clip_samples * 2, np.int16), model.input_frames * config.n_features,
                 len(model.labels), elf=elf)
    used, reserved = result.arena()
    assert 0 < used <= reserved and result.counts["inferences"] > 0


def test_a_streaming_model_on_the_board_hears_and_decides_as_the_host_detector(image, tiny_run, tiny_families, tmp_path):
    """A streamable run's export (its past steps in int8 resource variables, an 80 ms stride): the sketch feeds it
    the 4 newest frames a call from the first stride on, as the host Detector does; once what it kept at first has
    left (zeroed bytes on the board, zeros on the host) its outputs are TFLite Micro's on the same inputs, and its
    detections are the host Detector's."""
    import dataclasses

    from kws.metadata import load_model_file, write_metadata

    data, meta = load_model_file(tiny_families["streamable"][1])
    path = tmp_path / "streaming.tflite"  # a low threshold, unsmoothed: the tiny model fires on its tones
    detection = dataclasses.replace(meta.detection, threshold=0.35, smoothing_ms=0.0)
    path.write_bytes(write_metadata(data, dataclasses.replace(meta, detection=detection)))
    model = Model(path, "tflm")
    config, stride = model.config, model.input_frames
    dataset = SpeechCommands(tiny_run[0], words=("yes", "no"))
    clips = dataset.split("validation", config.clip_samples, config.sample_rate)
    clips = [c for c in clips if c.label in ("yes", "no")][:6] + [c for c in clips if c.label == "_unknown_"][:2]
    start = settling_calls(model)  # the words come after that much silence
    lead = np.zeros((start + 2) * stride * config.hop_length, np.float32)
    audio = np.concatenate([lead, clip_audio(dataset, clips, config, cache_dir=tmp_path, progress=False).reshape(-1)])
    result = run_model_file(path, tmp_path, audio=audio)

    host_inputs, _ = host_calls(model, pcm16(audio))
    calls = min(len(host_inputs), len(result.inputs))
    assert calls > 100 and (result.inputs[:calls] != host_inputs[:calls]).mean() <= 1e-3  # 9 s, 80 ms apart
    replay = model.stream()
    replayed = np.array([replay.predict_int8(x) for x in result.inputs])
    assert np.array_equal(replayed[start:], result.outputs[start:])
    assert len({tuple(o) for o in result.outputs}) > 10  # the outputs move with the words
    board = [(label, round(t, 2)) for label, t, _ in result.detections()]
    assert len(board) >= 2 and board == [(d.label, round(d.time_s, 2)) for d in detect_audio(model, audio)[: len(board)]]


def test_each_layer_is_timed_with_the_kernel_it_ran(runs, shipped_model):
    """The per-layer counts (firmware/qemu/layers.cpp) line up with the model's operators and add up to the
    inference: what benchmarks/firmware_size.py reports per layer."""
    from kws.firmware import model_layers

    result = runs["stream"][0]
    layers = result.layers()
    assert [op for op, _, _ in layers] == [op for op, _ in model_layers(shipped_model.bytes)]
    kernels = {op: {kernel for o, kernel, _ in layers if o == op} for op, _, _ in layers}
    assert kernels["CONV_2D"] <= {"arm_convolve_s8", "arm_convolve_1x1_s8_fast", "arm_convolve_1_x_n_s8"}
    assert kernels["DEPTHWISE_CONV_2D"] <= {"arm_depthwise_conv_3x3_s8", "arm_depthwise_conv_s8_opt",
                                            "arm_depthwise_conv_s8"}
    assert kernels["FULLY_CONNECTED"] == {"arm_fully_connected_s8"} and kernels["SOFTMAX"] == {"arm_softmax_s8"}
    assert all(n > 0 for _, _, n in layers)
    assert 0.9 * result.instructions_per_inference() < sum(n for _, _, n in layers) < result.instructions_per_inference()


def test_image_fits_the_nano_33_ble_sense(image):
    sizes = image_sizes()
    ours = [part for part in sizes if part not in ("stand-ins", "PDM buffer")]
    flash, ram = (sum(sizes[part][kind] for part in ours) for kind in ("flash", "ram"))
    print(f"sketch + TFLM + runtime: flash {flash:,} B, RAM {ram:,} B (stack and heap aside)")
    assert 20_000 < sizes["TFLM and CMSIS-NN"]["flash"] and 13_000 < sizes["sketch"]["flash"]  # all were linked
    assert flash <= FLASH_BOUND and ram <= RAM_BOUND


def test_emulated_int8_outputs_match_litert_and_tflm(runs, shipped_model):
    result, pcm, aligned = runs["clips"]
    assert result.counts["inferences"] == len(result.outputs) > aligned[-1]
    litert, tflm = shipped_model.stream(), Model(shipped_model.path, "tflm").stream()
    on_litert = np.stack([litert.predict_int8(q) for q in result.inputs])
    on_tflm = np.stack([tflm.predict_int8(q) for q in result.inputs])
    start = settling_calls(shipped_model)
    outputs, on_litert, on_tflm = result.outputs[start:], on_litert[start:], on_tflm[start:]
    steps = np.abs(on_litert.astype(int) - outputs)
    print(f"emulated board vs LiteRT on {len(steps)} inferences: {np.count_nonzero(steps)} of {steps.size} outputs "
          f"differ ({np.count_nonzero(steps > 1)} by 2 steps), top-1 differs on "
          f"{np.count_nonzero(on_litert.argmax(1) != outputs.argmax(1))}; vs the TFLM Python interpreter: "
          f"{np.count_nonzero(on_tflm != outputs)} differ")
    # The board computes what TFLM computes on the host, bit for bit, and that is close to LiteRT (conftest).
    assert np.array_equal(on_tflm, outputs)
    assert steps.max() <= LITERT_TFLM_MAX_STEPS and np.count_nonzero(steps) <= 0.03 * steps.size
    # The outputs that answer for exactly a clip: the board's own front end made the Python front end's int8
    # inputs, and its outputs agree with LiteRT's on those.
    python_inputs, python_outputs = host_calls(shipped_model, pcm)
    aligned = aligned[aligned >= start]
    assert (result.inputs[aligned] != python_inputs[aligned]).mean() <= 1e-3
    assert np.abs(python_outputs[aligned].astype(int) - result.outputs[aligned]).max() <= LITERT_TFLM_MAX_STEPS
    assert (python_outputs[aligned].argmax(1) != result.outputs[aligned].argmax(1)).mean() <= 0.01


def test_emulated_detections_equal_the_host_detectors(runs, shipped_model):
    """The host Detector on TFLM computes the board's model outputs; on LiteRT a 1-step difference can move a
    detection by one stride when the smoothed score sits on the threshold (once in 117 on the 10-minute stream of
    benchmarks/firmware_size.py)."""
    result, pcm = runs["stream"]
    board = result.detections()
    hosts = {runtime: [(d.label, round(d.time_s, 2), d.score) for d in
                       detect_audio(Model(shipped_model.path, runtime), pcm / np.float32(32768))]
             for runtime in ("tflm", "litert")}
    same = [(label, t) for label, t, _ in board] == [(label, t) for label, t, _ in hosts["litert"]]
    print(f"{len(board)} detections on {len(pcm) / 16000:.0f} s, the host's on LiteRT {'equal' if same else 'differ'}; "
          f"{result.instructions_per_inference():,.0f} instructions per inference, "
          f"{result.instructions_per_hop():,.0f} per hop")
    host = hosts["tflm"]
    assert len(host) >= 5 and "audio overrun" not in " ".join(result.serial)
    # The board keeps up: one inference and its stride's front-end hops fit the stride at 64 MHz even if an
    # instruction took 1.5 cycles on average (QEMU counts instructions, not cycles; measured: 51 % at 1 cycle).
    settings = DetectorSettings.from_metadata(shipped_model.metadata)
    stride = settings.stride_frames(shipped_model.config.hop_ms)
    assert result.instructions_per_stride(stride) * 1.5 / 64e6 <= settings.stride_ms / 1000
    assert [(label, t) for label, t, _ in board] == [(label, t) for label, t, _ in host]
    assert all(abs(a - b) <= 0.006 for (_, _, a), (_, _, b) in zip(board, host))  # printed with 2 decimals


def test_the_reserved_arena_holds_the_boards_and_comes_from_the_measurement(runs, shipped_model):
    used, reserved = runs["clips"][0].arena()
    assert reserved == arena_size(measure_arena(shipped_model.bytes))
    assert used <= reserved
