"""What `kws train` does, for the 12 classes or for your own wake words: the settings each starts from, training,
then quantization with tuned detection defaults. The CLI and benchmarks/custom_word.py both run it."""

from __future__ import annotations

from ..errors import KwsError
from ..features import FeatureConfig
from ..metadata import ModelMetadata
from ..paths import DEFAULT_INIT, TRAINING_DATA
from ..stream_eval import TUNE_MINUTES
from .network import ModelConfig
from .quantize import quantize_run
from .run import run_model
from .train import TrainConfig, train

DEFAULT_RUN = "runs/kws12"  # `kws train`'s run folder, under the current folder

WAKE_WORD_POLICY = {  # a wake word starts from the shipped model, so it needs fewer epochs
    "epochs": 10,  # docs/custom_words.md: 20 (the earlier default) found fewer new voices' "eight"
    "hard_negatives": 4.0,  # the other words it mistakes for yours weigh up to 5x
    "balance_words": False,  # no equal share of _unknown_'s weight for each other word
    "unknown_weight": 1.0,  # as measured in docs/custom_words.md (the 12 classes: 2.0)
    "word_class_clips": 0,  # other words share one output, as measured there (the 12 classes: 100)
    "other_voices": 4,  # each recorded take 4 more times in other voices (docs/custom_words.md)
}
WAKE_WORD_NETWORK = {"dropout": 0.2}  # as docs/custom_words.md's figures were measured (the 12 classes: 0)


def _settings(cls, policy: dict, wake_words: bool, options: dict):
    """`cls`'s defaults, or for wake words `policy`'s, overridden by the `options` that are not None."""
    return cls(**{**(policy if wake_words else {}), **{k: v for k, v in options.items() if v is not None}})


def network_config(wake_words: bool = False, **options) -> ModelConfig:
    """The network's settings: ModelConfig's defaults, or WAKE_WORD_NETWORK's, overridden by `options`."""
    return _settings(ModelConfig, WAKE_WORD_NETWORK, wake_words, options)


def train_config(wake_words: bool = False, **options) -> TrainConfig:
    """The training settings: TrainConfig's defaults, or WAKE_WORD_POLICY's, overridden by `options`."""
    return _settings(TrainConfig, WAKE_WORD_POLICY, wake_words, options)


def train_and_quantize(data, out, *, wake_words=(), negatives=None, init=DEFAULT_INIT, config=None,
                       model_config=None, feature_config=FeatureConfig(), resume=False, force=False, cache_dir=None,
                       teacher=None, tune_minutes: float = TUNE_MINUTES) -> ModelMetadata:
    """Train a run in `out` and quantize it to `run_model(out)`; returns the model's metadata. The 12 classes train
    on `data` (default TRAINING_DATA); `wake_words` on their clips in `data` (whose other words are negatives too)
    with the other words and noise of `negatives` (default TRAINING_DATA; their clips of the wake words left out),
    starting from `init`'s weights (None: from scratch). An `out` that holds a run is refused unless `resume`
    continues it or `force` starts over; either way the run's model is its own to replace."""
    if wake_words:
        if not data:
            raise KwsError("--wake-word needs --data DIR, the folder holding DIR/WORD/ clips (made by `kws record`, "
                           "`kws data import` or `kws synth`)")
        words, negatives = tuple(wake_words), list(negatives or TRAINING_DATA)
    else:
        data, words, init, negatives = data or TRAINING_DATA, None, None, []
    prep = train(data, out, feature_config=feature_config,
                 model_config=model_config or network_config(bool(wake_words)),
                 config=config or train_config(bool(wake_words)), words=words, resume=resume, force=force,
                 cache_dir=cache_dir, init=init, teacher=teacher, negatives=negatives)[1]
    return quantize_run(out, run_model(out), cache_dir=cache_dir, tune_minutes=tune_minutes, force=True, prep=prep)
