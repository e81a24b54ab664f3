"""The firmware for a model: its generated files (the model as an aligned C array, the front-end tables of
`kws.features.tables`, the feature, label, detection and quantization settings, the TFLM ops and the tensor arena
size), written with the hand-written sources as a complete Arduino sketch for a board, or as the Arduino library.

The sources are package data under kws/arduino: the library `kws` (library.properties; src/ holds the portable C++
and the shipped model's generated files) and one sketch folder per board, `kws_BOARD` (its .ino and board code).
Everything generated comes from the model file and its metadata, deterministically (same model, same bytes), so
the committed library can be checked against a fresh export."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from .errors import KwsError
from .features import FeatureConfig, tables
from .labels import is_keyword
from .metadata import DetectorSettings, load_model_file
from .outputs import output_folder, replace_file
from .paths import ARDUINO

LIBRARY = ARDUINO / "kws"  # the Arduino library: library.properties and src/
GENERATED = ("kws_config.h", "kws_tables.h", "kws_tables.cpp", "kws_model_data.h", "kws_model_data.cpp")
# The library's hand-written C++ (no Arduino or TFLM includes), which the tests also build for the host; C++14.
PORTABLE_SOURCES = ("kws_frontend.cpp", "kws_detector.cpp")
ARM_HINT = ("arm-none-eabi-g++ not found; apt-get install make gcc-arm-none-eabi libnewlib-arm-none-eabi "
            "libstdc++-arm-none-eabi-newlib")

# The arena is measured with the TFLM Python interpreter, on the 64-bit host: the board's 32-bit build (CMSIS-NN
# kernels, scratch buffers included) uses less, as the sketch reports under QEMU (firmware/README.md quotes both for
# the shipped model; tests/test_firmware_qemu.py checks used <= reserved). The margin over the host figure covers
# what neither measures: the Arduino library's TFLM version differs from the Python package's.
ARENA_MARGIN = 0.05

# TFLite builtin op -> tflite::MicroMutableOpResolver method
RESOLVER_METHODS = {
    "AVERAGE_POOL_2D": "AddAveragePool2D", "CONV_2D": "AddConv2D", "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "FULLY_CONNECTED": "AddFullyConnected", "MAX_POOL_2D": "AddMaxPool2D", "MEAN": "AddMean", "RELU": "AddRelu",
    "RESHAPE": "AddReshape", "SOFTMAX": "AddSoftmax", "ADD": "AddAdd", "QUANTIZE": "AddQuantize",
    "DEQUANTIZE": "AddDequantize", "STRIDED_SLICE": "AddStridedSlice", "CONCATENATION": "AddConcatenation",
    "PAD": "AddPad", "CALL_ONCE": "AddCallOnce", "VAR_HANDLE": "AddVarHandle", "READ_VARIABLE": "AddReadVariable",
    "ASSIGN_VARIABLE": "AddAssignVariable",
}


def _operators(model_bytes: bytes):
    """(graph, operator, builtin op name) of each of the model's operators, subgraph by subgraph, in order."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(model_bytes, 0)
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            code = model.OperatorCodes(op.OpcodeIndex())
            yield graph, op, names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")


def model_ops(model_bytes: bytes) -> list[str]:
    """The builtin ops the model's operators use, in order of first use."""
    return list(dict.fromkeys(name for _, _, name in _operators(model_bytes)))


def model_inputs(model_bytes: bytes) -> int:
    """The values the model takes a call: its window of features, or a streaming model's stride of them."""
    from ai_edge_litert import schema_py_generated as schema

    graph = schema.Model.GetRootAs(model_bytes, 0).Subgraphs(0)
    return int(np.prod(graph.Tensors(graph.Inputs(0)).ShapeAsNumpy()))


def model_layers(model_bytes: bytes) -> list[tuple[str, int]]:
    """(op, multiply-accumulates) of each of the model's operators, in order: a convolution's output elements
    times its kernel's size (times the input channels unless depthwise), a dense layer's inputs times outputs,
    a pooling's output elements times its window; 0 for the rest."""
    from ai_edge_litert import schema_py_generated as schema

    layers = []
    for graph, op, name in _operators(model_bytes):
        shape = lambda i: graph.Tensors(i).ShapeAsNumpy().tolist()  # noqa: E731
        out = int(np.prod(shape(op.Outputs(0))))
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            _, kh, kw, cin = shape(op.Inputs(1))  # (out channels or 1, kh, kw, in channels or out channels)
            macs = out * kh * kw * (cin if name == "CONV_2D" else 1)
        elif name == "FULLY_CONNECTED":
            macs = int(np.prod(shape(op.Inputs(1))))
        elif name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            options = schema.Pool2DOptions()
            options.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            macs = out * options.FilterHeight() * options.FilterWidth()
        else:
            macs = 0
        layers.append((name, macs))
    return layers


