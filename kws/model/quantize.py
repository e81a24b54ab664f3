"""From a training run to a shipped model: full-integer (int8 in, int8 out) post-training quantization for TFLite
Micro (a streamable run: its streaming twin, a stride a call), validation accuracy (float and int8), tuned detection
defaults and the metadata written into the .tflite; the float Keras model is saved beside it."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import tempfile
from pathlib import Path

import numpy as np

from ..data.prepare import epoch_features, prepare
from ..data.speech_commands import as_roots
from ..errors import KwsError
from ..labels import LABELS, keywords
from ..metadata import DetectorSettings, ModelMetadata, write_metadata
from ..outputs import output_file, replace_file, replace_with
from ..resource_variables import without_initialiser
from ..stream_eval import TUNE_MINUTES
from . import native_stderr_muted
from .network import ModelConfig, build_network
from .evaluate import scores
from .run import load_run
from .streaming import reset, streaming_network

REPRESENTATIVE_CLIPS = 1000
# A streamable run's model runs every STREAM_STRIDE_MS on the board and the host, a stride at a time (its
# streaming twin: 16 % of a 64 MHz Cortex-M4F; firmware/README.md); calibrated on this many clips, each a stream
STREAM_STRIDE_MS = 80.0
STREAM_CALIBRATION_CLIPS = 300
# A wake word's threshold finds the most of it within WAKE_WORD_FALSE_ACCEPTS per hour on the tuning stream (at most
# one in its 30 minutes), and of those the highest within WAKE_WORD_SLACK of the most: the stream may lack your own
# other words (benchmarks/custom_word.py: docs/custom_words.md)
WAKE_WORD_FALSE_ACCEPTS = 2.0
WAKE_WORD_SLACK = 0.01


def representative_features(prep, seed: int, feature_config, augment, clips: int = REPRESENTATIVE_CLIPS) -> np.ndarray:
    """The features the converter calibrates on: `clips` training clips drawn by `seed`, augmented as in epoch 0."""
    pick = np.random.default_rng(seed).permutation(len(prep.train_clips))[:clips]
    return epoch_features(prep, 0, seed, feature_config, augment, pick)


def to_int8_tflite(model, representative: np.ndarray, model_config: ModelConfig, per_channel: bool = False) -> bytes:
    """Convert a trained Keras DS-CNN to an int8 TFLite flatbuffer with batch size 1.

    Weights are quantized per tensor unless `per_channel`: per-channel parameters cost 28 bytes per channel
    and layer, which a 16 KB model cannot afford. `representative` are float features (N, frames, n_features)."""
    import tensorflow as tf

    frames, n_features = representative.shape[1:3]
    export = build_network((frames, n_features), model.output_shape[-1], model_config, batch_size=1)
    export.set_weights(model.get_weights())

    def samples():
        for x in representative:
            yield [x[None, :, :, None].astype(np.float32)]

    return convert_int8(tf.lite.TFLiteConverter.from_keras_model(export), samples, per_channel)


def convert_int8(converter, samples, per_channel: bool = False) -> bytes:
    """A TFLite converter's full-int8 flatbuffer (int8 in and out, builtin int8 ops), calibrated on `samples` (a
    generator of input lists)."""
    import tensorflow as tf

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    converter._experimental_disable_per_channel = not per_channel
    # the converter prints the SavedModel's signatures, and its C++ side its settings ("fully_quantize: 0, ...")
    with contextlib.redirect_stdout(io.StringIO()), native_stderr_muted():
        return converter.convert()


def to_int8_streaming_tflite(stream_model, streams: np.ndarray) -> bytes:
    """Convert a stream model to a full-int8 TFLite flatbuffer whose kept steps are int8 resource variables (zero
    at first); `streams` are float feature streams (N, frames, features), fed stride by stride to calibrate it."""
    import keras
    import tensorflow as tf

    stride = stream_model.input_shape[1]

    def samples():
        for stream in streams:
            for start in range(0, len(stream) - stride + 1, stride):
                yield [stream[None, start : start + stride, :, None].astype(np.float32)]

    reset(stream_model)
    with tempfile.TemporaryDirectory() as tmp:
        archive = keras.export.ExportArchive()
        archive.track(stream_model)
        archive.add_endpoint(name="serve", fn=stream_model.call,
                             input_signature=[tf.TensorSpec(stream_model.input.shape, tf.float32)])
        with contextlib.redirect_stdout(io.StringIO()):
            archive.write_out(tmp)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter._experimental_variable_quantization = True
        return without_initialiser(convert_int8(converter, samples))  # TFLite Micro zeroes the variables itself


def _check_out(out_path, force: bool) -> Path:
    """A .tflite to write in an existing, writable folder; an existing one, or its .keras, is kept unless `force`."""
    out = output_file(out_path, "--out", (".tflite",))
    for path in (out, out.with_suffix(".keras")):
        if path.exists() and not force:
            raise KwsError(f"--out {out}: {path} exists; pass --force to replace it, or pick another --out")
    return out


def quantize_run(run_dir, out_path, data_dir=None, cache_dir=None, tune_minutes: float = TUNE_MINUTES,
                 force: bool = False, prep=None) -> ModelMetadata:
    """Quantize the run's best model to int8, measure validation accuracy float vs int8, choose the detection
    defaults on a `tune_minutes` stream (0: keep the built-in defaults), and write OUT.tflite (with metadata)
    and OUT.keras, each in one step. An existing OUT is refused (before the work) unless `force`. The data is the
    run's (its folders and negatives; `prep`: as training prepared it) unless `data_dir` names others. Returns the
    metadata."""
    from ..runtime import Model
    from ..stream_eval import tune_detection

    run, model = load_run(run_dir)  # a missing run first, then where it would go: both before the work
    out = _check_out(out_path, force)
    data_dirs, negatives = (as_roots(data_dir), []) if data_dir else (run.data, run.negatives)
    feature_config, config = run.features, run.train
    if prep is None or data_dir:
        prep = prepare(data_dirs, feature_config, keywords(run.labels), cache_dir, config["limit_per_class"],
                       config["seed"], negatives)

    clips = STREAM_CALIBRATION_CLIPS if run.model.streamable else REPRESENTATIVE_CLIPS
    representative = representative_features(prep, config["seed"], feature_config, run.augment, clips)
    if run.model.streamable:
        stride_frames = round(STREAM_STRIDE_MS / feature_config.hop_ms)
        twin = streaming_network(model, run.model, stride_frames)
        tflite = to_int8_streaming_tflite(twin, representative)
        detection = DetectorSettings(stride_ms=stride_frames * feature_config.hop_ms)
    else:
        tflite, detection = to_int8_tflite(model, representative, run.model), DetectorSettings()

    float_pred = model.predict(prep.x_val[..., None], batch_size=256, verbose=0).argmax(axis=1)
    float_scores = scores(prep.labels, prep.y_val, float_pred)
    metadata = ModelMetadata(
        feature_config, tuple(prep.labels), detection,
        model={**run.model.to_dict(), "parameters": int(model.count_params())},
        training={"data": [Path(d).name for d in data_dirs + negatives], "clips": len(prep.train_clips),
                  "epochs": config["epochs"], "seed": config["seed"], "teacher": run.teacher},
    )
    with tempfile.TemporaryDirectory() as tmp:  # the int8 model without its accuracy, to measure it
        draft = Path(tmp) / out.name
        draft.write_bytes(write_metadata(tflite, metadata))
        int8 = Model(draft)
    int8_pred = np.array([int8.predict(f).argmax() for f in prep.x_val])
    int8_scores = scores(prep.labels, prep.y_val, int8_pred)
    metadata = dataclasses.replace(metadata, accuracy={
        "split": "validation", "n": int8_scores["n"], "float": float_scores["accuracy"], "int8": int8_scores["accuracy"],
        "int8_per_class": {k: v["accuracy"] for k, v in int8_scores["per_class"].items()},
    })
    if tune_minutes > 0:
        wake = tuple(run.labels) != LABELS
        settings, measured = tune_detection(int8, data_dirs, tune_minutes, negatives=negatives,
                                            slack=WAKE_WORD_SLACK if wake else 0.0,
                                            max_false_accepts=WAKE_WORD_FALSE_ACCEPTS if wake else None)
        metadata = dataclasses.replace(metadata, detection=settings, tuned_on=measured)
    replace_with(out.with_suffix(".keras"), model.save)
    replace_file(out, write_metadata(tflite, metadata))
    return metadata
