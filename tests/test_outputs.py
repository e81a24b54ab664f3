"""Outputs never destroy work: an existing run or model is kept unless --force (or --resume), the out folder is
checked before the work, writes appear whole, and clip folders hold each clip once, even beside a second writer."""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import tone_words, write_wav

from kws.cli import main
from kws.outputs import replace_with


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    return err


def train_args(data, run, *extra):
    """`kws train` for the wake word "yes" on tones, as small and quick as it goes."""
    return ["train", "--wake-word", "yes", "--data", str(data), "--negatives", str(data), "--init", "none",
            "--out", str(run), "--epochs", "1", "--channels", "8", "--blocks", "1", "--tune-minutes", "0",
            "--cache-dir", str(data.parent / "cache"), *extra]


def test_train_keeps_an_existing_run_unless_force_and_force_keeps_other_files(tmp_path, capsys):
    data, run = tmp_path / "data", tmp_path / "run"
    tone_words(data, ("yes", "bed"), 20, 400, np.random.default_rng(0))
    run.mkdir()
    (run / "state.json").write_text(json.dumps({"epoch": 2, "train": {"epochs": 10}}))
    (run / "last.weights.h5").write_bytes(b"mine")
    (run / "notes.txt").write_text("keep me")
    assert main(train_args(data, run)) == 2
    err = one_line_error(capsys)
    assert f"--out {run}: holds a training run (epoch 3 of 10); pass --resume" in err and "--force" in err
    assert (run / "last.weights.h5").read_bytes() == b"mine"
    assert main(train_args(data, run, "--resume", "--force")) == 2 and "pass one of them" in one_line_error(capsys)

    assert main(train_args(data, run, "--force")) == 0
    assert "wrote " in capsys.readouterr().out
    assert json.loads((run / "state.json").read_text())["epoch"] == 0  # started over: 1 epoch of 1
    assert (run / "notes.txt").read_text() == "keep me" and not list(run.glob(".tmp-*"))
    assert main(train_args(data, run)) == 2 and "(epoch 1 of 1)" in one_line_error(capsys)

    # quantize into the run's own model, which exists: refused, before any work, unless --force
    model = (run / "model.tflite").read_bytes()
    assert main(["quantize", "--run", str(run)]) == 2
    assert f"{run / 'model.tflite'} exists; pass --force" in one_line_error(capsys)
    assert (run / "model.tflite").read_bytes() == model
    assert main(["quantize", "--run", str(run), "--force", "--tune-minutes", "0"]) == 0
    assert f"wrote {run / 'model.tflite'}" in capsys.readouterr().out
    assert sorted(p.name for p in run.glob("*model*")) == ["model.keras", "model.tflite"]  # no temporary file left


def test_a_folder_holding_only_a_model_is_named_so(tmp_path, capsys):
    (tmp_path / "model.keras").write_bytes(b"shipped")
    assert main(train_args(tmp_path / "no-data", tmp_path)) == 2
    assert "holds a model (model.keras); pass --force to replace it" in one_line_error(capsys)


@pytest.mark.parametrize("out, message", [("file", "is a file, not a folder"), ("/proc/kws_run", "cannot write there")])
def test_train_checks_its_out_folder_before_loading_data(tmp_path, capsys, out, message):
    (tmp_path / "file").write_text("")
    out = tmp_path / out if out == "file" else out
    assert main(train_args(tmp_path / "no-such-data", out)) == 2  # the data would fail, later
    err = one_line_error(capsys)
    assert f"--out {out}: {message}" in err


@pytest.mark.parametrize("name, message", [("missing.keras", "no such file"), ("model.tflite", "not a .keras model"),
                                           ("bad.keras", "cannot read it as a Keras model")])
def test_init_that_is_not_a_keras_model_is_one_line(tmp_path, capsys, name, message):
    data = tmp_path / "data"
    tone_words(data, ("yes", "bed"), 10, 400, np.random.default_rng(0))
    (tmp_path / "model.tflite").write_bytes(b"TFL3")
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    args = train_args(data, tmp_path / "run")
    args[args.index("none")] = str(tmp_path / name)
    assert main(args) == 2
    assert f"--init {tmp_path / name}: {message}" in one_line_error(capsys)


@pytest.mark.parametrize("out, message", [("taken.tflite", "taken.tflite exists; pass --force"),
                                          ("taken2.tflite", "taken2.keras exists; pass --force"),
                                          ("/proc/m.tflite", "cannot write there"),
                                          ("no/such/m.tflite", "does not exist")])
def test_quantize_checks_its_out_before_the_work(tiny_run, tmp_path, capsys, out, message):
    (tmp_path / "taken.tflite").write_bytes(b"mine")
    (tmp_path / "taken2.keras").write_bytes(b"mine")
    out = out if out.startswith("/") else tmp_path / out
    assert main(["quantize", "--run", str(tiny_run[1]), "--out", str(out)]) == 2  # before the data and conversion
    assert message in one_line_error(capsys)
    assert (tmp_path / "taken.tflite").read_bytes() == b"mine"


def test_replace_with_keeps_the_old_file_when_the_write_fails(tmp_path):
    path = tmp_path / "best.weights.h5"
    path.write_bytes(b"old")

    def half_write(tmp):
        tmp.write_bytes(b"ha")
        raise OSError("disk full")

    with pytest.raises(OSError):
        replace_with(path, half_write)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == [path.name]
    replace_with(path, lambda tmp: tmp.write_bytes(b"new"))
    assert path.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == [path.name]


def clips_in(folder) -> list[str]:
    """The sha1 of each file in `folder`, all finished clips (no temporary file left behind)."""
    files = sorted(folder.iterdir())
    assert all(p.suffix == ".wav" for p in files)
    return [hashlib.sha1(p.read_bytes()).hexdigest() for p in files]


def test_synth_twice_adds_nothing_and_says_so(tmp_path, capsys):
    args = ["synth", "marvin", "--out", str(tmp_path), "--count", "6"]
    assert main(args) == 0 and "wrote 6 new synthetic clip(s)" in capsys.readouterr().out
    assert main(args) == 0
    assert "wrote 0 new synthetic clip(s) of 'marvin'" in capsys.readouterr().out
    clips = clips_in(tmp_path / "marvin")
    assert len(clips) == len(set(clips)) == 6


def test_two_synths_at_once_write_each_clip_once(tmp_path):
    args = [sys.executable, "-m", "kws.cli", "synth", "marvin", "--out", str(tmp_path), "--count", "30"]
    runs = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    said = [run.communicate()[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    clips = clips_in(tmp_path / "marvin")
    assert len(clips) == len(set(clips)) == 30
    written = [int(s.split()[1]) for s in said]  # "wrote N new synthetic clip(s) ..."
    assert sum(written) == 30 and all(f"({30 - n} already there" in s for n, s in zip(written, said) if n < 30)


def test_import_twice_adds_nothing_and_says_so(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for i in range(4):
        audio = 0.001 * rng.standard_normal(16000).astype(np.float32)
        audio[4000:9000] += 0.3 * np.sin(2 * np.pi * (300 + 50 * i) * np.arange(5000) / 16000)
        write_wav(tmp_path / "src" / f"take{i}.wav", audio)
    args = ["data", "import", str(tmp_path / "src"), "--word", "marvin", "--out", str(tmp_path / "data")]
    assert main(args) == 0 and "wrote 4 new clip(s)" in capsys.readouterr().out
    assert main(args) == 0
    assert "wrote 0 new clip(s) of 'marvin' under" in capsys.readouterr().out
    clips = clips_in(tmp_path / "data" / "marvin")
    assert len(clips) == len(set(clips)) == 4
