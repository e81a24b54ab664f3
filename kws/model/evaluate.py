"""Accuracy of a model on a Speech Commands folder: overall, per class, and the confusion matrix, for the
float Keras model, the int8 model under LiteRT, and the int8 model under TFLite Micro."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data.cache import clip_features
from ..data.speech_commands import SpeechCommands
from ..errors import KwsError
from ..features import FeatureConfig

RUNTIMES = ("float", "litert", "tflm")


def scores(labels, y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """{n, accuracy, per_class: label -> {n, accuracy}, confusion: rows true, columns predicted}."""
    k = len(labels)
    confusion = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)
    per_class = {}
    for i, label in enumerate(labels):
        n = int(confusion[i].sum())
        per_class[label] = {"n": n, "accuracy": round(float(confusion[i, i] / n), 4) if n else None}
    n = int(len(y_true))
    return {"n": n, "accuracy": round(float((y_true == y_pred).mean()), 4) if n else None,
            "per_class": per_class, "confusion": confusion.tolist()}


def float_predictor(model_path: Path):
    """The float Keras model saved beside the .tflite (model.keras), as a batch predictor."""
    keras_path = Path(model_path).with_suffix(".keras")
    if not keras_path.is_file():
        raise KwsError(f"{keras_path}: no float model beside {model_path}; the float runtime needs the .keras file `kws quantize` writes")
    import keras

    model = keras.models.load_model(keras_path, compile=False)
    return lambda x: model.predict(x[..., None], batch_size=256, verbose=0)


def predict(model_path, features: np.ndarray, runtime: str) -> np.ndarray:
    """Class probabilities (N, labels) of feature windows (N, frames, n_mfcc) under a runtime."""
    if runtime == "float":
        return float_predictor(model_path)(features)
    from ..runtime import Model

    model = Model(model_path, runtime)
    return np.stack([model.predict(f) for f in tqdm(features, desc=f"int8 {runtime}", unit="clip", leave=False, disable=None)])


def evaluate(model_path, data_dir, split: str = "validation", runtimes=("litert",), cache_dir=None) -> dict:
    """Scores per runtime on a split of a Speech Commands folder, plus the clip counts."""
    from ..runtime import Model

    meta = Model(model_path).metadata  # validates the file and its feature settings first
    labels = tuple(meta["labels"])
    config = FeatureConfig.from_dict(meta["features"])
    dataset = SpeechCommands(data_dir, words=labels[2:])
    clips = dataset.split(split, config.clip_samples, config.sample_rate)
    if not clips:
        raise KwsError(f"{data_dir}: no clips in the {split} split; use --split all to score every clip in the folder")
    features = clip_features(dataset, clips, config, cache_dir)
    y_true = np.array([labels.index(c.label) for c in clips])
    results = {}
    for runtime in runtimes:
        probs = predict(model_path, features, runtime)
        results[runtime] = scores(labels, y_true, probs.argmax(axis=1))
    return {"labels": list(labels), "split": split, "data": str(data_dir), "results": results}
