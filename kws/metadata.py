"""The facts that travel inside a .tflite made by kws: feature settings, labels, detection settings, the network,
its training data and measured accuracy. One typed owner, `ModelMetadata`, written by `kws quantize` and read by
everything else; stored as a JSON entry "kws" in the flatbuffer's metadata table, read without TensorFlow and
validated on load."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

from .errors import KwsError
from .features import FeatureConfig

KEY = b"kws"
FORMAT = 1  # the metadata layout this kws writes and reads
# The file's sha256, taken with the digest itself written as zeros: any damaged byte (a weight, a scale) is caught
# on load. Models written before it existed load unchecked.
CHECKSUM = "sha256"
_UNSET = "0" * 64
MAX_WINDOW_MS = 10_000.0  # no detection window (smoothing, suppression, stride) is longer than this


def _number(name: str, value, low: float, high: float, low_open: bool = False) -> float:
    """`value` as a float within [low, high] (or (low, high]); a one-line KwsError naming `name` otherwise."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (low < value if low_open else low <= value) or value > high:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise KwsError(f"{name} is {value!r}, not a number in {interval}")
    return float(value)


@dataclasses.dataclass(frozen=True)
class DetectorSettings:
    """How the detector decides: threshold on the smoothed posterior, smoothing and suppression windows, and how
    often the model runs. Out-of-range values raise `KwsError`.

    Parameters
    ----------
    threshold : float
        A keyword fires when its smoothed score is at least this, from 0 to 1.
    smoothing_ms : float
        The posteriors of the inferences in this window are averaged.
    suppression_ms : float
        No second detection this soon after one.
    stride_ms : float
        The model runs every this many ms of audio (rounded to whole front-end hops).
    """

    threshold: float = 0.8
    smoothing_ms: float = 500.0
    suppression_ms: float = 1000.0
    # 200 ms keeps one inference and its ten front-end hops within half the stride on the Nano 33 BLE's 64 MHz
    # Cortex-M4F (firmware/README.md) and detects as well as 40 ms does.
    stride_ms: float = 200.0

    def __post_init__(self):
        _number("threshold", self.threshold, 0.0, 1.0)
        _number("smoothing_ms", self.smoothing_ms, 0.0, MAX_WINDOW_MS)
        _number("suppression_ms", self.suppression_ms, 0.0, MAX_WINDOW_MS)
        _number("stride_ms", self.stride_ms, 0.0, MAX_WINDOW_MS, low_open=True)

    @classmethod
    def from_metadata(cls, metadata: ModelMetadata, **overrides) -> DetectorSettings:
        """The model's settings, with the `overrides` that are not None (e.g. ``threshold=0.7``)."""
        return dataclasses.replace(metadata.detection, **{k: v for k, v in overrides.items() if v is not None})

    def stride_frames(self, hop_ms: float) -> int:
        """Frames between inferences."""
        return max(1, round(self.stride_ms / hop_ms))

    def smooth_inferences(self, hop_ms: float) -> int:
        """Inferences whose posteriors are averaged."""
        return max(1, round(self.smoothing_ms / (self.stride_frames(hop_ms) * hop_ms)))


