"""Keras training of the DS-CNN on a Speech Commands folder: fresh augmentation every epoch, balanced class
weights (recordings above synthetic speech), cosine learning-rate schedule, optional distillation from a larger
teacher model, weight on mistaken other words (hard negatives), other words with outputs of their own summed into
`_unknown_`, or a training-only head that names every word, quantization-aware last epochs; a checkpoint every epoch
and `resume`."""

from __future__ import annotations

import dataclasses
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..data.augment import AugmentConfig
from ..data.prepare import epoch_features, prepare
from ..data.speech_commands import SpeechCommands, as_roots
from ..data.synth import is_synthetic
from ..data.word_parts import write_word_parts
from ..errors import KwsError
from ..features import FeatureConfig
from ..labels import UNKNOWN, keywords
from ..outputs import output_folder
from .network import ModelConfig, build_network, is_streamable, with_word_head, with_words_output
from .qat import calibrate, exported, quantization_aware
from .quantize import representative_features
from .run import BEST, LAST, PARTS, RunSettings, load_run, new_state, read_state, save_weights, start_run, write_state


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int = 50
    batch_size: int = 64
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    seed: int = 0
    limit_per_class: int | None = None  # keep at most this many training clips per class (quick runs, tests)
    distill_weight: float = 0.5  # with a teacher: its share of the loss (the labels have the rest)
    distill_temperature: float = 2.0  # with a teacher: both models' probabilities are compared softened by T
    hard_negatives: float = 0.0  # > 0: within _unknown_, weight moves to the clips the model mistakes (x 1 + this)
    balance_words: bool = True  # within a class, each word (the clips' folder) an equal share of its weight
    word_head: float = 0.0  # > 0: weight in the loss of a training-only second output, one class per word
    word_parts: bool = False  # wake words: the start and the end of each recorded take alone as negatives
    unknown_weight: float = 2.0  # _unknown_'s weight against one keyword's: it stands for every other word
    word_class_clips: int = 100  # > 0: each other word with at least this many training clips gets its own output
    other_voices: int = 0  # wake words: each recorded take this many times more, as other speakers would say it
    own_voice_negatives: int = 0  # wake words: this many of the negatives' other words said in your takes' voices
    qat_epochs: int = 0  # the last this many epochs train with the int8 model's rounding simulated (kws.model.qat)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# Fields added to TrainConfig after runs were saved, with the value that trains such a run as it was started
UNSAVED_MEANS = {"balance_words": False, "unknown_weight": 1.0, "word_class_clips": 0, "qat_epochs": 0,
                 "own_voice_negatives": 0}


def saved_config(train: dict) -> TrainConfig:
    """The TrainConfig of a run's saved settings (state.json's "train"); a run saved before a field existed keeps
    the behaviour it had then (UNSAVED_MEANS), not today's default."""
    return TrainConfig(**{**UNSAVED_MEANS, **train})


def learning_rate(epoch: int, config: TrainConfig) -> float:
    """One warm-up epoch, then cosine decay to 1 % of the peak."""
    if epoch == 0:
        return config.learning_rate * 0.1
    t = (epoch - 1) / max(1, config.epochs - 2)
    return config.learning_rate * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * min(1.0, t))))


REAL_SHARE = 0.5  # in a class with both, recorded clips carry at least this share of its weight


def sample_weights(labels: np.ndarray, synthetic: np.ndarray, groups: np.ndarray | None = None,
                   class_scale: dict | None = None) -> np.ndarray:
    """Per-clip loss weights: every class weighs the same in total (weights inverse to class counts), times its
    `class_scale` entry if it has one; within a class, every group (e.g. each word of `_unknown_`) the same, so that
    no word with many clips comes to stand for all others; within a group that mixes recordings with synthetic
    speech, the recordings carry at least REAL_SHARE of it: a few real voices are worth more than many espeak-ng
    ones. The weights average 1."""
    groups = np.zeros(len(labels), int) if groups is None else groups
    weights = np.zeros(len(labels))
    scale = {c: (class_scale or {}).get(c, 1.0) for c in np.unique(labels)}
    for c in scale:
        members = labels == c
        kinds = np.unique(groups[members])
        for g in kinds:
            group = members & (groups == g)
            real, fake = group & ~synthetic, group & synthetic
            weights[group] = 1.0 / group.sum() / len(kinds)
            if real.any() and fake.any():
                share = max(REAL_SHARE, real.sum() / group.sum()) / len(kinds)
                weights[real], weights[fake] = share / real.sum(), (1 / len(kinds) - share) / fake.sum()
        weights[members] *= scale[c]
    return weights * len(labels) / sum(scale.values())