def measure_arena(model_bytes: bytes) -> int:
    """Tensor arena bytes the model takes under the TFLM Python interpreter (its allocation recorder, which
    prints to the C stderr: captured here)."""
    try:
        from tflite_micro.python.tflite_micro import runtime as tflm
    except ImportError:
        raise KwsError("export-firmware measures the tensor arena with TFLite Micro, which the runtime install "
                       "lacks; `pip install tflite-micro` (or `pip install -e .[train]`)") from None

    interp = tflm.Interpreter.from_bytes(model_bytes)
    detail = interp.get_input_details(0)
    interp.set_input(np.zeros(detail["shape"], detail["dtype"]), 0)
    interp.invoke()
    with tempfile.TemporaryFile() as log:
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            interp.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        found = re.search(rb"Arena allocation total (\d+) bytes", log.read())
    if not found:
        raise KwsError("the TFLM Python interpreter did not report its arena use; check the tflite-micro package")
    return int(found.group(1))


def arena_size(measured: int) -> int:
    """The arena the sketch reserves: the measured bytes plus ARENA_MARGIN, rounded up to 1 KB."""
    return math.ceil(measured * (1 + ARENA_MARGIN) / 1024) * 1024


def sparse_mel(mel: np.ndarray) -> tuple[list[int], list[int], np.ndarray]:
    """Per band: first FFT bin, bin count and the weights between its first and last nonzero weight."""
    first, count, weights = [], [], []
    for row in mel:
        nonzero = np.flatnonzero(row)
        lo, hi = (int(nonzero[0]), int(nonzero[-1]) + 1) if len(nonzero) else (0, 0)
        first.append(lo)
        count.append(hi - lo)
        weights.append(row[lo:hi])
    return first, count, np.concatenate(weights)


def _quantization(model_bytes: bytes, config: FeatureConfig, n_labels: int, stride: int, path: Path) -> dict:
    """The model's input and output quantization, and the frames it takes a call: the window's, or a stride's
    (a streaming model, which keeps what it needs of the frames before)."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=model_bytes)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    if inp["dtype"] != np.int8 or out["dtype"] != np.int8:
        raise KwsError(f"{path}: the firmware runs full-int8 models; quantize the model with `kws quantize`")
    frames = int(np.prod(inp["shape"])) / config.n_features
    if frames not in (config.n_frames, stride) or int(np.prod(out["shape"])) != n_labels:
        raise KwsError(f"{path}: model tensors {inp['shape'].tolist()} -> {out['shape'].tolist()} do not fit "
                       f"{config.n_frames}x{config.n_features} features (or a stride's {stride} frames) and "
                       f"{n_labels} labels")
    return {"input": inp["quantization"][:2], "output": out["quantization"][:2], "frames": int(frames)}


def _f(x) -> str:
    """A float32 C literal that reads back to the same float32 (9 significant digits)."""
    s = "%.9g" % float(np.float32(x))
    return (s if any(c in s for c in ".en") else s + ".0") + "f"


def _rows(items, per_line: int) -> str:
    items = list(items)
    lines = (items[i : i + per_line] for i in range(0, len(items), per_line))
    return "\n".join("    " + " ".join(f"{v}," for v in line) for line in lines)


def _array(decl: str, items, per_line: int, comment: str) -> str:
    return f"// {comment}\n{decl} = {{\n{_rows(items, per_line)}\n}};\n"


def generate(model_path) -> dict[str, str]:
    """The generated files for `model_path` (GENERATED: name -> text)."""
    model_path = Path(model_path)
    data, meta = load_model_file(model_path)
    config = meta.features
    if config.n_fft & (config.n_fft - 1) or not config.hop_length <= config.window_length <= config.n_fft:
        raise KwsError(f"{model_path}: the firmware front end needs a power-of-two n_fft >= window >= hop "
                       f"(got {config.n_fft}, {config.window_length}, {config.hop_length})")
    labels = list(meta.labels)
    settings = DetectorSettings.from_metadata(meta)
    stride, smooth = settings.stride_frames(config.hop_ms), settings.smooth_inferences(config.hop_ms)
    quant = _quantization(data, config, len(labels), stride, model_path)
    ops = model_ops(data)
    unknown = [op for op in ops if op not in RESOLVER_METHODS]
    if unknown:
        raise KwsError(f"{model_path}: ops {unknown} have no entry in kws.firmware.RESOLVER_METHODS; add them there")
    measured = measure_arena(data)
    t = tables(config)
    first, count, weights = sparse_mel(t.mel)

    head = f"// generated by `kws export-firmware` from {model_path.name}, do not edit\n"
    add_ops = " && \\\n   ".join(f"(r).{RESOLVER_METHODS[op]}() == kTfLiteOk" for op in ops)
    files = {}
    files["kws_config.h"] = f"""{head}
