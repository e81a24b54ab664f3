"""The Arduino sketch as the board runs it, emulated: cross-built with the vendored TensorFlow Lite Micro
(`make -C firmware/qemu`, see its Makefile) and run under `qemu-system-arm -M mps2-an386` (a Cortex-M4F) with 16-bit
audio played through the PDM stand-in. A run gives the sketch's serial output, every inference's int8 tensors and
instruction counts (QEMU's `-icount shift=0`: one instruction per emulated nanosecond); the link map gives the
image's flash and RAM per part."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import KwsError
from .features import FeatureConfig, mfcc, num_frames
from .firmware import ARM_HINT
from .detector import model_calls
from .paths import ARDUINO

REPO = Path(__file__).resolve().parent.parent  # the emulated board is built from a checkout: firmware/qemu
QEMU_DIR = REPO / "firmware" / "qemu"
BUILD = REPO / "build" / "qemu"
ELF, MAP = BUILD / "kws_nano33.elf", BUILD / "kws_nano33.map"
QEMU = ("qemu-system-arm", "-M", "mps2-an386", "-nographic", "-semihosting", "-icount", "shift=0")
QEMU_HINT = "qemu-system-arm not found; apt-get install qemu-system-arm"
# The ops whose CMSIS-NN calls firmware/qemu/layers.cpp times, one layer each (an ADD is counted in the inference only)
INSTRUCTIONS_PER_TICK = 40  # the board's timer runs at 25 MHz, one instruction takes 1 ns (firmware/qemu/board.h)


def build(jobs: int = 2, sketch: Path | None = None) -> Path:
    """Bring the image of the shipped sketch, or of a `sketch` folder `kws export-firmware` wrote, up to date
    (make: only what changed is rebuilt); returns its ELF."""
    if shutil.which("arm-none-eabi-g++") is None:
        raise KwsError(ARM_HINT)
    extra = [f"SKETCH={Path(sketch).resolve()}"] if sketch else []
    r = subprocess.run(["make", "-C", str(QEMU_DIR), f"-j{jobs}", "--no-print-directory", *extra], capture_output=True,
                       text=True)
    if r.returncode:
        raise KwsError(f"the firmware build failed:\n{r.stdout[-4000:]}{r.stderr[-4000:]}")
    return BUILD / f"{Path(sketch).resolve().name}.elf" if sketch else ELF


@dataclass
class Run:
    """What one run of the image reported."""

    serial: list[str]  # the sketch's serial output, line by line
    inputs: np.ndarray  # (inferences, n_frames * n_features) int8 model inputs
    outputs: np.ndarray  # (inferences, n_labels) int8 model outputs
    counts: dict[str, int]  # samples, inferences and emulated timer ticks (see firmware/qemu/main.cpp)

    def arena(self) -> tuple[int, int]:
        """(bytes of the tensor arena used, bytes reserved), as the sketch prints them."""
        for line in self.serial:
            found = re.fullmatch(r"kws: tensor arena (\d+) of (\d+) bytes used", line)
            if found:
                return int(found.group(1)), int(found.group(2))
        raise KwsError("the sketch did not report its tensor arena")

    def detections(self) -> list[tuple[str, float, float]]:
        """(label, time s, score) of each detection the sketch printed ("label time s score x.xx")."""
        found = (re.fullmatch(r"(\S+) (\d+\.\d\d) s score (\d\.\d\d)", line) for line in self.serial)
        return [(m.group(1), float(m.group(2)), float(m.group(3))) for m in found if m]

    def layers(self) -> list[tuple[str, str, float]]:
        """Per layer (operator) of an inference, in order: its op, the CMSIS-NN kernel it ran ("-" for none) and its
        instructions per inference (firmware/qemu/layers.cpp)."""
        found = (re.fullmatch(r"qemu-layer \d+ (\S+) (\S+) (\d+)", line) for line in self.serial)
        return [(m.group(1), m.group(2), int(m.group(3)) * INSTRUCTIONS_PER_TICK / self.counts["inferences"])
                for m in found if m]

    def hops(self, config: FeatureConfig = FeatureConfig()) -> int:
        """Front-end frames the audio made."""
        return num_frames(self.counts["samples"], config)

    def instructions_per_inference(self) -> float:
        return self.counts["invoke_ticks"] * INSTRUCTIONS_PER_TICK / self.counts["inferences"]

    def instructions_per_hop(self) -> float:
        """The sketch's audio path without the model: the PDM callback, the ring, the front end and the detector."""
        c = self.counts
        ticks = c["loop_ticks"] - c["invoke_ticks"] - c["record_ticks"] + c["callback_ticks"]
        return ticks * INSTRUCTIONS_PER_TICK / self.hops()

    def instructions_per_stride(self, stride_frames: int) -> float:
        """One inference and the front-end hops of its stride: what has to fit in the stride."""
        return self.instructions_per_inference() + stride_frames * self.instructions_per_hop()