def hard_negative_weights(weights: np.ndarray, labels: np.ndarray, probs: np.ndarray, unknown: int,
                          emphasis: float) -> np.ndarray:
    """Within the `_unknown_` class, each clip's weight scaled by 1 + emphasis x (1 - the model's probability of
    `_unknown_` for it), the class's total kept: the other words the model takes for a keyword (tomorrow's false
    accepts) weigh up to 1 + emphasis times more than those it already rejects."""
    out = weights.copy()
    members = labels == unknown
    scaled = weights[members] * (1 + emphasis * (1 - probs[members, unknown]))
    out[members] = scaled * weights[members].sum() / scaled.sum()
    return out


def softened(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities at a higher temperature: softmax(log(p) / T), which shows which wrong classes are close."""
    soft = np.power(np.maximum(probs, 1e-12), 1.0 / temperature)
    return soft / soft.sum(axis=1, keepdims=True)


def distillation_loss(n_classes: int, config: TrainConfig):
    """Knowledge distillation (Hinton et al. 2015): (1 - w) x cross-entropy with the labels + w x T^2 x
    cross-entropy of the student's probabilities softened by T against the teacher's. y_true is
    [one-hot labels | softened teacher probabilities]."""
    import keras
    from keras import ops

    w, t = config.distill_weight, config.distill_temperature

    def loss(y_true, y_pred):
        hard = keras.losses.categorical_crossentropy(y_true[:, :n_classes], y_pred,
                                                     label_smoothing=config.label_smoothing)
        log_soft = ops.log(ops.clip(y_pred, 1e-7, 1.0)) / t
        log_soft = log_soft - ops.logsumexp(log_soft, axis=1, keepdims=True)
        return (1 - w) * hard - w * t * t * ops.sum(y_true[:, n_classes:] * log_soft, axis=1)

    def accuracy(y_true, y_pred):
        return keras.metrics.categorical_accuracy(y_true[:, :n_classes], y_pred)

    return loss, accuracy


def _load_teacher(run_dir, labels, feature_config):
    """The best model of the training run `run_dir`, checked to share the student's labels and features."""
    theirs, teacher = load_run(run_dir)
    if theirs.labels != tuple(labels) or theirs.features != feature_config:
        raise KwsError(f"{run_dir}: the teacher was trained with other labels or features than this run; "
                       f"train the teacher on the same data with the same settings")
    return teacher


CLASSIFIER = ("fc", "probs")  # the layers whose shapes follow the labels


def _load_init(path):
    """The Keras model `path` (a .keras file, checked before any work), whose weights a run starts from."""
    import keras

    path = Path(path)
    problem = ("is a folder" if path.is_dir() else "no such file" if not path.exists()
               else "not a .keras model" if path.suffix != ".keras" else None)
    if problem:
        raise KwsError(f"--init {path}: {problem}; give a .keras model (a run's model.keras, beside its "
                       "model.tflite), or --init none to start from scratch")
    try:
        return keras.models.load_model(path, compile=False)
    except ValueError:
        raise KwsError(f"--init {path}: cannot read it as a Keras model; give a .keras file made by `kws train`, or "
                       "--init none to start from scratch") from None


def _init_from(model, start, path) -> int:
    """Copy the weights of every layer of the Keras model `start` (read from `path`) whose name and shapes match:
    all but the classifier when the labels differ, all when they do not. Returns how many layers were copied; a
    network with a layer `start` lacks or shapes otherwise (another width, more blocks), or that is streamable where
    `start` is not (or the other way round), is an error, not a silent start from scratch."""
    if is_streamable(model) != is_streamable(start):
        raise KwsError(f"--init {path}: its network is {'' if is_streamable(start) else 'not '}streamable (causal in "
                       f"time) and this one is{'' if is_streamable(model) else ' not'}; start from a model of the "
                       "same kind, or --init none to start from scratch")
    source = {layer.name: layer for layer in start.layers}
    copied, other = 0, []
    for layer in (layer for layer in model.layers if layer.weights):
        theirs = source.get(layer.name)
        if theirs is not None and [w.shape for w in theirs.weights] == [w.shape for w in layer.weights]:
            layer.set_weights(theirs.get_weights())
            copied += 1
        elif layer.name not in CLASSIFIER:
            other.append(layer.name)
    if other:
        raise KwsError(f"{path}: its network differs from this one's at {', '.join(other[:3])}; train with its "
                       f"--channels and --blocks, or --init none to start from scratch")
    return copied


def own_class_words(clips, labels: np.ndarray, unknown: int, min_clips: int) -> list[str]:
    """The other words (clips labelled `unknown`) with at least `min_clips` of `clips`, sorted: each gets an output."""
    names, counts = np.unique([c.word for c, y in zip(clips, labels) if y == unknown], return_counts=True)
    return [str(w) for w, n in zip(names, counts) if n >= min_clips] if min_clips > 0 else []


def word_class_labels(clips, labels: np.ndarray, n_classes: int, words: list[str]) -> np.ndarray:
    """Labels over the classes and then `words`: a clip of one of `words` gets its own index, others keep theirs."""
    index = {w: n_classes + i for i, w in enumerate(words)}
    return np.array([index.get(c.word, y) for c, y in zip(clips, labels)], int)


def _word_parts(data_dirs, words, out: Path) -> str:
    """The parts of the recorded (not synthetic) training takes of `words`, written to `out`: a negatives folder."""
    clips = SpeechCommands(data_dirs, words=words).recorded
    for word in words:
        takes = [c.path for c in clips if c.label == word and c.split == "training" and not is_synthetic(c.path)]
        write_word_parts(takes, word, out)
    return str(out)


def _trainer(model, config: TrainConfig, loss, metric, n_words: int, two_outputs: bool, before=None):
    """What fits `model`, compiled: `model` itself, or with a second output (its other words' classes, or a word
    head over `n_words` words); `before` is the trainer it replaces (quantization-aware training), whose word head
    it keeps."""
    import keras

    optimizer = keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)
    if not two_outputs:
        model.compile(optimizer=optimizer, loss=loss, metrics=[metric])
        return model
    trainer = with_word_head(model, n_words) if config.word_head > 0 else with_words_output(model)
    if before is not None and config.word_head > 0:
        trainer.get_layer("word_fc").set_weights(before.get_layer("word_fc").get_weights())
    trainer.compile(optimizer=optimizer, loss=[loss, keras.losses.CategoricalCrossentropy()],
                    loss_weights=[1.0, config.word_head or 1.0], metrics=[[metric], []])
    return trainer