@dataclasses.dataclass(frozen=True)
class ModelMetadata:
    """What a kws model file says about itself.

    Parameters
    ----------
    features : FeatureConfig
        The front end the model was trained on.
    labels : tuple of str
        One name per model output, unique.
    detection : DetectorSettings
        The detection defaults (tuned on a stream when `tuned_on` says so).
    tuned_on : dict or None
        The stream the detection defaults were chosen on and what they scored there.
    model, training, accuracy : dict
        The network (architecture, widths, parameters), the data it trained on, its validation accuracy.
    """

    features: FeatureConfig
    labels: tuple[str, ...]
    detection: DetectorSettings = DetectorSettings()
    tuned_on: dict | None = None
    model: dict = dataclasses.field(default_factory=dict)
    training: dict = dataclasses.field(default_factory=dict)
    accuracy: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        labels = self.labels
        if not labels or not all(isinstance(label, str) and label.strip() for label in labels):
            raise KwsError(f"labels {list(labels)!r} are not a list of names")
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise KwsError(f"labels name {', '.join(twice)} more than once")

    def to_dict(self) -> dict:
        detection = dataclasses.asdict(self.detection) | ({"tuned_on": self.tuned_on} if self.tuned_on else {})
        return {"format": FORMAT, "features": self.features.to_dict(), "labels": list(self.labels),
                "detection": detection, "model": self.model, "training": self.training,
                **({"accuracy": self.accuracy} if self.accuracy else {})}

    @classmethod
    def from_dict(cls, d, path="model") -> ModelMetadata:
        """Validated metadata; a one-line KwsError naming `path` and what is wrong."""
        fix = "export the model again with `kws quantize`"
        try:
            if not isinstance(d, dict):
                raise KwsError("is not a JSON object")
            if d.get("format", FORMAT) != FORMAT:
                raise KwsError(f"has format {d.get('format')!r}, this kws reads {FORMAT}; upgrade kws")
            missing = [key for key in ("features", "labels") if key not in d]
            if missing:
                raise KwsError(f"lacks {', '.join(map(repr, missing))}")
            for key in ("features", "detection", "model", "training", "accuracy"):
                if not isinstance(d.get(key, {}), dict):
                    raise KwsError(f"{key!r} is {type(d[key]).__name__}, not an object")
            if not isinstance(d["labels"], list):
                raise KwsError("'labels' is not a list of names")
            detection = dict(d.get("detection", {}))
            tuned_on = detection.pop("tuned_on", None)
            names = {f.name for f in dataclasses.fields(DetectorSettings)}
            unknown = sorted(set(detection) - names)
            if unknown:
                raise KwsError(f"detection settings {unknown} are unknown to this kws; upgrade kws")
            return cls(FeatureConfig.from_dict(d["features"]), tuple(d["labels"]), DetectorSettings(**detection),
                       tuned_on, d.get("model", {}), d.get("training", {}), d.get("accuracy", {}))
        except KwsError as e:
            raise KwsError(f"{path}: metadata {e}; {fix}") from None

    def require_features(self, config: FeatureConfig, path="model") -> None:
        """Refuse a model trained on other feature settings than the running front end."""
        if self.features != config:
            theirs, ours = self.features.to_dict(), config.to_dict()
            diff = sorted(k for k in ours if theirs[k] != ours[k])
            raise KwsError(f"{path}: model was trained on other feature settings than this kws front end (differs "
                           f"in {', '.join(diff)}); retrain it with `kws train` or use the kws version it was made with")


def read_metadata_json(model_bytes: bytes, path="model") -> dict:
    """The raw "kws" entry of a .tflite model; a clear error where the bytes are no model or carry none."""
    try:
        model = schema.Model.GetRootAs(model_bytes, 0)
        entries = [model.Metadata(i) for i in range(model.MetadataLength())]
        entry = next((e for e in entries if e.Name() == KEY), None)
        raw = None if entry is None else model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    except Exception:  # any parse failure means the bytes are not a flatbuffer kws can read
        raise KwsError(f"{path}: not a TFLite model (cannot parse the flatbuffer); pass a .tflite made by "
                       "`kws quantize`") from None
    if raw is None:
        raise KwsError(f"{path}: TFLite model without kws metadata; export it with `kws quantize` so it carries its "
                       "feature settings and labels")
    try:
        return json.loads(raw)
    except ValueError:
        raise KwsError(f"{path}: its kws metadata is not JSON; export the model again with `kws quantize`") from None


def _checksum_field(digest: str) -> bytes:
    return f'"{CHECKSUM}":"{digest}"'.encode()


def read_metadata(model_bytes: bytes, path="model") -> ModelMetadata:
    """The validated metadata of a .tflite model, whose checksum (where it has one) must match its bytes."""
    raw = read_metadata_json(model_bytes, path)
    digest = raw.get(CHECKSUM) if isinstance(raw, dict) else None
    if digest is not None:
        field = _checksum_field(str(digest))
        if model_bytes.count(field) != 1 or hashlib.sha256(
                model_bytes.replace(field, _checksum_field(_UNSET))).hexdigest() != digest:
            raise KwsError(f"{path}: corrupt model file (its bytes do not match its sha256 checksum); copy it "
                           "again, or export it again with `kws quantize`")
    return ModelMetadata.from_dict(raw, path)


