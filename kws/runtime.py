"""Run a .tflite model with its metadata: ai-edge-litert for the host, TFLite Micro's Python interpreter for
on-device numerics. Both take float features, quantize them with the model's own input parameters, and
return float probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import KwsError
from .features import FeatureConfig
from .metadata import load_model_file
from .paths import DEFAULT_MODEL


class Model:
    """A kws int8 model file with its metadata, run by LiteRT (host) or TFLite Micro's interpreter.

    Parameters
    ----------
    path : str or Path
        A .tflite made by `kws quantize` or `kws train` (default: the shipped model, `kws.DEFAULT_MODEL`).
    runtime : {"litert", "tflm"}
        LiteRT's builtin int8 kernels, or TFLite Micro's Python interpreter (the board's numerics).
    config : FeatureConfig, optional
        The running front end (default: the model's own, from its metadata); a model trained on other feature
        settings is refused.

    Attributes
    ----------
    metadata : ModelMetadata
        What the file says about itself: features, labels, detection settings, training, accuracy.
    labels : tuple of str
        One name per output.
    config : FeatureConfig
        The front end its inputs come from.

    Raises
    ------
    KwsError
        A missing, unreadable or corrupt (truncated, garbled) file, invalid metadata, or tensors that do not fit it.
    """

    def __init__(self, path=DEFAULT_MODEL, runtime: str = "litert", config: FeatureConfig | None = None):
        self.path = Path(path)
        self.bytes, self.metadata = load_model_file(self.path)
        self.config = config or self.metadata.features  # the front end is what the model was trained on
        self.metadata.require_features(self.config, self.path)
        self.labels = self.metadata.labels
        self.runtime = runtime
        if runtime not in ("litert", "tflm"):
            raise KwsError(f"unknown runtime {runtime!r}; use litert or tflm")
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        # LiteRT verifies the flatbuffer (TFLite Micro does not), so a truncated or garbled file is refused here
        # for both runtimes. The builtin int8 kernels, not the XNNPACK delegate: they agree with TFLite Micro to one
        # output step (XNNPACK differs by up to 20 steps), so host and board make the same decisions.
        try:
            interp = Interpreter(model_content=self.bytes, num_threads=1,
                                 experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
        except (RuntimeError, ValueError, IndexError) as e:
            raise KwsError(f"{self.path}: corrupt model file ({e}); copy it again, or export it again with "
                           "`kws quantize`") from None
        self._check_tensors(inp, out)
        try:
            interp.allocate_tensors()
        except (RuntimeError, ValueError) as e:
            raise KwsError(f"{self.path}: LiteRT cannot run the model ({e}); export it again with "
                           "`kws quantize`") from None
        self.input_shape = tuple(inp["shape"])
        self.input_quant, self.output_quant = inp["quantization"], out["quantization"]
        if runtime == "litert":
            self._interp = interp
            self._in_index, self._out_index = inp["index"], out["index"]
        else:
            try:
                from tflite_micro.python.tflite_micro import runtime as tflm
            except ImportError:
                raise KwsError("the tflm runtime needs the tflite-micro package; `pip install tflite-micro`") from None
            try:
                self._interp = tflm.Interpreter.from_bytes(self.bytes)
            except (RuntimeError, ValueError) as e:
                raise KwsError(f"{self.path}: TFLite Micro cannot run the model ({e}); export it again with "
                               "`kws quantize`") from None

    def _check_tensors(self, inp: dict, out: dict) -> None:
        """The model's input and output fit its metadata: int8, n_frames x n_features in, one score per label out."""
        c = self.config
        if inp["dtype"] != np.int8 or out["dtype"] != np.int8:
            raise KwsError(f"{self.path}: model tensors are {np.dtype(inp['dtype'])} in, {np.dtype(out['dtype'])} out; "
                           "kws runs full-int8 models: quantize it with `kws quantize`")
        if int(np.prod(inp["shape"])) != c.n_frames * c.n_features:
            raise KwsError(f"{self.path}: model input {np.asarray(inp['shape']).tolist()} does not fit its "
                           f"{c.n_frames}x{c.n_features} features; export the model with `kws quantize`")
        if int(np.prod(out["shape"])) != len(self.labels):
            raise KwsError(f"{self.path}: model has {int(np.prod(out['shape']))} outputs but its metadata names "
                           f"{len(self.labels)} labels; export the model with `kws quantize`")

    def quantize_input(self, features: np.ndarray) -> np.ndarray:
        """The int8 model input for one window of features (n_frames, n_features); KwsError for another shape or
        non-finite values."""
        c = self.config
        try:
            x = np.asarray(features, np.float32)
        except (TypeError, ValueError):
            x = None
        if x is None or x.shape != (c.n_frames, c.n_features):
            got = f"are {type(features).__name__}" if x is None or x.ndim == 0 else f"have shape {x.shape}"
            raise KwsError(f"Model.predict: features {got}; pass one window of MFCCs, shape "
                           f"({c.n_frames}, {c.n_features}) (kws.features.mfcc of {c.clip_samples} samples)")
        if not np.isfinite(x).all():
            raise KwsError("Model.predict: features hold NaN or infinite values; compute them from finite audio")
        scale, zero = self.input_quant[:2]
        return np.clip(np.round(x / scale) + zero, -128, 127).astype(np.int8).reshape(self.input_shape)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Probabilities for one window of features (n_frames, n_features); KwsError for another shape or non-finite
        values."""
        scale, zero = self.output_quant[:2]
        return (self.predict_int8(self.quantize_input(features)).astype(np.float32) - zero) * scale

    def predict_int8(self, q: np.ndarray) -> np.ndarray:
        """The int8 outputs (n_labels,) for one window of int8 model inputs (quantized features)."""
        q = np.asarray(q, np.int8).reshape(self.input_shape)
        if self.runtime == "litert":
            self._interp.set_tensor(self._in_index, q)
            self._interp.invoke()
            raw = self._interp.get_tensor(self._out_index)
        else:
            self._interp.set_input(q, 0)
            self._interp.invoke()
            raw = self._interp.get_output(0)
        return raw.reshape(-1)
