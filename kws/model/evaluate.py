"""Accuracy of a model on Speech Commands layout folders: overall, per class, per other word, and the confusion
matrix, for the float Keras model, the int8 model under LiteRT, and the int8 model under TFLite Micro."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data.cache import clip_features
from ..data.speech_commands import SpeechCommands, as_roots
from ..errors import KwsError
from ..labels import UNKNOWN, keywords

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


def other_words(clips, labels, y_pred: np.ndarray) -> dict:
    """How well other words are rejected: of each word labelled `_unknown_`, the share the model calls `_unknown_`
    and what it calls the rest; `balanced` is the mean over words, so a word with many clips counts as one."""
    unknown = labels.index(UNKNOWN)
    per_word = {}
    for word in sorted({c.word for c in clips if c.label == UNKNOWN}):
        called = y_pred[[i for i, c in enumerate(clips) if c.label == UNKNOWN and c.word == word]]
        mistaken = np.bincount(called[called != unknown], minlength=len(labels))
        per_word[word] = {"n": int(len(called)), "accuracy": round(float(np.mean(called == unknown)), 4),
                          "called": {labels[i]: int(k) for i, k in enumerate(mistaken) if k}}
    accuracies = [w["accuracy"] for w in per_word.values()]
    return {"balanced": round(float(np.mean(accuracies)), 4) if accuracies else None,
            "worst": min(accuracies, default=None), "per_word": per_word}


def float_predictor(model_path: Path):
    """The float Keras model saved beside the .tflite (model.keras), as a batch predictor."""
    keras_path = Path(model_path).with_suffix(".keras")
    if not keras_path.is_file():
        raise KwsError(f"{keras_path}: no float model beside {model_path}; the float runtime needs the .keras file `kws quantize` writes")
    import keras

    model = keras.models.load_model(keras_path, compile=False)
    return lambda x: model.predict(x[..., None], batch_size=256, verbose=0)


def predict(model_path, features: np.ndarray, runtime: str) -> np.ndarray:
    """Class probabilities (N, labels) of feature windows (N, frames, n_features) under a runtime."""
    if runtime == "float":
        return float_predictor(model_path)(features)
    from ..runtime import Model

    model = Model(model_path, runtime)
    return np.stack([model.predict(f) for f in tqdm(features, desc=f"int8 {runtime}", unit="clip", leave=False, disable=None)])


def evaluate(model_path, data_dir, split: str = "validation", runtimes=("litert",), cache_dir=None) -> dict:
    """Scores per runtime on a split of one or more Speech Commands layout folders, plus the clip counts."""
    from ..runtime import Model

    meta = Model(model_path).metadata  # validates the file and its feature settings first
    labels, config = meta.labels, meta.features
    dataset = SpeechCommands(data_dir, words=keywords(labels))
    clips = dataset.split(split, config.clip_samples, config.sample_rate)
    if not clips:
        raise KwsError(f"{data_dir}: no clips in the {split} split; use --split all to score every clip in the folder")
    features = clip_features(dataset, clips, config, cache_dir)
    y_true = np.array([labels.index(c.label) for c in clips])
    results = {}
    for runtime in runtimes:
        probs = predict(model_path, features, runtime)
        y_pred = probs.argmax(axis=1)
        results[runtime] = {**scores(labels, y_true, y_pred), "other_words": other_words(clips, labels, y_pred)}
    return {"labels": list(labels), "split": split, "data": as_roots(data_dir), "results": results}
