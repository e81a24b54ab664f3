"""From a training run to a shipped model: int8 conversion, validation accuracy (float and int8), and the
metadata written into the .tflite; the float Keras model is saved beside it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from ..data.augment import AugmentConfig
from ..data.speech_commands import as_roots
from ..detector import DetectorSettings
from ..errors import KwsError
from ..features import FeatureConfig
from ..labels import keywords
from .dscnn import ModelConfig, build_dscnn
from .evaluate import scores
from ..metadata import write_metadata
from .train import TrainConfig, epoch_features, prepare

REPRESENTATIVE_CLIPS = 1000


def load_run(run_dir):
    """State and best-weights Keras model of a training run folder."""
    run = Path(run_dir)
    state_path, weights = run / "state.json", run / "best.weights.h5"
    if not state_path.is_file() or not weights.is_file():
        raise KwsError(f"{run}: not a finished training run (needs state.json and best.weights.h5); run `kws train --out {run}` first")
    state = json.loads(state_path.read_text())
    feature_config = FeatureConfig.from_dict(state["features"])
    model_config = ModelConfig.from_dict(state["model"])
    model = build_dscnn((feature_config.n_frames, feature_config.n_mfcc), len(state["labels"]), model_config)
    model.load_weights(weights)
    return state, model


def export_run(run_dir, out_path, data_dir=None, cache_dir=None, tune_minutes: float = 30.0) -> dict:
    """Quantize the run's best model to int8, measure validation accuracy float vs int8, choose the detection
    defaults on a `tune_minutes` stream (0: keep the built-in defaults), and write OUT.tflite (with metadata)
    and OUT.keras. Returns the metadata."""
    from ..runtime import Model
    from ..stream_eval import tune_detection
    from .quantize import to_int8_tflite

    state, model = load_run(run_dir)
    data_dirs = as_roots(data_dir or state["data"])
    feature_config = FeatureConfig.from_dict(state["features"])
    config = TrainConfig(**state["train"])
    prep = prepare(data_dirs, feature_config, config, keywords(state["labels"]), cache_dir)

    rng = np.random.default_rng(config.seed)
    pick = rng.permutation(len(prep.train_clips))[:REPRESENTATIVE_CLIPS]
    augmented = epoch_features(prep, 0, config.seed, feature_config, AugmentConfig(**state["augment"]))
    tflite = to_int8_tflite(model, augmented[pick], ModelConfig.from_dict(state["model"]))

    float_pred = model.predict(prep.x_val[..., None], batch_size=256, verbose=0).argmax(axis=1)
    float_scores = scores(prep.labels, prep.y_val, float_pred)
    metadata = {
        "format": 1,
        "features": feature_config.to_dict(),
        "labels": list(prep.labels),
        "model": {"arch": "ds-cnn", **state["model"], "parameters": int(model.count_params())},
        "detection": dataclasses.asdict(DetectorSettings()),
        "training": {"data": [Path(d).name for d in data_dirs], "clips": len(prep.train_clips), "epochs": config.epochs,
                     "seed": config.seed, "teacher": state.get("teacher")},
    }
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(write_metadata(tflite, metadata))
    int8 = Model(out)
    int8_pred = np.array([int8.predict(f).argmax() for f in prep.x_val])
    int8_scores = scores(prep.labels, prep.y_val, int8_pred)
    metadata["accuracy"] = {
        "split": "validation", "n": int8_scores["n"], "float": float_scores["accuracy"], "int8": int8_scores["accuracy"],
        "int8_per_class": {k: v["accuracy"] for k, v in int8_scores["per_class"].items()},
    }
    if tune_minutes > 0:
        settings, measured = tune_detection(int8, data_dirs, tune_minutes)
        metadata["detection"] = {**dataclasses.asdict(settings), "tuned_on": measured}
    out.write_bytes(write_metadata(tflite, metadata))
    model.save(out.with_suffix(".keras"))
    return metadata