def run(pcm: np.ndarray, n_inputs: int, n_labels: int, timeout: float | None = None, elf: Path = ELF) -> Run:
    """Play 16-bit 16 kHz `pcm` to the built image; the tensors are split into inputs and outputs by their sizes."""
    if shutil.which(QEMU[0]) is None:
        raise KwsError(QEMU_HINT)
    with tempfile.TemporaryDirectory() as tmp:
        np.asarray(pcm, "<i2").tofile(Path(tmp) / "kws_audio.raw")
        r = subprocess.run([*QEMU, "-kernel", str(elf)], cwd=tmp, capture_output=True, text=True, timeout=timeout)
        tensors = np.fromfile(Path(tmp) / "kws_tensors.bin", np.int8).reshape(-1, n_inputs + n_labels)
    lines = r.stdout.splitlines()
    if r.returncode or not lines or not lines[-1].startswith("qemu:"):
        raise KwsError(f"the emulated sketch failed (exit status {r.returncode}):\n{r.stdout[-2000:]}{r.stderr}")
    words = lines[-1].split()[1:]
    counts = {name: int(value) for name, value in zip(words[::2], words[1::2])}
    return Run(lines[:-1], tensors[:, :n_inputs], tensors[:, n_inputs:], counts)


def pcm16(audio: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1) as the microphone's 16-bit ones."""
    return np.round(np.asarray(audio) * 32768).clip(-32768, 32767).astype(np.int16)


def run_model_file(model_path, work: Path, seconds: float = 2.0, audio: np.ndarray | None = None) -> Run:
    """Export a sketch for `model_path` into `work`, build it and run it on `audio` (float samples), or on `seconds`
    of silence: what a model costs on the board (instructions per inference, per layer), trained or not."""
    from .firmware import export_firmware, model_inputs
    from .metadata import load_model_file

    data, meta = load_model_file(model_path)
    config = meta.features
    sketch = Path(work) / f"sketch_{Path(model_path).stem.replace('-', '_')}"
    export_firmware(model_path, sketch, force=True)
    sound = np.zeros(int(seconds * config.sample_rate)) if audio is None else audio
    return run(pcm16(sound), model_inputs(data), len(meta.labels), elf=build(sketch=sketch))


def clip_stream(audio: np.ndarray, model) -> tuple[np.ndarray, np.ndarray]:
    """16-bit samples that play clips (N, clip_samples, float) after a few hops of silence, each filled out with
    silence to a whole number of strides, placed so that one output of the sketch's model answers for exactly each
    clip's window; and the indices of those outputs among the model's calls. (A streaming model's output also hears
    the frames before its window: the clip before, or the silence before the first.)"""
    config, (stride, first, ready) = model.config, model_calls(model)
    per_clip, rest = divmod(audio.shape[1], config.hop_length)
    if rest or config.window_length + (config.n_frames - 1) * config.hop_length != audio.shape[1]:
        raise KwsError("clips must be a whole number of hops long and exactly one model window")
    gap = -per_clip % stride  # hops of silence after each clip
    lead = -ready % stride  # hops of silence before the first clip: its window then ends on a stride
    heard = lead + ready + (per_clip + gap) * np.arange(len(audio))  # frames heard when each clip's output comes
    clips = np.pad(audio, ((0, 0), (0, gap * config.hop_length))).reshape(-1)
    return pcm16(np.concatenate([np.zeros(lead * config.hop_length), clips])), (heard - first) // stride


def host_calls(model, pcm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The int8 inputs and outputs of each model call the sketch's detector makes on `pcm`, made by the Python
    front end and the host's interpreter: the newest frames of the window heard (zeros before the first frame)."""
    c, (stride, first, _) = model.config, model_calls(model)
    padded = np.vstack([np.zeros((c.n_frames, c.n_features), np.float32), mfcc(pcm / np.float32(32768), c)])
    stream, inputs = model.stream(), []
    for heard in range(first, len(padded) - c.n_frames + 1, stride):
        inputs.append(model.quantize_input(padded[heard : heard + c.n_frames])[-model.input_frames :].reshape(-1))
    return np.array(inputs), np.array([stream.predict_int8(q) for q in inputs])


def settling_calls(model) -> int:
    """Calls before what a streaming model keeps no longer reaches its outputs: it starts as zeroed bytes on the
    board and as zeros on the host, and reaches a window and a half of outputs."""
    return 3 * model.config.n_frames // 2 // model_calls(model).stride if model.streaming else 0


# Parts of the image, by the path of the object file or library its sections came from.
PARTS = (("sketch", f"{ARDUINO}/"), ("TFLM and CMSIS-NN", "/Chirale_TensorFlowLite/"), ("C/C++ runtime", ".a("),
         ("Arduino API", "/ArduinoCore-API/"), ("PDM buffer", "/ArduinoCore-mbed/"), ("stand-ins", f"{QEMU_DIR}/"))


LOADED = (".text", ".rodata", ".data", ".bss", "COMMON", ".isr_vector", ".init_array", ".fini_array", ".ARM.exidx")


def image_sizes(map_path: Path = MAP) -> dict[str, dict[str, int]]:
    """Flash (code, constants, initial data) and RAM (data, zeroed) bytes per part of the linked image, from the
    linker's map."""
    text = map_path.read_text()
    text = text[text.index("Linker script and memory map") :]
    sizes = {name: {"flash": 0, "ram": 0} for name, _ in PARTS}
    # an input section: " .name [newline] 0xADDRESS 0xSIZE file", the name alone on its line when it is long
    for section, size, source in re.findall(r"^ (\.\S+|COMMON)\s+0x[0-9a-f]+\s+0x([0-9a-f]+) (\S.*)$", text, re.M):
        n = int(size, 16)
        part = next((name for name, key in PARTS if key in source), None)
        if part is None and n:
            raise KwsError(f"{map_path}: cannot tell which part {source} belongs to")
        if not n or not section.startswith(LOADED):
            continue
        data, bss = section.startswith(".data"), section.startswith(".bss") or section == "COMMON"
        sizes[part]["flash"] += 0 if bss else n
        sizes[part]["ram"] += n if data or bss else 0
    return sizes