#ifndef KWS_CONFIG_H_
#define KWS_CONFIG_H_

namespace kws {{

// Front end (kws.features.FeatureConfig): {config.kind} features
#define KWS_FEATURES_MFCC {int(config.kind == "mfcc")}  // 1: a DCT of the log-mel bands; 0: the bands themselves
constexpr int kSampleRate = {config.sample_rate};
constexpr int kWindowLength = {config.window_length};  // samples per frame ({config.window_ms:g} ms)
constexpr int kHopLength = {config.hop_length};  // samples between frames ({config.hop_ms:g} ms)
constexpr int kFftSize = {config.n_fft};
constexpr int kNumBins = {config.n_fft // 2 + 1};
constexpr int kNumMels = {config.n_mels};
constexpr int kNumFeatures = {config.n_features};  // per frame: {"MFCCs" if config.kind == "mfcc" else "log-mel bands"}
constexpr int kNumFrames = {config.n_frames};  // frames per model input
constexpr float kLogFloor = {_f(config.log_floor)};
constexpr int kMelWeightCount = {len(weights)};

constexpr int kNumLabels = {len(labels)};

// Detection (as kws.detector.Detector): threshold {settings.threshold:g}, smoothing {settings.smoothing_ms:g} ms, \
suppression {settings.suppression_ms:g} ms, stride {settings.stride_ms:g} ms
constexpr double kThreshold = {settings.threshold!r};  // doubles: compared as the host compares them
constexpr double kSuppressionMs = {settings.suppression_ms!r};
constexpr int kStrideFrames = {stride};  // run the model every this many frames
constexpr int kSmoothInferences = {smooth};  // average the posteriors of this many inferences

// Model tensors
constexpr float kInputScale = {_f(quant["input"][0])};
constexpr int kInputZeroPoint = {int(quant["input"][1])};
constexpr int kInputFrames = {quant["frames"]};  // frames the model takes a call: the newest of the window
constexpr float kOutputScale = {_f(quant["output"][0])};
constexpr int kOutputZeroPoint = {int(quant["output"][1])};
// {measured} bytes measured by the TFLM Python interpreter (64-bit; the board needs less), plus {ARENA_MARGIN:.0%}, \
rounded up to 1 KB
constexpr int kTensorArenaSize = {arena_size(measured)};

}}  // namespace kws

// The ops the model uses, for tflite::MicroMutableOpResolver<KWS_NUM_OPS>; KWS_ADD_OPS(r) is true when all are added.
#define KWS_NUM_OPS {len(ops)}
// Variables the model keeps between calls (a streaming model's past steps); 0 for a window model
#define KWS_NUM_VARIABLES {sum(name == "VAR_HANDLE" for _, _, name in _operators(data))}
#define KWS_ADD_OPS(r) \\
  ({add_ops})

#endif  // KWS_CONFIG_H_
"""
    files["kws_tables.h"] = f"""{head}
#ifndef KWS_TABLES_H_
#define KWS_TABLES_H_

#include <stdint.h>

#include "kws_config.h"

namespace kws {{

extern const float kWindow[kWindowLength];
extern const int16_t kMelFirst[kNumMels];
extern const int16_t kMelCount[kNumMels];
extern const float kMelWeights[kMelWeightCount];
#if KWS_FEATURES_MFCC
extern const float kDct[kNumFeatures * kNumMels];
#endif
extern const char* const kLabels[kNumLabels];
extern const bool kIsKeyword[kNumLabels];

}}  // namespace kws

#endif  // KWS_TABLES_H_
"""
    files["kws_tables.cpp"] = "\n".join([
        head,
        '#include "kws_tables.h"\n',
        "namespace kws {\n",
        _array("const float kWindow[kWindowLength]", map(_f, t.window), 8, "Periodic Hann window"),
        _array("const int16_t kMelFirst[kNumMels]", first, 20,
               "Mel filterbank, sparse: band b weighs FFT bins kMelFirst[b] .. kMelFirst[b] + kMelCount[b] - 1"),
        _array("const int16_t kMelCount[kNumMels]", count, 20, "Weights per band"),
        _array("const float kMelWeights[kMelWeightCount]", map(_f, weights), 8, "The bands' weights, band after band"),
        *([_array("const float kDct[kNumFeatures * kNumMels]", map(_f, t.dct.ravel()), 8,
                  "Orthonormal DCT-II rows with the lifter folded in, kNumFeatures x kNumMels")]
          if t.dct is not None else []),
        _array("const char* const kLabels[kNumLabels]", map(json.dumps, labels), 12, "Model output labels"),
        _array("const bool kIsKeyword[kNumLabels]", ("true" if is_keyword(l) else "false" for l in labels),
               12, "Labels that fire detections"),
        "}  // namespace kws\n",
    ])
    files["kws_model_data.h"] = f"""{head}
#ifndef KWS_MODEL_DATA_H_
#define KWS_MODEL_DATA_H_

namespace kws {{

extern const unsigned char kModelData[];  // the .tflite flatbuffer, 16-byte aligned
extern const unsigned int kModelDataLen;

}}  // namespace kws

#endif  // KWS_MODEL_DATA_H_
"""
    files["kws_model_data.cpp"] = "\n".join([
        head,
        '#include "kws_model_data.h"\n',
        "namespace kws {\n",
        _array("alignas(16) const unsigned char kModelData[]", (f"0x{b:02x}" for b in data), 12, model_path.name),
        f"const unsigned int kModelDataLen = {len(data)};\n",
        "}  // namespace kws\n",
    ])
    return files


def boards() -> dict[str, Path]:
    """The boards there is a sketch for: name (kws_nano33/ -> nano33) -> sketch folder."""
    return {p.name.removeprefix("kws_"): p for p in sorted(ARDUINO.glob("kws_*")) if (p / f"{p.name}.ino").is_file()}


SKETCH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")  # what the Arduino IDE accepts as a sketch's name


def export_firmware(model_path, out_dir, board: str = "nano33", library: bool = False, force: bool = False) -> list[Path]:
    """Write a complete Arduino sketch for `board` into `out_dir`, named after the folder (OUT/OUT.ino, the board's
    code, the library's sources and the files generated for `model_path`), or with `library` the Arduino library
    (library.properties and src/). A folder that already holds files is refused unless `force`, which replaces the
    files written here and keeps the others. Returns the files written."""
    out_dir = Path(out_dir)
    if not library and board not in boards():
        raise KwsError(f"no sketch for board {board!r}; pick one of {', '.join(boards())}")
    if not library and not SKETCH_NAME.fullmatch(out_dir.name):
        raise KwsError(f"{out_dir}: an Arduino sketch's folder name starts with a letter or digit and holds only "
                       "letters, digits, '_', '.' and '-' (at most 63); pick another name")
    held = sorted(p.name for p in out_dir.iterdir()) if out_dir.is_dir() else []
    if held and not force:
        raise KwsError(f"{out_dir}: already holds {', '.join(held[:4])}{' ...' if len(held) > 4 else ''}; pass "
                       "--force to replace the files export-firmware writes (others are kept), or pick a new folder")
    created = not out_dir.exists()
    output_folder(out_dir, "--out")  # writable: checked before the work
    try:
        generated = generate(model_path)
    except KwsError:
        if created:  # a bad model leaves no trace
            out_dir.rmdir()
        raise
    sources = {p.name: p.read_bytes() for p in sorted((LIBRARY / "src").iterdir()) if p.name not in GENERATED}
    sources |= {name: text.encode() for name, text in generated.items()}
    if library:
        files = {"library.properties": (LIBRARY / "library.properties").read_bytes()}
        files |= {f"src/{name}": data for name, data in sources.items()}
    else:  # the board's files, its .ino named after the folder, and the library's flat beside them
        files = {(f"{out_dir.name}.ino" if p.suffix == ".ino" else p.name): p.read_bytes()
                 for p in sorted(boards()[board].iterdir())} | sources
    written = []
    for name, data in files.items():
        written.append(replace_file(out_dir / name, data))
    return written
