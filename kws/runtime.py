"""Run a .tflite model with its metadata: ai-edge-litert for the host, TFLite Micro's Python interpreter for
on-device numerics. Both take float features, quantize them with the model's own input parameters, and
return float probabilities. A streaming model (kws.model.streaming) takes a stride of frames a call and keeps what
it still needs of them; a window of features is heard a stride at a time."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from .errors import KwsError
from .features import FeatureConfig
from .metadata import load_model_file
from .paths import DEFAULT_MODEL
from .resource_variables import has_variables, with_initialiser


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
    streaming : bool
        Whether the model takes a stride of frames a call (`input_frames`, its detection stride) and keeps what it
        still needs of them, or a whole window.
    input_frames : int
        Frames a call takes: the window's (config.n_frames), or a streaming model's stride.

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
        # LiteRT verifies the flatbuffer (TFLite Micro does not), so a truncated or garbled file is refused here
        # for both runtimes.
        try:
            self._runnable = with_initialiser(self.bytes)  # what the interpreters run (kws.resource_variables)
            interp = self._litert()
            inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
        except (RuntimeError, ValueError, IndexError) as e:
            raise KwsError(f"{self.path}: corrupt model file ({e}); copy it again, or export it again with "
                           "`kws quantize`") from None
        self.input_frames = int(np.prod(inp["shape"])) // self.config.n_features
        self.streaming = self.input_frames != self.config.n_frames
        self._check_tensors(inp, out)
        try:
            interp.allocate_tensors()
        except (RuntimeError, ValueError) as e:
            raise KwsError(f"{self.path}: LiteRT cannot run the model ({e}); export it again with "
                           "`kws quantize`") from None
        self.input_shape = tuple(inp["shape"])
        self.input_quant, self.output_quant = inp["quantization"], out["quantization"]
        self._invoke = self._runner(interp)

    def _litert(self):
        """A LiteRT interpreter of the model, with the builtin int8 kernels, not the XNNPACK delegate: they agree
        with TFLite Micro to one output step (XNNPACK differs by up to 20 steps), so host and board make the same
        decisions. A streaming model gets back the subgraph that zeroes its variables (kws.resource_variables)."""
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        return Interpreter(model_content=self._runnable, num_threads=1,
                           experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)

    def _runner(self, interp=None):
        """A function from one call's int8 inputs to its int8 outputs, on an interpreter of its own (a streaming
        model's variables are its alone): `interp` (LiteRT, allocated), or a new one."""
        if self.runtime == "litert":
            if interp is None:
                interp = self._litert()
                interp.allocate_tensors()
            inp, out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]

            def invoke(q):
                interp.set_tensor(inp, q)
                interp.invoke()
                return interp.get_tensor(out)

            return invoke
        try:
            from tflite_micro.python.tflite_micro import runtime as tflm
        except ImportError:
            raise KwsError("the tflm runtime needs the tflite-micro package; `pip install tflite-micro`") from None
        try:
            micro = tflm.Interpreter.from_bytes(self._runnable)
        except (RuntimeError, ValueError) as e:
            raise KwsError(f"{self.path}: TFLite Micro cannot run the model ({e}); export it again with "
                           "`kws quantize`") from None

        def invoke(q):
            micro.set_input(q, 0)
            micro.invoke()
            return micro.get_output(0)

        return invoke

    def _check_tensors(self, inp: dict, out: dict) -> None:
        """The model's input and output fit its metadata: int8, n_frames x n_features in (a streaming model: its
        stride's frames), one score per label out."""
        c = self.config
        if inp["dtype"] != np.int8 or out["dtype"] != np.int8:
            raise KwsError(f"{self.path}: model tensors are {np.dtype(inp['dtype'])} in, {np.dtype(out['dtype'])} out; "
                           "kws runs full-int8 models: quantize it with `kws quantize`")
        stride = self.metadata.detection.stride_frames(c.hop_ms)
        fits = self.input_frames == c.n_frames or (self.input_frames == stride and has_variables(self.bytes))
        if not fits or int(np.prod(inp["shape"])) != self.input_frames * c.n_features:
            raise KwsError(f"{self.path}: model input {np.asarray(inp['shape']).tolist()} does not fit its "
                           f"{c.n_frames}x{c.n_features} features (or, streaming, its stride's {stride} frames); export "
                           "the model with `kws quantize`")
        if int(np.prod(out["shape"])) != len(self.labels):
            raise KwsError(f"{self.path}: model has {int(np.prod(out['shape']))} outputs but its metadata names "
                           f"{len(self.labels)} labels; export the model with `kws quantize`")

    def quantize_input(self, features: np.ndarray) -> np.ndarray:
        """The int8 model inputs for one window of features (n_frames, n_features); KwsError for another shape or
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
        return np.clip(np.round(x / scale) + zero, -128, 127).astype(np.int8)

    def dequantize_output(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities from int8 model outputs."""
        scale, zero = self.output_quant[:2]
        return (np.asarray(raw).astype(np.float32) - zero) * scale

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Probabilities for one window of features (n_frames, n_features); KwsError for another shape or non-finite
        values. A streaming model hears the window a stride at a time from silence, as the window model sees it."""
        q = self.quantize_input(features)
        if not self.streaming:
            return self.dequantize_output(self.predict_int8(q))
        stride, run = self.input_frames, self._runner()  # a new interpreter: what it keeps starts at zero
        # the frames the pooled steps reach, a whole number of strides: all but the window's last
        for start in range(0, self.config.n_frames - 1, stride):
            raw = run(q[start : start + stride].reshape(self.input_shape))
        return self.dequantize_output(raw.reshape(-1))

    def predict_int8(self, q: np.ndarray) -> np.ndarray:
        """The int8 outputs (n_labels,) for one call's int8 inputs (quantized features): a window, or a streaming
        model's newest stride of frames, which it keeps what it needs of for the calls after."""
        return self._invoke(np.asarray(q, np.int8).reshape(self.input_shape)).reshape(-1)

    def predict_newest(self, features: np.ndarray) -> np.ndarray:
        """Probabilities from one call on the newest frames of a window of features, as the board makes it: the
        window, or a streaming model's stride (which it keeps what it needs of for the calls after)."""
        if not self.streaming:
            return self.predict(features)
        return self.dequantize_output(self.predict_int8(self.quantize_input(features)[-self.input_frames :]))

    def stream(self) -> Model:
        """The model on an interpreter of its own: a stream through a streaming model keeps its own past."""
        twin = copy.copy(self)
        twin._invoke = self._runner()
        return twin
