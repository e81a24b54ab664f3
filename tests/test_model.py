"""Training, int8 quantization, metadata and evaluation, on a tiny model trained in seconds."""

import dataclasses
import json
import re

import numpy as np
import pytest
from conftest import tone, tone_words, write_wav

from kws.cli import main
from kws.errors import KwsError
from kws.features import FeatureConfig
from kws.metadata import CHECKSUM, load_model_file, read_metadata, read_metadata_json, write_metadata, write_metadata_json
from kws.runtime import Model

TFLM_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"}
# a streaming model's past: read, joined to the new steps, the newest kept; frequency padding apart from time's
STREAMING_OPS = {"VAR_HANDLE", "READ_VARIABLE", "CONCATENATION", "STRIDED_SLICE", "ASSIGN_VARIABLE"}  # no PAD: zero bins are concatenated


def test_tiny_model_learns_and_carries_its_metadata(tiny_run):
    data, run, model_path = tiny_run
    state = json.loads((run / "state.json").read_text())
    assert state["epoch"] == 9 and len(state["history"]) == 10
    _, meta = load_model_file(model_path)
    assert meta.labels == ("_silence_", "_unknown_", "yes", "no")
    assert meta.features == FeatureConfig()
    assert meta.accuracy["int8"] > 0.8  # tones are easy: a model that learned nothing scores ~0.3
    assert abs(meta.accuracy["int8"] - meta.accuracy["float"]) < 0.1
    assert meta.tuned_on["hit_rate"] > 0.5  # an untrained model finds no tones in a stream


def test_sample_weights_balance_classes_and_favour_recordings():
    from kws.model.train import REAL_SHARE, sample_weights

    labels = np.array([0] * 10 + [1] * 2 + [1] * 38 + [2] * 5)
    synthetic = np.array([False] * 12 + [True] * 38 + [False] * 5)
    w = sample_weights(labels, synthetic)
    totals = [w[labels == c].sum() for c in range(3)]
    assert np.allclose(totals, totals[0]) and np.isclose(w.sum(), len(labels))
    assert np.isclose(w[10:12].sum(), REAL_SHARE * totals[1])  # 2 recordings weigh as much as 38 synthetic clips
    assert np.allclose(w[:10], w[0]) and np.allclose(w[50:], w[50])


def test_sample_weights_scale_a_class_and_keep_the_mean():
    from kws.model.train import REAL_SHARE, sample_weights

    labels = np.array([0] * 10 + [1] * 2 + [1] * 38 + [2] * 5)
    synthetic = np.array([False] * 12 + [True] * 38 + [False] * 5)
    w = sample_weights(labels, synthetic, class_scale={1: 2.0})
    totals = [w[labels == c].sum() for c in range(3)]
    assert np.isclose(totals[1], 2 * totals[0]) and np.isclose(totals[2], totals[0]) and np.isclose(w.sum(), 55)
    assert np.isclose(w[10:12].sum(), REAL_SHARE * totals[1])  # the recordings keep their share of the class


def test_sample_weights_give_each_word_of_a_class_an_equal_share():
    from kws.model.train import REAL_SHARE, sample_weights

    labels = np.array([0] * 4 + [1] * 90 + [1] * 10)
    words = np.array([0] * 4 + [1] * 90 + [2] * 10)  # class 1: a word with 90 clips, one with 10
    synthetic = np.zeros(104, bool)
    synthetic[94:102] = True  # 8 of the small word's clips are synthetic
    w = sample_weights(labels, synthetic, words)
    assert np.isclose(w[:4].sum(), w[4:].sum()) and np.isclose(w.sum(), 104)
    assert np.isclose(w[4:94].sum(), w[94:].sum())  # 10 clips weigh as much as 90
    assert np.isclose(w[102:].sum(), REAL_SHARE * w[94:].sum())  # and within the word, recordings keep their share
    assert np.allclose(sample_weights(labels, synthetic, np.zeros(104, int)), sample_weights(labels, synthetic))


