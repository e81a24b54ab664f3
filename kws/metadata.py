"""The facts that travel inside the .tflite file (feature settings, labels, thresholds, training data, measured
accuracy), stored as a JSON entry "kws" in the flatbuffer's metadata table; read without TensorFlow."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

from .errors import KwsError
from .features import FeatureConfig

KEY = b"kws"


def read_metadata(model_bytes: bytes, path="model") -> dict:
    """The "kws" metadata of a .tflite model; a clear error where there is none."""
    try:
        model = schema.Model.GetRootAs(model_bytes, 0)
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            if entry.Name() == KEY:
                return json.loads(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes())
    except Exception:  # any parse failure means the bytes are not a model kws can read
        raise KwsError(f"{path}: not a TFLite model (cannot parse the flatbuffer); pass a .tflite made by `kws quantize`") from None
    raise KwsError(f"{path}: TFLite model without kws metadata; export it with `kws quantize` so it carries its feature settings and labels")


def write_metadata(model_bytes: bytes, metadata: dict) -> bytes:
    """The model with its "kws" entry set to `metadata`; tensor names shortened and the converter's own
    bookkeeping entries dropped, to keep the flash footprint small."""
    model = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    for sub in model.subgraphs:
        io = set(sub.inputs) | set(sub.outputs)
        for i, tensor in enumerate(sub.tensors):
            if i not in io:
                tensor.name = f"t{i}".encode()
    model.signatureDefs = None
    model.metadata = [m for m in (model.metadata or []) if m.name == b"min_runtime_version"]
    buffer = schema.BufferT()
    buffer.data = list(json.dumps(metadata, separators=(",", ":"), sort_keys=True).encode())
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = KEY, len(model.buffers) - 1
    model.metadata.append(entry)
    builder = flatbuffers.Builder(16384)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def check_features(metadata: dict, config: FeatureConfig, path="model") -> None:
    """Refuse a model trained on other feature settings than the running front end."""
    theirs = metadata.get("features")
    if theirs != config.to_dict():
        diff = sorted(k for k in set(config.to_dict()) | set(theirs or {}) if (theirs or {}).get(k) != config.to_dict().get(k))
        raise KwsError(
            f"{path}: model was trained on other feature settings than this kws front end (differs in {', '.join(diff)}); "
            "retrain it with `kws train` or use the kws version it was made with"
        )


def check_metadata(metadata: dict, path="model") -> None:
    """Refuse metadata without the keys kws reads, or with detection settings that are not numbers."""
    from .detector import DetectorSettings

    for key in ("features", "labels"):
        if key not in metadata:
            raise KwsError(f"{path}: metadata without {key!r}; export the model with `kws quantize`")
    labels = metadata["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
        raise KwsError(f"{path}: metadata 'labels' is not a list of names; export the model with `kws quantize`")
    detection = metadata.get("detection", {})
    for f in dataclasses.fields(DetectorSettings):
        value = detection.get(f.name, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise KwsError(f"{path}: detection setting {f.name!r} is {value!r}, not a number; export the model "
                           "with `kws quantize`")


def load_model_file(path) -> tuple[bytes, dict]:
    path = Path(path)
    if path.is_dir():
        raise KwsError(f"{path}: is a folder, not a model file; pass the .tflite in it (a training run holds model.tflite)")
    if not path.is_file():
        raise KwsError(f"{path}: no such model file; pass a .tflite made by `kws quantize` (the shipped one is models/kws12.tflite)")
    data = path.read_bytes()
    metadata = read_metadata(data, path)
    check_metadata(metadata, path)
    return data, metadata