def _compact(model) -> None:
    """The same graph in fewer bytes: names on the inputs and outputs alone, one tensor for constants equal in type,
    shape, quantization and data (the converter writes one per use), the empty buffer 0 for every tensor without
    data, and no buffer left unused."""
    def quantization(t):
        q = t.quantization
        return None if q is None else (tuple(q.scale if q.scale is not None else ()),
                                       tuple(q.zeroPoint if q.zeroPoint is not None else ()), q.quantizedDimension)

    for sub in model.subgraphs:
        kept, new_index, index = [], {}, {}  # the tensors kept; a tensor's key -> its new index; old index -> new
        for i, tensor in enumerate(sub.tensors):
            data = model.buffers[tensor.buffer].data
            if data is None or len(data) == 0:  # no data: each is its own tensor
                tensor.buffer, key = 0, i
            else:
                key = (tensor.type, tuple(tensor.shape), quantization(tensor), bytes(bytearray(data)))
            if key not in new_index:
                new_index[key] = len(kept)
                kept.append(tensor)
            index[i] = new_index[key]
        remap = lambda indices: [index[i] if i >= 0 else i for i in indices]  # noqa: E731 (-1: an absent input)
        for op in sub.operators:
            op.inputs, op.outputs = remap(op.inputs), remap(op.outputs)
        sub.inputs, sub.outputs, sub.tensors = remap(sub.inputs), remap(sub.outputs), kept
        io = set(sub.inputs) | set(sub.outputs)
        for i, tensor in enumerate(sub.tensors):
            tensor.name = tensor.name if i in io else None
    used = sorted({0} | {t.buffer for sub in model.subgraphs for t in sub.tensors} | {m.buffer for m in model.metadata})
    new = {old: i for i, old in enumerate(used)}
    model.buffers = [model.buffers[old] for old in used]
    for tensor in (t for sub in model.subgraphs for t in sub.tensors):
        tensor.buffer = new[tensor.buffer]
    for entry in model.metadata:
        entry.buffer = new[entry.buffer]


def write_metadata_json(model_bytes: bytes, entry: dict) -> bytes:
    """The model with its "kws" entry set to `entry`, compacted and the converter's own bookkeeping entries
    dropped, to keep the flash footprint small."""
    model = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    model.signatureDefs = None
    ours = next((m for m in model.metadata or [] if m.name == KEY), None)
    model.metadata = [m for m in (model.metadata or []) if m.name == b"min_runtime_version"]
    if ours is None:  # a converter's output: a new buffer; a kws model's own is reused, not left behind
        ours = schema.MetadataT()
        ours.name, ours.buffer = KEY, len(model.buffers)
        model.buffers.append(schema.BufferT())
    model.buffers[ours.buffer].data = list(json.dumps(entry, separators=(",", ":"), sort_keys=True).encode())
    model.metadata.append(ours)
    _compact(model)
    builder = flatbuffers.Builder(16384)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def write_metadata(model_bytes: bytes, metadata: ModelMetadata) -> bytes:
    """The model carrying `metadata` and its checksum."""
    model = write_metadata_json(model_bytes, metadata.to_dict() | {CHECKSUM: _UNSET})
    return model.replace(_checksum_field(_UNSET), _checksum_field(hashlib.sha256(model).hexdigest()))


def load_model_file(path) -> tuple[bytes, ModelMetadata]:
    """A model file's bytes and validated metadata; a one-line KwsError for a missing, unreadable or foreign file."""
    path = Path(path)
    if path.is_dir():
        raise KwsError(f"{path}: is a folder, not a model file; pass the .tflite in it (a training run holds model.tflite)")
    if not path.is_file():
        raise KwsError(f"{path}: no such model file; pass a .tflite made by `kws quantize` (or leave --model out for "
                       "the shipped model)")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise KwsError(f"{path}: cannot read the model ({e.strerror}); check the file's permissions") from None
    return data, read_metadata(data, path)
