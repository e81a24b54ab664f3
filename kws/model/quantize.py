"""Full-integer (int8 in, int8 out) post-training quantization of the DS-CNN for TFLite Micro."""

from __future__ import annotations

import contextlib
import io

import numpy as np

from .dscnn import ModelConfig, build_dscnn


def to_int8_tflite(model, representative: np.ndarray, model_config: ModelConfig, per_channel: bool = False) -> bytes:
    """Convert a trained Keras DS-CNN to an int8 TFLite flatbuffer with batch size 1.

    Weights are quantized per tensor unless `per_channel`: per-channel parameters cost 28 bytes per channel
    and layer, which a 16 KB model cannot afford. `representative` are float features (N, frames, n_mfcc)."""
    import tensorflow as tf

    frames, n_mfcc = representative.shape[1:3]
    export = build_dscnn((frames, n_mfcc), model.output_shape[-1], model_config, batch_size=1)
    export.set_weights(model.get_weights())

    def samples():
        for x in representative:
            yield [x[None, :, :, None].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(export)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    converter._experimental_disable_per_channel = not per_channel
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints the SavedModel's signatures
        return converter.convert()
