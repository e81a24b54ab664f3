"""A training run folder, read and written here only: state.json (the run's settings, labels, data and history,
replaced atomically after each epoch), the best epoch's weights and the last epoch's (with the training-only word
head, if the run has one, to resume from), and the model made from it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from ..data.augment import AugmentConfig
from ..errors import KwsError
from ..features import FeatureConfig
from ..outputs import replace_file, replace_with
from .network import ModelConfig, build_network

STATE, BEST, LAST = "state.json", "best.weights.h5", "last.weights.h5"
MODEL = "model.tflite"  # the int8 model, its float .keras beside it
PARTS = "parts"  # with --word-parts: the negatives cut from the takes
MODEL_FILES = (MODEL, "model.keras")
RUN_FILES = (STATE, BEST, LAST, *MODEL_FILES)


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """What a run was made with, as its state.json records it (`train`: the fields of TrainConfig)."""

    features: FeatureConfig
    model: ModelConfig
    augment: AugmentConfig
    train: dict
    labels: tuple[str, ...]
    data: list
    teacher: str | None
    negatives: list = dataclasses.field(default_factory=list)  # folders of other words only (wake words)

    @classmethod
    def from_state(cls, state: dict, run_dir) -> RunSettings:
        """The settings `run_dir`'s state.json records; KwsError for settings this version of kws does not know."""
        try:
            return cls(FeatureConfig.from_dict(state["features"]), ModelConfig.from_dict(state["model"]),
                       AugmentConfig(**state["augment"]), state["train"], tuple(state["labels"]), state["data"],
                       state.get("teacher"), state.get("negatives", []))
        except (TypeError, KeyError) as e:
            raise KwsError(f"{Path(run_dir) / STATE}: settings this version of kws does not know ({e}); train the "
                           "run again (--force)") from None


def new_state(settings: RunSettings, n_train: int, n_val: int) -> dict:
    """The state of a run before its first epoch."""
    return {"features": settings.features.to_dict(), "model": settings.model.to_dict(), "train": settings.train,
            "augment": dataclasses.asdict(settings.augment), "labels": list(settings.labels),
            "data": settings.data, "negatives": settings.negatives, "teacher": settings.teacher,
            "n_train": n_train, "n_val": n_val, "epoch": -1, "best_accuracy": 0.0, "history": []}


def read_state(run_dir) -> dict:
    """The state of a run to resume."""
    path = Path(run_dir) / STATE
    if not path.is_file():
        raise KwsError(f"{run_dir}: nothing to resume (no {STATE}); start without --resume")
    return json.loads(path.read_text())


def write_state(run_dir, state: dict) -> None:
    """Replace the run's state in one step: an interrupted write leaves the previous one."""
    replace_file(Path(run_dir) / STATE, json.dumps(state, indent=1).encode())


def run_model(run) -> Path:
    """The int8 model of the training run folder `run`."""
    return Path(run) / MODEL


def save_weights(model, path) -> None:
    """A checkpoint, replaced in one step: an interrupted save leaves the previous one."""
    replace_with(path, model.save_weights)


def start_run(run_dir, force: bool) -> None:
    """Make `run_dir` ready for a new run: one that holds a run or its model is refused unless `force`, which
    removes the run's own files (RUN_FILES and PARTS) and keeps any others."""
    run = Path(run_dir)
    found = [name for name in RUN_FILES if (run / name).exists()]
    if found and not force:
        if all(name in MODEL_FILES for name in found):
            raise KwsError(f"--out {run}: holds a model ({found[0]}); pass --force to replace it, or pick another --out")
        try:
            state = json.loads((run / STATE).read_text())
            progress = f" (epoch {state['epoch'] + 1} of {state['train']['epochs']})"
        except (OSError, ValueError, KeyError, TypeError):
            progress = ""
        raise KwsError(f"--out {run}: holds a training run{progress}; pass --resume to continue it or --force to "
                       "start over, or pick another --out")
    if force:
        for name in found:
            (run / name).unlink()
        shutil.rmtree(run / PARTS, ignore_errors=True)


def load_run(run_dir) -> tuple[RunSettings, object]:
    """The settings and the best-weights Keras model of a training run folder."""
    run = Path(run_dir)
    state_path, weights = run / STATE, run / BEST
    if not state_path.is_file() or not weights.is_file():
        raise KwsError(f"{run}: not a finished training run (needs {STATE} and {BEST}); run `kws train --out {run}` first")
    settings = RunSettings.from_state(json.loads(state_path.read_text()), run)
    model = build_network((settings.features.n_frames, settings.features.n_features), len(settings.labels), settings.model)
    model.load_weights(weights)
    return settings, model