def test_hard_negatives_move_unknown_weight_to_mistaken_clips():
    from kws.model.train import hard_negative_weights

    labels = np.array([0, 1, 1, 1, 2])
    probs = np.array([[0.9, 0.1, 0], [0, 1, 0], [0, 0.5, 0.5], [0, 0, 1], [0, 0, 1]])
    weights = np.array([1.0, 2.0, 2.0, 2.0, 1.0])
    out = hard_negative_weights(weights, labels, probs, unknown=1, emphasis=4.0)
    assert np.isclose(out[1:4].sum(), 6.0) and out[1] < out[2] < out[3]  # class total kept, mistakes weigh more
    assert np.isclose(out[3] / out[1], 5.0)
    assert out[0] == 1.0 and out[4] == 1.0  # other classes untouched


def test_distillation_loss_is_cross_entropy_plus_softened_teacher_term():
    from kws.model.train import TrainConfig, distillation_loss, softened

    teacher = np.array([[0.7, 0.2, 0.1], [0.01, 0.01, 0.98]])
    soft = softened(teacher, 2.0)
    assert np.allclose(soft.sum(axis=1), 1) and soft[0, 1] > teacher[0, 1] and soft[0, 0] < teacher[0, 0]
    labels, student = np.eye(3)[[0, 2]], np.array([[0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    y_true = np.concatenate([labels, soft], axis=1).astype(np.float32)
    config = TrainConfig(distill_weight=0.25, distill_temperature=2.0, label_smoothing=0.0)
    loss, _ = distillation_loss(3, config)
    expected = 0.75 * -np.log(student[labels == 1]) - 0.25 * 4 * (soft * np.log(softened(student, 2.0))).sum(axis=1)
    assert np.allclose(np.asarray(loss(y_true, student.astype(np.float32))), expected, atol=1e-5)


def test_distillation_learns_from_the_teacher(tiny_run, tmp_path):
    """A teacher trained with `yes` and `no` swapped, distilled with the targets all teacher: the student
    calls `yes` clips `no` and the reverse, so it learned the teacher's outputs, not the labels."""
    from kws.data.augment import AugmentConfig
    from kws.model.network import ModelConfig
    from kws.model.run import load_run
    from kws.model.train import TrainConfig, train

    data, _, _ = tiny_run
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    for name, target in (("yes", "no"), ("no", "yes"), ("bed", "bed"), ("_background_noise_", "_background_noise_")):
        (swapped / name).symlink_to(data / target)
    kwargs = dict(model_config=ModelConfig(channels=8, blocks=1), words=("yes", "no"), cache_dir=tmp_path / "cache",
                  augment_config=AugmentConfig(background_frequency=0.0))  # clean words: a sure teacher
    config = TrainConfig(epochs=8, batch_size=16, learning_rate=1e-2, unknown_weight=1.0)  # as the test was sized
    train(swapped, tmp_path / "teacher", **kwargs, config=config)
    student = dataclasses.replace(config, distill_weight=1.0)
    model, prep, state = train(data, tmp_path / "student", **kwargs, config=student, teacher=tmp_path / "teacher")
    assert state["teacher"] == str(tmp_path / "teacher")
    model.load_weights(tmp_path / "student" / "last.weights.h5")  # "best" is chosen by the true labels
    words = prep.y_val >= 2
    predicted = model.predict(prep.x_val[words][..., None], verbose=0).argmax(axis=1)
    teacher = load_run(tmp_path / "teacher")[1].predict(prep.x_val[words][..., None], verbose=0).argmax(axis=1)
    assert np.mean(predicted == teacher) > 0.8 and np.mean(predicted == prep.y_val[words]) < 0.2
    with pytest.raises(KwsError, match="other labels or features"):
        train(data, tmp_path / "mismatch", **{**kwargs, "words": ("yes",)}, config=student, teacher=tmp_path / "teacher")


def test_a_log_mel_model_trains_and_runs_on_its_own_front_end(tiny_run, tmp_path):
    from kws.features import mfcc
    from kws.model.network import ModelConfig
    from kws.model.quantize import quantize_run
    from kws.model.train import TrainConfig, train

    data = tiny_run[0]
    config = FeatureConfig(kind="log-mel")
    network = ModelConfig(channels=8, blocks=1, first_kernel=(10, 40))  # a tiny DS-CNN needs every band in view
    train(data, tmp_path / "run", feature_config=config, model_config=network,
          words=("yes", "no"), cache_dir=tmp_path / "cache", config=TrainConfig(epochs=10, batch_size=16,
                                                                                 learning_rate=1e-2))
    meta = quantize_run(tmp_path / "run", tmp_path / "log_mel.tflite", cache_dir=tmp_path / "cache", tune_minutes=0)
    assert meta.features == config and meta.accuracy["int8"] > 0.8  # tones: an untrained model scores ~0.3
    model = Model(tmp_path / "log_mel.tflite")
    assert model.config == config and model.input_shape[1:3] == (49, 40)
    clip = np.zeros(16000, np.float32)
    clip[4000:12000] = tone(0.5, 400, amp=0.3)  # "yes", as tone_words makes it
    assert model.labels[model.predict(mfcc(clip, config)).argmax()] == "yes"


def test_export_is_full_int8_with_batch_one_and_micro_ops(tiny_run):
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    _, _, model_path = tiny_run
    interp = Interpreter(model_path=str(model_path))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    assert tuple(inp["shape"]) == (1, 49, 10, 1) and tuple(out["shape"]) == (1, 4)
    model = schema.ModelT.InitFromPackedBuf(model_path.read_bytes(), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    ops = {names[max(c.builtinCode, c.deprecatedBuiltinCode)] for c in model.operatorCodes}
    assert ops <= TFLM_OPS, ops - TFLM_OPS


@pytest.mark.parametrize("family, arch, extra", [("tc-resnet", "tc-resnet", {"ADD"}), ("bc-resnet", "bc-resnet", {"ADD"}),
                                                 ("streamable", "ds-cnn", STREAMING_OPS)])
def test_each_family_learns_in_micro_ops_and_both_runtimes_agree(tiny_run, tiny_families, family, arch, extra):
    from kws.data.cache import clip_features
    from kws.data.speech_commands import SpeechCommands
    from kws.firmware import model_ops

    _, model_path = tiny_families[family]
    meta = load_model_file(model_path)[1]
    assert meta.model["arch"] == arch and meta.accuracy["int8"] > 0.8  # an untrained model scores ~0.3
    assert meta.model["streamable"] == (family == "streamable")
    ops = set(model_ops(model_path.read_bytes()))
    assert extra <= ops <= TFLM_OPS | extra, ops
    dataset = SpeechCommands(tiny_run[0], words=("yes", "no"))
    features = clip_features(dataset, dataset.split("validation")[:20], meta.features, progress=False)
    lite, micro = Model(model_path, "litert"), Model(model_path, "tflm")
    for f in features:
        assert np.abs(lite.predict(f) - micro.predict(f)).max() <= 2 * lite.output_quant[0] + 1e-6


def test_litert_and_tflm_agree(tiny_run):
    from kws.data.cache import clip_features
    from kws.data.speech_commands import SpeechCommands

    data, _, model_path = tiny_run
    dataset = SpeechCommands(data, words=("yes", "no"))
    features = clip_features(dataset, dataset.split("validation")[:20], FeatureConfig(), progress=False)
    lite, micro = Model(model_path, "litert"), Model(model_path, "tflm")
    for f in features:
        # same int8 kernels up to rounding: at most one output step apart
        assert np.abs(lite.predict(f) - micro.predict(f)).max() <= lite.output_quant[0] + 1e-6


def test_metadata_round_trip_and_refusals(tiny_run, tmp_path):
    _, _, model_path = tiny_run
    data, meta = load_model_file(model_path)
    assert read_metadata(write_metadata(data, meta)) == meta
    assert meta.labels == ("_silence_", "_unknown_", "yes", "no") and meta.features == FeatureConfig()
    other = dataclasses.replace(meta, features=FeatureConfig(n_mels=32))
    with pytest.raises(KwsError, match="other feature settings.*n_mels"):
        other.require_features(FeatureConfig())
    mismatched = tmp_path / "mismatched.tflite"
    mismatched.write_bytes(write_metadata(data, other))
    assert Model(mismatched).config.n_mels == 32  # the model's own front end runs it
    with pytest.raises(KwsError, match="mismatched.tflite"):
        Model(mismatched, config=FeatureConfig())
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\0" * 100)
    assert main(["detect", str(model_path), "--model", str(junk)]) == 2


BAD_METADATA = [  # an edit of the raw metadata -> what the one-line error names
    (lambda m: m["detection"].update(threshold=5), "threshold is 5"),
    (lambda m: m["detection"].update(threshold=float("nan")), "threshold is nan"),
    (lambda m: m["detection"].update(threshold=-1), "threshold is -1"),
    (lambda m: m["detection"].update(stride_ms=0), "stride_ms is 0"),
    (lambda m: m["detection"].update(smoothing_ms=1e6), "smoothing_ms is 1000000.0"),
    (lambda m: m["detection"].update(threshold="high"), "threshold is 'high'"),
    (lambda m: m.update(detection=[0.5]), "'detection' is list"),
    (lambda m: m.update(features="mfcc"), "'features' is str"),
    (lambda m: m["features"].update(n_mfcc=-10), "n_mfcc is -10"),
    (lambda m: m["features"].update(n_fft=8), "do not make a front end"),
    (lambda m: m.update(labels=["_silence_", "_unknown_", "yes", "yes"]), "name yes more than once"),
    (lambda m: m.update(labels=[]), "not a list of names"),
    (lambda m: m.pop("labels"), "lacks 'labels'"),
    (lambda m: m.update(format=2), "format 2"),
]


@pytest.mark.parametrize("edit, message", BAD_METADATA)
def test_bad_metadata_is_refused_on_load_with_one_line(tiny_run, tmp_path, edit, message):
    _, _, model_path = tiny_run
    data = model_path.read_bytes()
    raw = read_metadata_json(data)
    del raw[CHECKSUM]  # as a hand edit would leave it: the file then no longer matches a checksum
    edit(raw)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(write_metadata_json(data, raw))
    with pytest.raises(KwsError, match=re.escape(message)) as e:
        Model(bad)
    assert str(bad) in str(e.value) and "\n" not in str(e.value)


def test_damaged_bytes_fail_the_checksum(tiny_run, tmp_path):
    _, _, model_path = tiny_run
    data = bytearray(model_path.read_bytes())
    raw = read_metadata_json(bytes(data))
    assert len(raw[CHECKSUM]) == 64
    data[len(data) // 3] ^= 0x01  # one bit among the weights: the model still parses, and would answer wrongly
    damaged = tmp_path / "damaged.tflite"
    damaged.write_bytes(bytes(data))
    with pytest.raises(KwsError, match="corrupt model file .*checksum"):
        Model(damaged)


def test_metadata_that_is_not_json_is_named_so(tiny_run, tmp_path):
    _, _, model_path = tiny_run
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(write_metadata_json(model_path.read_bytes(), {}).replace(b"{}", b"{["))
    with pytest.raises(KwsError, match="metadata is not JSON"):
        Model(bad)


def test_resume_continues_from_the_last_epoch_with_the_optimizers_moments(tiny_run, tmp_path):
    import shutil
    import warnings

    from kws.model.train import train

    data, run, _ = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    state = json.loads((copy / "state.json").read_text())
    state["train"]["epochs"] = 11
    (copy / "state.json").write_text(json.dumps(state))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(data, copy, resume=True, cache_dir=tmp_path / "cache")
    assert not [w for w in caught if "optimizer" in str(w.message)]  # Keras skips what it has nowhere to load
    state = json.loads((copy / "state.json").read_text())
    assert state["epoch"] == 10 and len(state["history"]) == 11
    with pytest.raises(KwsError, match="nothing to resume"):
        train(data, tmp_path / "empty", resume=True)


def test_a_run_saved_before_a_setting_existed_resumes_as_it_was_started():
    from kws.model.train import TrainConfig, saved_config

    old = {k: v for k, v in TrainConfig().to_dict().items()
           if k not in ("unknown_weight", "balance_words", "word_class_clips")}
    assert saved_config(old) == dataclasses.replace(TrainConfig(), unknown_weight=1.0, balance_words=False,
                                                    word_class_clips=0)
    assert saved_config(TrainConfig(unknown_weight=3.0).to_dict()) == TrainConfig(unknown_weight=3.0)


def test_evaluate_json_and_plot(tiny_run, tmp_path, capsys):
    data, _, model_path = tiny_run
    png = tmp_path / "cm.png"
    args = ["evaluate", "--model", str(model_path), "--data", str(data), "--split", "all", "--json",
            "--runtime", "litert", "tflm", "float", "--plot", str(png), "--cache-dir", str(tmp_path)]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n"] == 180 + 18  # every clip, plus generated silence
    assert set(report["per_class"]) == {"_silence_", "_unknown_", "yes", "no"}
    assert report["per_class"]["yes"]["n"] == 60
    assert abs(report["runtimes"]["tflm"]["accuracy"] - report["runtimes"]["litert"]["accuracy"]) < 0.02
    assert report["accuracy"] > 0.8 and png.stat().st_size > 10_000
    assert list(report["per_word"]) == ["bed"] and report["per_word"]["bed"]["n"] == 60


def test_evaluate_official_test_set_layout(tiny_run, tmp_path, capsys):
    """The official test set: _silence_/, _unknown_/ and word folders of wav files, no split lists."""
    import shutil

    data, _, model_path = tiny_run
    test_set = tmp_path / "speech_commands_test_set_v0.02"
    # the test set keeps each other word in its file names: "bed", and "wow" (here yes tones, taken for "yes")
    for word, target, name in (("yes", "yes", ""), ("no", "no", ""), ("bed", "_unknown_", "bed_"),
                               ("yes", "_unknown_", "wow_")):
        (test_set / target).mkdir(parents=True, exist_ok=True)
        for p in sorted((data / word).glob("*.wav"))[-5:] if name == "wow_" else sorted((data / word).glob("*.wav"))[:5]:
            shutil.copy(p, test_set / target / f"{name}{p.name}")
    (test_set / "_silence_").mkdir()
    np.zeros(16000, np.int16).tofile(test_set / "_silence_" / "raw_not_wav.wav")  # a broken file is refused
    assert main(["evaluate", "--model", str(model_path), "--data", str(test_set), "--split", "all", "--json",
                 "--cache-dir", str(tmp_path)]) == 2
    assert "raw_not_wav.wav" in capsys.readouterr().err
    (test_set / "_silence_" / "raw_not_wav.wav").unlink()
    from conftest import write_wav

    write_wav(test_set / "_silence_" / "silence_0.wav", np.zeros(16000))
    assert main(["evaluate", "--model", str(model_path), "--data", str(test_set), "--split", "all", "--json",
                 "--cache-dir", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n"] == 21
    assert {k: v["n"] for k, v in report["per_class"].items()} == {"_silence_": 1, "_unknown_": 10, "yes": 5, "no": 5}
    bed, wow = report["per_word"]["bed"], report["per_word"]["wow"]
    assert set(report["per_word"]) == {"bed", "wow"} and bed["n"] == wow["n"] == 5
    assert bed["accuracy"] >= 0.8 and wow["accuracy"] <= 0.2 and wow["called"].get("yes", 0) >= 4
    assert report["other_words"] == round((bed["accuracy"] + wow["accuracy"]) / 2, 4)


def test_word_head_tells_other_words_apart_and_stays_out_of_the_export(tmp_path):
    """Two other words (one `_unknown_` class) get a class each in the training-only word head: it learns them
    apart; the best weights (what is exported) are the 12-class shape alone, and the run resumes from its last
    weights, head included."""
    from kws.features import mfcc
    from kws.model.network import ModelConfig, build_network, with_word_head
    from kws.model.train import TrainConfig, train

    rng = np.random.default_rng(1)
    data = tmp_path / "data"
    tone_words(data, ("yes", "bed", "cat"), 40, 500, rng)
    kwargs = dict(model_config=ModelConfig(channels=8, blocks=1), words=("yes",), cache_dir=tmp_path / "cache",
                  config=TrainConfig(epochs=20, batch_size=16, learning_rate=1e-2, word_head=1.0))
    model, prep, state = train(data, tmp_path / "run", **kwargs)
    assert state["train"]["word_head"] == 1.0 and model.output_shape == (None, 3)

    trainer = with_word_head(build_network((49, 10), 3, kwargs["model_config"]), 4)  # _silence_, bed, cat, yes
    trainer.load_weights(tmp_path / "run" / "last.weights.h5")
    x = np.concatenate([[mfcc(a, FeatureConfig()) for a in prep.train_audio], prep.x_val])[..., None]
    said = np.array([c.word for c in prep.train_clips + prep.val_clips])
    other = (said == "bed") | (said == "cat")
    named = np.array(["_silence_", "bed", "cat", "yes"])[trainer.predict(x[other], verbose=0)[1].argmax(axis=1)]
    assert np.mean(named == said[other]) > 0.9
    assert train(data, tmp_path / "run", **kwargs, resume=True)[2]["epoch"] == 19


def test_word_classes_are_outputs_of_their_own_summed_into_unknown_in_float_and_int8(tmp_path):
    """Other words with enough clips (bed, cat) get outputs of their own, a word with few (wow) stays in
    `_unknown_`; the model tells bed from cat, its usual outputs are the sum, and the int8 export keeps 3 outputs
    that agree with the float model."""
    from kws.features import mfcc
    from kws.model.network import ModelConfig, build_network, with_words_output
    from kws.model.quantize import quantize_run
    from kws.model.train import TrainConfig, train

    rng = np.random.default_rng(1)
    data = tmp_path / "data"
    tone_words(data, ("yes", "bed", "cat"), 40, 500, rng)
    for i in range(6):
        write_wav(data / "wow" / f"{i:08x}_nohash_0.wav", tone(1.0, 3000.0) + 0.005 * rng.standard_normal(16000))
    kwargs = dict(model_config=ModelConfig(channels=8, blocks=1), words=("yes",), cache_dir=tmp_path / "cache",
                  config=TrainConfig(epochs=20, batch_size=16, learning_rate=1e-2, word_class_clips=10))
    model, prep, state = train(data, tmp_path / "run", **kwargs)
    assert state["word_classes"] == ["bed", "cat"] and state["model"]["word_classes"] == 2
    assert model.output_shape == (None, 3)

    trainer = with_words_output(build_network((49, 10), 3, ModelConfig(channels=8, blocks=1, word_classes=2)))
    trainer.load_weights(tmp_path / "run" / "last.weights.h5")  # the best epoch came early, as soon as val was right
    x = np.concatenate([[mfcc(a, FeatureConfig()) for a in prep.train_audio], prep.x_val])[..., None]
    said = np.array([c.word for c in prep.train_clips + prep.val_clips])
    probs, words = trainer.predict(x, verbose=0)
    assert words.shape[1] == 5 and np.allclose(probs[:, 1], words[:, 1] + words[:, 3:].sum(axis=1), atol=1e-5)
    other = (said == "bed") | (said == "cat")
    named = np.array(["_silence_", "_unknown_", "yes", "bed", "cat"])[words[other].argmax(axis=1)]
    assert np.mean(named == said[other]) > 0.9

    quantize_run(tmp_path / "run", tmp_path / "model.tflite", tune_minutes=0, prep=prep)
    int8 = Model(tmp_path / "model.tflite")
    int8_probs = np.array([int8.predict(f) for f in prep.x_val])
    assert int8_probs.shape == (len(prep.x_val), 3)
    float_probs = model.predict(prep.x_val[..., None], verbose=0)
    assert np.mean(int8_probs.argmax(axis=1) == float_probs.argmax(axis=1)) > 0.9
    assert train(data, tmp_path / "run", **kwargs, resume=True)[2]["epoch"] == 19


def test_init_copies_the_body_of_a_model_with_other_labels_and_refuses_another_width(tmp_path):
    from kws.model.network import ModelConfig, build_network
    from kws.model.train import _init_from, _load_init

    shipped = build_network((49, 10), 12, ModelConfig(channels=8, blocks=2, word_classes=3))
    shipped.save(tmp_path / "start.keras")
    start = _load_init(tmp_path / "start.keras")
    wake = build_network((49, 10), 3, ModelConfig(channels=8, blocks=2))
    assert _init_from(wake, start, "start.keras") == len([l for l in wake.layers if l.weights]) - 1  # not "fc"
    for name in ("conv", "dw1"):  # randomly initialised: equal only if copied
        for mine, theirs in zip(wake.get_layer(name).get_weights(), shipped.get_layer(name).get_weights()):
            assert np.array_equal(mine, theirs)
    with pytest.raises(KwsError, match=r"start\.keras: its network differs from this one's at conv"):
        _init_from(build_network((49, 10), 3, ModelConfig(channels=6, blocks=2)), start, "start.keras")
    # the same weights' shapes, but causal in time: not the same network
    with pytest.raises(KwsError, match=r"start\.keras: its network is not streamable .* and this one is;"):
        _init_from(build_network((49, 10), 3, ModelConfig(channels=8, blocks=2, streamable=True)), start, "start.keras")
    with pytest.raises(KwsError, match=r"--init .*start\.txt: no such file"):
        _load_init(tmp_path / "start.txt")


def test_a_wake_word_started_from_a_streamable_model_is_streamable(tmp_path):
    """Starting from a streamable model (as from a streamable shipped one), a wake word's network is streamable
    too, though its own config did not say so, and the start's weights are copied into it."""
    from kws.model.network import ModelConfig, build_network
    from kws.model.train import TrainConfig, train

    build_network((49, 10), 12, ModelConfig(channels=8, blocks=1, streamable=True)).save(tmp_path / "start.keras")
    data = tmp_path / "data"
    tone_words(data, ("yes", "bed"), 30, 500, np.random.default_rng(2))
    model, _, state = train(data, tmp_path / "run", model_config=ModelConfig(channels=8, blocks=1), words=("yes",),
                            init=tmp_path / "start.keras", cache_dir=tmp_path / "cache",
                            config=TrainConfig(epochs=3, batch_size=16, learning_rate=1e-2, other_voices=0))
    assert state["model"]["streamable"] is True and model.get_layer("conv_pad") is not None


@pytest.mark.parametrize("blocks", [2, 4])
def test_a_streamable_network_is_causal_in_time(blocks):
    """No step it pools depends on a later frame than its own: change the frames from some point on and the steps
    before it stay as they were, the step that reaches it moves. Every frame but the last reaches a pooled step."""
    import keras

    from kws.model.network import ModelConfig, build_network

    window = build_network((49, 10), 12, ModelConfig(channels=8, blocks=blocks, streamable=True))
    body = keras.Model(window.input, window.get_layer("pool").input)
    rng = np.random.default_rng(0)
    frames = rng.normal(0, 20, (1, 49, 10, 1)).astype(np.float32)
    steps = body(frames).numpy()
    assert steps.shape[1] == 24  # one per two frames, the last ending at frame 47
    for change in (30, 47):  # frames from `change` on
        other = frames.copy()
        other[:, change:] = rng.normal(0, 20, other[:, change:].shape)
        moved = np.abs(body(other).numpy() - steps).max(axis=(0, 2, 3)) > 1e-6
        first = change // 2  # the first step whose frames (2j - 8 .. 2j + 1) reach it
        assert not moved[:first].any() and moved[first]
    last = frames.copy()
    last[:, 48] += 100
    assert np.array_equal(body(last).numpy(), steps)
    with pytest.raises(KwsError, match="ds-cnn"):
        ModelConfig(arch="tc-resnet", streamable=True)


def test_a_run_with_settings_this_version_does_not_know_is_refused_in_one_line(tiny_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run[1], run)
    state = json.loads((run / "state.json").read_text())
    state["augment"]["loudness_masks"] = 2  # a setting of another version of kws
    (run / "state.json").write_text(json.dumps(state))
    assert main(["train", "--resume", "--out", str(run), "--data", str(tiny_run[0])]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "state.json" in err[0] and "loudness_masks" in err[0] and "--force" in err[0]


def test_quantization_aware_network_computes_what_the_int8_model_does(tiny_run, tmp_path):
    from kws.data.prepare import prepare
    from kws.labels import keywords
    from kws.model.qat import calibrate, quantization_aware
    from kws.model.quantize import representative_features, to_int8_tflite
    from kws.model.run import load_run

    data, run_dir, model_path = tiny_run
    run, model = load_run(run_dir)
    # the same function in float, made hard to round: one channel 100x larger after the first convolution (its
    # batch norm's scale and shift), 100x smaller in the depthwise kernel after it: the rest lose their resolution
    bn, dw = model.get_layer("conv_bn"), model.get_layer("dw0")
    gamma, beta, mean, var = bn.get_weights()
    gamma[0], beta[0] = 100 * gamma[0], 100 * beta[0]
    bn.set_weights([gamma, beta, mean, var])
    kernel = dw.get_weights()[0]
    kernel[:, :, 0, :] /= 100
    dw.set_weights([kernel])
    prep = prepare(run.data, run.features, keywords(run.labels), None, None, run.train["seed"], run.negatives)
    representative = representative_features(prep, run.train["seed"], run.features, run.augment)
    (tmp_path / "hard.tflite").write_bytes(write_metadata(to_int8_tflite(model, representative, run.model),
                                                          load_model_file(model_path)[1]))
    int8 = np.stack([Model(tmp_path / "hard.tflite").predict(f) for f in prep.x_val])
    in_float = model.predict(prep.x_val[..., None], verbose=0)
    assert np.abs(in_float - load_run(run_dir)[1].predict(prep.x_val[..., None], verbose=0)).max() < 1e-4
    qat = quantization_aware(model)
    calibrate(qat, load_run(run_dir)[1], representative)
    simulated = qat.predict(prep.x_val[..., None], verbose=0)
    assert np.abs(simulated - int8).mean() < 0.2 * np.abs(in_float - int8).mean()


def test_the_last_epochs_train_quantization_aware_and_resume(tiny_run, tmp_path):
    import shutil

    from kws.model.quantize import quantize_run
    from kws.model.train import TrainConfig, train

    data, run, _ = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    for epochs, qat_epochs in ((12, 2), (13, 3)):  # into the quantization-aware epochs, then resumed within them
        state = json.loads((copy / "state.json").read_text())
        state["train"].update(epochs=epochs, qat_epochs=qat_epochs)
        (copy / "state.json").write_text(json.dumps(state))
        train(data, copy, resume=True, cache_dir=tmp_path / "cache")
    state = json.loads((copy / "state.json").read_text())
    assert state["epoch"] == 12 and len(state["history"]) == 13
    meta = quantize_run(copy, tmp_path / "qat.tflite", cache_dir=tmp_path / "cache", tune_minutes=0)
    assert meta.accuracy["int8"] > 0.8 and abs(meta.accuracy["int8"] - state["best_accuracy"]) < 0.05
    with pytest.raises(KwsError, match="--qat-epochs 3 is more than --epochs 2"):
        train(data, tmp_path / "other", config=TrainConfig(epochs=2, qat_epochs=3))
