"""What a new user hits: bad input and bad options as a table (input -> exit code and message), the command list,
pipes closed early, and a fuzz of random and mutated WAV bytes."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, tone, write_wav
from kws import DEFAULT_MODEL
from kws.cli import build_parser, main
from kws.metadata import CHECKSUM, read_metadata_json, write_metadata_json


def edited_model(path, meta_edit=None, tensor_edit=None):
    """The shipped model with its metadata and/or its input and output tensors edited, without a checksum (as a
    model made before checksums), so that it loads as far as the edit."""
    from ai_edge_litert import schema_py_generated as schema
    import flatbuffers

    data = DEFAULT_MODEL.read_bytes()
    meta = read_metadata_json(data)
    meta.pop(CHECKSUM)
    if tensor_edit:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
        graph = model.subgraphs[0]
        tensor_edit(graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]])
        builder = flatbuffers.Builder(16384)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        data = bytes(builder.Output())
    if meta_edit:
        meta_edit(meta)
    path.write_bytes(write_metadata_json(data, meta))
    return path


def _other_shape(inp, out):
    inp.shape = inp.shapeSignature = [1, 98, 10, 1]


def _float_io(inp, out):
    inp.type = out.type = 0  # FLOAT32


def _five_outputs(inp, out):
    out.shape = out.shapeSignature = [1, 5]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Named paths the table's arguments refer to as {name}."""
    tmp_path = tmp_path_factory.mktemp("inputs")
    clip = tone(1.0)
    nan, inf = clip.copy(), clip.copy()
    nan[100], inf[200] = np.nan, np.inf
    full = write_wav(tmp_path / "full.wav", clip).read_bytes()
    stale = tmp_path / "stale_header.wav"  # a data chunk that declares half the samples the file holds
    stale.write_bytes(full[:40] + (len(full[44:]) // 2).to_bytes(4, "little") + full[44:])
    (tmp_path / "a_file").write_text("not a folder")
    return {
        "tmp": tmp_path, "clip": write_wav(tmp_path / "clip.wav", clip),
        "nan": write_wav(tmp_path / "nan.wav", nan, subtype="FLOAT"),
        "inf": write_wav(tmp_path / "inf.wav", inf, subtype="FLOAT"),
        "loud": write_wav(tmp_path / "loud.wav", 1000 * clip, subtype="FLOAT"),
        "stale": stale, "a_file": tmp_path / "a_file",
        "no_labels": edited_model(tmp_path / "no_labels.tflite", meta_edit=lambda m: m.pop("labels")),
        "word_threshold": edited_model(tmp_path / "word_threshold.tflite",
                                       meta_edit=lambda m: m["detection"].update(threshold="high")),
        "other_shape": edited_model(tmp_path / "other_shape.tflite", tensor_edit=_other_shape),
        "float_io": edited_model(tmp_path / "float_io.tflite", tensor_edit=_float_io),
        "five_outputs": edited_model(tmp_path / "five_outputs.tflite", tensor_edit=_five_outputs),
    }


BAD = [  # (arguments, exit code, a piece of the one line on stderr)
    (["detect", "{clip}", "--threshold", "-1"], 2, "argument --threshold: -1 is not a score from 0 to 1"),
    (["detect", "{clip}", "--threshold", "nan"], 2, "from 0 to 1"),
    (["listen", "--threshold", "1.5"], 2, "from 0 to 1"),
    (["eval-stream", "--threshold", "2"], 2, "from 0 to 1"),
    (["features", "{clip}", "--plot", "{tmp}/missing/mfcc.png"], 2, "missing does not exist"),
    (["features", "{clip}", "--plot", "{tmp}/mfcc.txt"], 2, "mfcc.txt: not an image file name"),
    (["evaluate", "--plot", "{tmp}/missing/cm.png"], 2, "missing does not exist"),
    (["evaluate", "--plot", "{tmp}/cm"], 2, "not an image file name"),
    (["eval-stream", "--plot", "{tmp}/missing/det.png"], 2, "missing does not exist"),
    (["eval-stream", "--plot", "{tmp}/det.wav"], 2, "not an image file name"),
    (["eval-stream", "--save-stream", "{tmp}/stream.png"], 2, "stream.png: not a .wav file name"),
    (["export-firmware", "--out", "{a_file}"], 2, "a_file: is a file, not a folder"),
    (["export-firmware", "--out", "/proc/kws_sketch"], 2, "cannot write"),
    (["detect", "{nan}"], 2, "nan.wav: holds NaN or infinite samples"),
    (["features", "{inf}"], 2, "inf.wav: holds NaN or infinite samples"),
    (["features", "{loud}"], 0, "loud.wav: float samples up to 300x full scale, scaled down to full scale"),
    (["features", "{stale}"], 0, "stale_header.wav: the data chunk declares 16000 bytes but 16000 more follow it"),
    (["detect", "{clip}", "--model", "{tmp}"], 2, "is a folder, not a model file"),
    (["detect", "{clip}", "--model", "{no_labels}"], 2, "no_labels.tflite: metadata lacks 'labels'"),
    (["detect", "{clip}", "--model", "{word_threshold}"], 2, "word_threshold.tflite: metadata threshold is 'high', not a number"),
    (["detect", "{clip}", "--model", "{other_shape}"], 2, "model input [1, 98, 10, 1] does not fit its 49x10 features"),
    (["detect", "{clip}", "--model", "{float_io}"], 2, "float32 in, float32 out; kws runs full-int8 models"),
    (["detect", "{clip}", "--model", "{five_outputs}"], 2, "5 outputs but its metadata names 12 labels"),
    (["export-firmware", "--model", "{other_shape}", "--out", "{tmp}/sketch"], 2, "[1, 98, 10, 1] -> [1, 12]"),
]


@pytest.mark.parametrize("args,code,message", BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(inputs, capsys, args, code, message):
    try:
        result = main([a.format(**inputs) for a in args])
    except SystemExit as e:  # argparse: usage and one error line
        result = e.code
    err = capsys.readouterr().err
    assert result == code, err
    assert message.format(**inputs) in err and "Traceback" not in err
    if code:
        assert err.splitlines()[-1].startswith(("kws: error: ", "kws ")) and "\n" not in err.splitlines()[-1]


@pytest.mark.parametrize("hidden,args,message", [
    ("tflite_micro", ["export-firmware", "--out", "{tmp}/sketch"], "pip install tflite-micro"),
    ("keras", ["evaluate", "--runtime", "float"], "--runtime float needs TensorFlow"),
    ("keras", ["train", "--out", "{tmp}/run"], "kws train needs TensorFlow (the train extra)"),
    ("keras", ["quantize", "--run", "{tmp}/run"], "kws quantize needs TensorFlow (the train extra)"),
])
def test_missing_optional_package_is_one_line(inputs, capsys, monkeypatch, hidden, args, message):
    for name in [hidden] + [m for m in sys.modules if m.startswith(f"{hidden}.")]:  # imported ones too
        monkeypatch.setitem(sys.modules, name, None)
    assert main([a.format(**inputs) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("args", [["detect", "{clip}", "--json"], ["features", "{clip}"], ["data", "stats"]])
def test_a_closed_pipe_ends_quietly(inputs, args):
    """`kws ... | head -1`: the reader goes away; no BrokenPipeError traceback, exit 0."""
    proc = subprocess.Popen([sys.executable, "-m", "kws.cli", *[a.format(**inputs) for a in args]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0 and "Error" not in err, err


def test_default_data_folder_does_not_depend_on_the_current_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["yes"]["training"] > 0


def test_the_tests_cache_features_in_a_temporary_folder():
    import tempfile

    from kws.data.cache import default_cache_dir

    assert default_cache_dir().is_relative_to(tempfile.gettempdir())


def test_version(capsys):
    from kws import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"kws {__version__}"


def test_train_help_states_the_defaults_training_uses():
    from kws.model.recipe import network_config, train_config

    text = " ".join(build_parser()._subparsers._group_actions[0].choices["train"].format_help().split())
    c, wake, m = train_config(), train_config(wake_words=True), network_config()
    for stated in (f"epochs (default {c.epochs}; {wake.epochs} with --wake-word)", f"batch size (default {c.batch_size})",
                   f"first stage's (default {m.channels})", "blocks: depthwise-separable (DS-CNN)",
                   f"network family (default {m.arch})",
                   f"dense layer (default {m.dropout:g}; {network_config(True).dropout:g} with --wake-word)",
                   f"random seed (default {c.seed})", f"share of the loss (default {c.distill_weight})",
                   f"(default {wake.hard_negatives:g} with --wake-word, else {c.hard_negatives:g}: off)"):
        assert stated in text
    assert float(text.split("peak learning rate (default ")[1].split(")")[0]) == c.learning_rate


def test_stream_help_states_the_stream_defaults():
    from kws.stream_eval import NOISE_VOLUME, STREAM_MINUTES, TUNE_MINUTES

    commands = build_parser()._subparsers._group_actions[0].choices
    text = {name: " ".join(commands[name].format_help().split()) for name in ("eval-stream", "train", "quantize")}
    assert f"stream length (default {STREAM_MINUTES:g})" in text["eval-stream"]
    assert f"noise volume up to (default {NOISE_VOLUME:g})" in text["eval-stream"]
    assert all(f"(default {TUNE_MINUTES:g}; 0 = keep defaults)" in text[name] for name in ("train", "quantize"))


def test_quantize_writes_into_the_run_not_over_the_shipped_model(tmp_path, capsys, monkeypatch):
    import kws.model.quantize
    from kws.errors import KwsError

    def quantize_run(run, out, *args):
        raise KwsError(f"would write {out}")

    monkeypatch.setattr(kws.model.quantize, "quantize_run", quantize_run)
    assert main(["quantize", "--run", str(tmp_path)]) == 2
    assert f"would write {tmp_path / 'model.tflite'}" in capsys.readouterr().err


def test_help_lists_the_commands_in_the_readmes_order():
    readme = REPO.joinpath("README.md").read_text()
    table = readme[readme.index("## Commands") : readme.index("\n## ", readme.index("## Commands") + 1)]
    order = []
    for word in (w.split()[0] for w in table.split("`kws ")[1:]):
        if not word.startswith("-") and word not in order:
            order.append(word)
    listed = [a.dest for a in build_parser()._subparsers._group_actions[0]._choices_actions]
    assert listed == order


def test_every_listen_option_is_in_the_readme():
    readme = REPO.joinpath("README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `kws listen"))
    listen = build_parser()._subparsers._group_actions[0].choices["listen"]
    assert all(a.option_strings[0] in row for a in listen._actions if a.option_strings[0] != "-h")


def _mutations(rng, bases: list[bytes], n: int):
    """Random bytes, a base WAV's header over random samples, and a base WAV with bytes of its header or of
    anywhere changed, or cut and spliced."""
    for i in range(n):
        kind, base = i % 5, bases[i // 5 % len(bases)]
        header = base.index(b"data") + 4
        if kind == 0:
            yield rng.bytes(int(rng.integers(0, 3000)))
        elif kind == 1:
            data = rng.bytes(4 * int(rng.integers(0, 1000)))
            yield base[:header] + len(data).to_bytes(4, "little") + data
        elif kind in (2, 3):
            data = bytearray(base)
            span = header + 4 if kind == 2 else len(data)
            for pos in rng.integers(0, span, int(rng.integers(1, 6))):
                data[pos] = int(rng.integers(0, 256))
            yield bytes(data)
        else:
            cut = int(rng.integers(0, len(base)))
            yield base[:cut] + base[int(rng.integers(0, len(base))):][: int(rng.integers(0, 4000))]


@pytest.mark.filterwarnings("error::RuntimeWarning")  # NaN samples made numpy warn and print a table of nan
def test_fuzz_detect_and_features_with_random_and_mutated_wavs(tmp_path, capsys):
    rng = np.random.default_rng(15)
    audio = tone(0.3) + 0.01 * rng.standard_normal(4800)
    bases = [write_wav(tmp_path / f"base_{kind}.wav", audio, subtype=kind).read_bytes() for kind in ("PCM_16", "FLOAT")]
    path = tmp_path / "fuzz.wav"
    codes = []
    for i, data in enumerate(_mutations(rng, bases, 1000)):
        path.write_bytes(data)
        codes.append(main(["detect" if i % 2 else "features", str(path)]))
        assert "nan" not in capsys.readouterr().out
    assert set(codes) <= {0, 2} and codes.count(2) > 100 and codes.count(0) > 100


def test_tensorflow_adds_nothing_to_stderr(tiny_speech_commands):
    """Its C++ start-up notices (oneDNN, absl) print whatever the log level; `kws` mutes them."""
    result = subprocess.run([sys.executable, "-m", "kws.cli", "evaluate", "--runtime", "float", "--split", "all",
                             "--data", str(tiny_speech_commands)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "float: accuracy" in result.stdout and result.stderr == "", result.stderr
