"""Flash and RAM the sketch's own code and data take on the Nano 33 BLE Sense (nRF52840: 1 MB flash, 256 KB RAM).

    python benchmarks/firmware_size.py [--data ../shared/data/speech_commands]

Cross-compiles the portable C++ of firmware/kws_nano33 for the Cortex-M4F (arm-none-eabi-g++ -Os, the flags the
tests use), reads the section sizes with arm-none-eabi-size, adds the RAM the sketch reserves (tensor arena,
microphone ring), and links the code with newlib-nano to count the C library functions it pulls in. The TFLM
library, the Arduino mbed core and the PDM library cannot be built here and are not included.
With --data, also compares TFLite Micro's int8 outputs with LiteRT's on all validation clips."""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from kws import DEFAULT_MODEL
from kws.firmware import ARENA_MARGIN, ARM_HINT, CORTEX_M4_FLAGS, PORTABLE_SOURCES, arena_size, measure_arena

SKETCH = Path(__file__).resolve().parent.parent / "firmware" / "kws_nano33"
FLASH, RAM = 1024 * 1024, 256 * 1024
# A stand-in for the sketch's loop(): the detector and the ring as globals, fed from the ring, the model stubbed.
SIZE_MAIN = """#include "kws_detector.h"
#include "kws_model_data.h"
#include "kws_ring.h"
static bool stub(const int8_t*, int8_t* out, void*) { out[0] = kws::kModelData[0]; return true; }
kws::Detector g_detector(stub, nullptr);
kws::SampleRing g_ring;
int main() {
  int16_t s;
  kws::Detection d;
  int fired = 0;
  while (g_ring.read(&s)) fired += g_detector.push(s, &d);
  return fired;
}
"""


def section_sizes(size_tool: str, path: Path) -> dict[str, int]:
    """Bytes per section of an object or ELF, from `size -A`."""
    lines = subprocess.run([size_tool, "-A", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    return {p[0]: int(p[1]) for p in map(str.split, lines) if len(p) == 3 and p[0].startswith(".")}


def sections(size_tool: str, path: Path) -> dict[str, int]:
    """Bytes per section kind: text (code), rodata (constants), data, bss."""
    out = dict.fromkeys(("text", "rodata", "data", "bss"), 0)
    for name, size in section_sizes(size_tool, path).items():
        kind = name[1:].split(".")[0]
        if kind in out:
            out[kind] += size
    return out


def tflm_vs_litert(data_dir: Path) -> None:
    from kws.data.cache import clip_features
    from kws.data.speech_commands import SpeechCommands
    from kws.features import FeatureConfig
    from kws.runtime import Model

    config = FeatureConfig()
    dataset = SpeechCommands(data_dir)
    clips = dataset.split("validation", config.clip_samples, config.sample_rate)
    features = clip_features(dataset, clips, config)
    litert, tflm = Model(DEFAULT_MODEL, "litert"), Model(DEFAULT_MODEL, "tflm")
    a = np.stack([litert.predict(f) for f in features])
    b = np.stack([tflm.predict(f) for f in features])
    steps = np.rint(np.abs(a - b) / litert.output_quant[0])
    truth = np.array([litert.labels.index(c.label) for c in clips])
    print(f"\nTFLite Micro vs LiteRT, {len(clips)} validation clips: outputs at most {steps.max():g} int8 steps apart, "
          f"{(steps > 0).mean():.2%} of outputs differ, top-1 differs on {int((a.argmax(1) != b.argmax(1)).sum())} "
          f"clips; accuracy {(a.argmax(1) == truth).mean():.4f} (LiteRT) / {(b.argmax(1) == truth).mean():.4f} (TFLM)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="Speech Commands folder: also compare TFLM with LiteRT on it")
    args = parser.parse_args()
    gxx, size_tool = shutil.which("arm-none-eabi-g++"), shutil.which("arm-none-eabi-size")
    if gxx is None or size_tool is None:
        sys.exit(ARM_HINT)
    version = subprocess.run([gxx, "-dumpversion"], capture_output=True, text=True).stdout.strip()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        objects = {}
        for source in PORTABLE_SOURCES:
            objects[source] = tmp / f"{source}.o"
            subprocess.run([gxx, *CORTEX_M4_FLAGS, "-c", str(SKETCH / source), "-o", str(objects[source])], check=True)
        (tmp / "main.cpp").write_text(SIZE_MAIN)
        main_obj = tmp / "main.o"
        subprocess.run([gxx, *CORTEX_M4_FLAGS, f"-I{SKETCH}", "-c", str(tmp / "main.cpp"), "-o", str(main_obj)],
                       check=True)
        elf = tmp / "kws.elf"
        subprocess.run([gxx, *CORTEX_M4_FLAGS, "-Wl,--gc-sections", "--specs=nano.specs", "--specs=nosys.specs",
                        *map(str, objects.values()), str(main_obj), "-o", str(elf)], check=True)
        sizes = {name: sections(size_tool, path) for name, path in objects.items()}
        main_sections = section_sizes(size_tool, main_obj)
        linked = sections(size_tool, elf)

    code = sum(s["text"] for s in sizes.values())
    model = sizes["kws_model_data.cpp"]["rodata"]
    tables = sizes["kws_tables.cpp"]["rodata"]
    const = sum(s["rodata"] + s["data"] for s in sizes.values())
    measured = measure_arena(DEFAULT_MODEL.read_bytes())
    arena = arena_size(measured)
    flash = code + const
    detector, ring = main_sections[".bss.g_detector"], main_sections[".bss.g_ring"]
    ram = detector + ring + arena
    kb = lambda n: f"{n:>8,} B  ({n / 1024:6.1f} KB)"  # noqa: E731

    print(f"firmware/kws_nano33, portable C++ cross-compiled with arm-none-eabi-g++ {version} -Os for the Cortex-M4F")
    print("flash")
    for source in PORTABLE_SOURCES[:2]:
        print(f"  code {source:<24} {kb(sizes[source]['text'])}")
    print(f"  code, all portable files       {kb(code)}")
    print(f"  model ({DEFAULT_MODEL.name})         {kb(model)}")
    print(f"  front-end tables + labels      {kb(tables)}")
    print(f"  total                          {kb(flash)}  = {flash / FLASH:.1%} of 1 MB")
    print("RAM")
    print(f"  kws::Detector                  {kb(detector)}  (front end: frame, FFT buffers, twiddles; int8 "
          "input window; posterior history)")
    print(f"  kws::SampleRing                {kb(ring)}  (microphone ring, 512 ms)")
    print(f"  tensor arena                   {kb(arena)}  ({measured:,} B measured by the TFLM Python interpreter "
          f"+ {ARENA_MARGIN:.0%})")
    print(f"  total                          {kb(ram)}  = {ram / RAM:.1%} of 256 KB")
    print(f"linked with newlib-nano (adds cos/sin, log10f, rintf, startup): "
          f"text {linked['text'] + linked['rodata']:,} B, data {linked['data']:,} B, bss {linked['bss']:,} B")
    print("not included: the TensorFlow Lite Micro library (interpreter and the 5 kernels), the Arduino mbed core "
          "(Mbed OS, USB serial), the PDM library, stack and heap; they cannot be built here.\nCited, not measured: "
          "TensorFlow gives 16 KB for the TFLM core runtime on a Cortex-M3 "
          "(https://www.tensorflow.org/lite/microcontrollers)")
    if args.data:
        tflm_vs_litert(args.data)


if __name__ == "__main__":
    main()