def train(data_dirs, out_dir, *, feature_config=FeatureConfig(), model_config=ModelConfig(), config=TrainConfig(),
          augment_config=AugmentConfig(), words=None, resume=False, force=False, cache_dir=None, init=None,
          teacher=None, negatives=()):
    """Train on one or more Speech Commands folders, with `negatives` folders of other words only (their clips of
    `words` left out); `init` is a .keras model to start from, `teacher` the run folder of a larger model to
    distil (same labels and features). Writes out_dir/{best,last}.weights.h5 and state.json (settings, history). An
    out_dir that holds a run is refused unless `resume` continues it or `force` starts over. Returns the best
    Keras model, the prepared data and the state."""
    import keras
    import tensorflow as tf

    if resume and force:
        raise KwsError("--resume continues the run in --out, --force starts it over: pass one of them")
    if config.qat_epochs > config.epochs:
        raise KwsError(f"--qat-epochs {config.qat_epochs} is more than --epochs {config.epochs}: quantization-aware "
                       "training is the last of the epochs; give at most as many")
    state = read_state(out_dir) if resume else None
    out = output_folder(out_dir, "--out")
    start = None
    if state is None:
        if init is not None:  # a wake word's network is streamable when the model it starts from is
            start = _load_init(init)
            model_config = dataclasses.replace(model_config, streamable=model_config.streamable or is_streamable(start))
        start_run(out, force)
    else:
        settings = RunSettings.from_state(state, out_dir)
        feature_config, model_config, augment_config = settings.features, settings.model, settings.augment
        config = saved_config(settings.train)
        words = keywords(settings.labels)
        teacher = settings.teacher
        negatives = settings.negatives
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()

    data_dirs, negatives = as_roots(data_dirs), as_roots(negatives)
    if config.word_parts and words and state is None:
        negatives.append(_word_parts(data_dirs, words, out / PARTS))
    prep = prepare(data_dirs, feature_config, words, cache_dir, config.limit_per_class, config.seed, negatives,
                   config.other_voices, config.own_voice_negatives)
    counts = np.bincount(prep.y_train, minlength=len(prep.labels))
    if (counts == 0).any():
        missing = [l for l, c in zip(prep.labels, counts) if c == 0]
        raise KwsError(f"{', '.join(data_dirs + negatives)}: no training clips for {missing}; add clips for every class")
    synthetic = np.array([c.path is not None and is_synthetic(c.path) for c in prep.train_clips])
    vocabulary, words = np.unique([c.word for c in prep.train_clips], return_inverse=True)
    n, unknown = len(prep.labels), prep.labels.index(UNKNOWN)
    weights = sample_weights(prep.y_train, synthetic, words if config.balance_words else None,
                             {unknown: config.unknown_weight})

    # a resumed run keeps the words its weights were shaped for, even if its data folders have grown since
    own_words = (state["word_classes"] if state and "word_classes" in state
                 else own_class_words(prep.train_clips, prep.y_train, unknown, config.word_class_clips))
    if config.word_head > 0 and own_words:
        raise KwsError("--word-head and --word-classes are two ways to name other words: add --word-classes 0 to "
                       "train with --word-head")
    model_config = dataclasses.replace(model_config, word_classes=len(own_words))
    model = build_network((feature_config.n_frames, feature_config.n_features), n, model_config)
    teacher_model = _load_teacher(teacher, prep.labels, feature_config) if teacher else None
    loss, metric = ((keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing), "accuracy")
                    if teacher_model is None else distillation_loss(n, config))
    two_outputs = config.word_head > 0 or bool(own_words)
    trainer = _trainer(model, config, loss, metric, len(vocabulary), two_outputs)  # fitted, saved as LAST
    net = model  # what is fitted: `model`, or in the last qat_epochs, it with its int8 rounding simulated
    qat_start = config.epochs - config.qat_epochs if config.qat_epochs > 0 else None
    representative = (representative_features(prep, config.seed, feature_config, augment_config)
                      if qat_start is not None else None)  # what the converter calibrates on

    def quantization_aware_trainer():
        """`model` with its int8 rounding simulated (kws.model.qat), and a trainer for it."""
        qat = quantization_aware(model)
        return qat, _trainer(qat, config, loss, metric, len(vocabulary), two_outputs, trainer)

    if state is None:
        settings = RunSettings(feature_config, model_config, augment_config, config.to_dict(), prep.labels,
                               data_dirs, str(teacher) if teacher else None, negatives)
        state = {**new_state(settings, len(prep.train_clips), len(prep.val_clips)), "word_classes": own_words}
        if init is not None:
            print(f"starting from {init}: {_init_from(model, start, init)} layers copied", flush=True)
    else:
        if qat_start is not None and state["epoch"] >= qat_start:
            net, trainer = quantization_aware_trainer()
        trainer.optimizer.build(trainer.trainable_variables)  # its moments are in the checkpoint too
        trainer.load_weights(out / LAST)
    print(f"training on {len(prep.train_clips)} clips, validating on {len(prep.val_clips)}, "
          f"{model.count_params()} parameters, {config.epochs} epochs", flush=True)

    x_val = prep.x_val[..., None]
    y_val = keras.utils.to_categorical(prep.y_val, n)
    y_train = keras.utils.to_categorical(prep.y_train, n)
    if teacher_model is not None:
        y_val = np.concatenate([y_val, y_val], axis=1)  # validation loss: the labels stand in for the teacher
    if own_words:  # each of own_words its own class after the labels'
        y_val = (y_val, keras.utils.to_categorical(word_class_labels(prep.val_clips, prep.y_val, n, own_words),
                                                   n + len(own_words)))
        word_targets = keras.utils.to_categorical(word_class_labels(prep.train_clips, prep.y_train, n, own_words),
                                                  n + len(own_words))
    elif two_outputs:  # validation words not in training get no word target
        index = {w: i for i, w in enumerate(vocabulary)}
        val_words = np.zeros((len(prep.val_clips), len(vocabulary)))
        for row, clip in enumerate(prep.val_clips):
            if clip.word in index:
                val_words[row, index[clip.word]] = 1
        y_val = (y_val, val_words)
        word_targets = keras.utils.to_categorical(words, len(vocabulary))
    verbose = 1 if sys.stdout.isatty() else 2
    first = state["epoch"] + 1
    with ThreadPoolExecutor(1) as pool:
        make = lambda e: pool.submit(epoch_features, prep, e, config.seed, feature_config, augment_config)
        pending = make(first) if first < config.epochs else None
        for epoch in range(first, config.epochs):
            if epoch == qat_start:  # from the best float checkpoint; the best of these epochs is the run's model
                if epoch:
                    model.load_weights(out / BEST)
                net, trainer = quantization_aware_trainer()
                state["best_accuracy"] = 0.0
                print("quantization-aware from here: the int8 model's rounding simulated", flush=True)
            if net is not model:  # the activations' ranges as the converter will calibrate them now
                calibrate(net, model, representative)
            x_train = pending.result()[..., None]
            pending = make(epoch + 1) if epoch + 1 < config.epochs else None
            targets, epoch_weights = y_train, weights
            if config.hard_negatives > 0:
                probs = net.predict(x_train, batch_size=1024, verbose=0)
                epoch_weights = hard_negative_weights(weights, prep.y_train, probs, prep.labels.index(UNKNOWN),
                                                      config.hard_negatives)
            if teacher_model is not None:
                probs = teacher_model.predict(x_train, batch_size=1024, verbose=0)
                targets = np.concatenate([y_train, softened(probs, config.distill_temperature)], axis=1)
            if two_outputs:
                targets = (targets, word_targets)
            trainer.optimizer.learning_rate.assign(learning_rate(epoch, config))
            print(f"epoch {epoch + 1}/{config.epochs}  lr {learning_rate(epoch, config):.2e}", flush=True)
            fit = trainer.fit(x_train, targets, batch_size=config.batch_size, epochs=1, verbose=verbose,
                              sample_weight=epoch_weights, validation_data=(x_val, y_val), shuffle=True)
            val_acc = float(fit.history["val_probs_accuracy" if two_outputs else "val_accuracy"][-1])
            save_weights(trainer, out / LAST)
            if val_acc > state["best_accuracy"]:
                state["best_accuracy"] = val_acc
                save_weights(model if net is model else exported(net, model), out / BEST)
            state["epoch"] = epoch
            state["history"].append({k: float(v[-1]) for k, v in fit.history.items()})
            write_state(out, state)
    model.load_weights(out / BEST)
    kind = "float" if net is model else "int8 simulated"
    print(f"best validation accuracy ({kind}, clean): {state['best_accuracy']:.4f}", flush=True)
    return model, prep, state
