"""Misuse of the `kws` command: options out of range, a cache folder that cannot be written, stdout full or closed,
a stream with nothing detected. Each ends in one error line and exit code 2 (or runs correctly), never a
traceback; and a property test over every numeric option: a value is accepted within its documented range, and
refused with one line outside it."""

import contextlib
import io
import json
import math
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from kws.cli import build_parser, main
from kws.options import on_off


def run_main(args):
    """(exit code, stderr) of `kws ARGS` in this process."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(args)
        except SystemExit as e:  # argparse
            code = e.code
    return code, err.getvalue()


def assert_one_error_line(err: str, message: str):
    """One line says what is wrong (argparse's usage may come before it), and no traceback."""
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0] == err.splitlines()[-1] and message in errors[0], err
    assert "Traceback" not in err


REQUIRED = {"detect": ["x.wav"], "record": ["w", "--out", "d"], "synth": ["w", "--out", "d"]}
BAD_OPTIONS = [  # (command, option, value, a piece of the one error line)
    ("eval-stream", "--minutes", "0", "argument --minutes: 0 is not a number of minutes > 0 (up to 600)"),
    ("eval-stream", "--minutes", "-5", "-5 is not a number of minutes > 0"),
    ("eval-stream", "--minutes", "nan", "nan is not a number of minutes"),
    ("eval-stream", "--minutes", "inf", "inf is not a number of minutes"),
    ("eval-stream", "--minutes", "1e9", "1e9 is not a number of minutes > 0 (up to 600)"),
    ("eval-stream", "--noise-volume", "-1", "argument --noise-volume: -1 is not a volume from 0 to 1"),
    ("eval-stream", "--noise-volume", "nan", "nan is not a volume"),
    ("eval-stream", "--seed", "-1", "argument --seed: -1 is not a seed from 0 to 4294967295"),
    ("eval-stream", "--keyword-share", "1.5", "argument --keyword-share: 1.5 is not a share from 0 to 1"),
    ("eval-stream", "--stride-ms", "0", "argument --stride-ms: 0 is not a number of milliseconds > 0"),
    ("eval-stream", "--threshold", "", "argument --threshold: '' is not a score from 0 to 1"),
    ("synth", "--seed", "-1", "argument --seed: -1 is not a seed"),
    ("synth", "--count", "0", "argument --count: 0 is not a whole number from 1"),
    ("record", "--count", "0", "argument --count: 0 is not a whole number from 1"),
    ("listen", "--duration", "0", "argument --duration: 0 is not a number of seconds > 0"),
    ("listen", "--duration", "-1", "-1 is not a number of seconds > 0"),
    ("listen", "--duration", "nan", "nan is not a number of seconds > 0"),
    ("train", "--epochs", "0", "argument --epochs: 0 is not a whole number from 1 to 1000000"),
    ("train", "--epochs", "2.5", "2.5 is not a whole number"),
    ("train", "--lr", "-1", "argument --lr: -1 is not a learning rate > 0 (up to 1)"),
    ("train", "--lr", "nan", "nan is not a learning rate"),
    ("train", "--blocks", "-1", "argument --blocks: -1 is not a number of blocks from 1 to 32"),
    ("train", "--channels", "0", "argument --channels: 0 is not a width from 1 to 1024 channels"),
    ("train", "--batch-size", "-5", "argument --batch-size: -5 is not a whole number from 1"),
    ("train", "--dropout", "2", "argument --dropout: 2 is not a dropout rate from 0 to below 1"),
    ("train", "--dropout", "1", "1 is not a dropout rate"),
    ("train", "--seed", str(2**32), f"{2**32} is not a seed"),
    ("train", "--unknown-weight", "-1", "argument --unknown-weight: -1 is not a weight from 0 to 1000"),
    ("train", "--hard-negatives", "inf", "inf is not a weight"),
    ("train", "--word-head", "nan", "nan is not a weight"),
    ("train", "--distill-weight", "2", "argument --distill-weight: 2 is not a share from 0 to 1"),
    ("train", "--word-classes", "-1", "argument --word-classes: -1 is not a whole number from 0 (off)"),
    ("train", "--limit-per-class", "0", "argument --limit-per-class: 0 is not a whole number from 1"),
    ("train", "--tune-minutes", "-1", "argument --tune-minutes: -1 is not 0 (off) or a number of minutes from 1 to 600"),
    ("quantize", "--tune-minutes", "0.01", "0.01 is not 0 (off) or a number of minutes from 1"),
]


@pytest.mark.parametrize("command,option,value,message", BAD_OPTIONS, ids=[" ".join(c[:3]) for c in BAD_OPTIONS])
def test_an_option_out_of_range_is_one_line_and_exit_2(command, option, value, message):
    code, err = run_main([command, *REQUIRED.get(command, []), option, value])
    assert code == 2
    assert_one_error_line(err, message)


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("command", [["evaluate"], ["train", "--epochs", "1"], ["quantize"]])
@pytest.mark.parametrize("where,message", [
    ("{a_file}", "--cache-dir {a_file}: is a file, not a folder"),
    ("/proc/kws_cache", "--cache-dir /proc/kws_cache: cannot write there"),
])
def test_a_cache_dir_that_cannot_hold_files_is_refused_up_front(a_file, command, where, message):
    code, err = run_main([*command, "--cache-dir", where.format(a_file=a_file)])
    assert code == 2
    assert_one_error_line(err, message.format(a_file=a_file))


def test_a_kws_cache_that_is_a_file_is_refused_naming_it(a_file, monkeypatch):
    monkeypatch.setenv("KWS_CACHE", str(a_file))
    code, err = run_main(["evaluate"])
    assert code == 2
    assert_one_error_line(err, f"KWS_CACHE {a_file}: is a file, not a folder")


def test_an_empty_kws_cache_means_the_default_not_the_current_folder(monkeypatch):
    from pathlib import Path

    from kws.data.cache import default_cache_dir

    monkeypatch.setenv("KWS_CACHE", "")
    assert default_cache_dir() == Path.home() / ".cache" / "kws"


@pytest.mark.parametrize("options,keywords", [
    (["--threshold", "0.999"], True),  # the shipped model's smoothed scores stay below it on this stream
    (["--keyword-share", "0"], False),
    (["--minutes", "1e-9"], False),  # shorter than a sample
])
def test_eval_stream_with_nothing_detected_reports_no_latency(data_dir, capsys, options, keywords):
    assert main(["eval-stream", "--data", str(data_dir), "--minutes", "0.2", *options, "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)["result"]
    assert result["hits"] == 0 and result["latency_median_s"] is None and (result["keywords"] > 0) == keywords
    assert "latency: none detected" in captured.err and "Traceback" not in captured.err


def test_an_output_file_that_cannot_be_written_is_one_line(data_dir, tmp_path):
    """The ground truth beside --save-stream is a folder: an OSError at the end of the work, named."""
    (tmp_path / "stream.json").mkdir()
    code, err = run_main(["eval-stream", "--data", str(data_dir), "--minutes", "0.05",
                          "--save-stream", str(tmp_path / "stream.wav")])
    assert code == 2
    assert_one_error_line(err, f"kws: error: {tmp_path / 'stream.json'}: Is a directory")


def kws_shell(command: str, env=None):
    """`kws` run by the shell with COMMAND's redirections: (exit code, stderr)."""
    result = subprocess.run(["sh", "-c", f'exec "{sys.executable}" -m kws.cli {command}'], capture_output=True,
                            text=True, timeout=60, env=env)
    return result.returncode, result.stderr


@pytest.mark.parametrize("unbuffered", ["1", ""])  # PYTHONUNBUFFERED: the write fails, or the flush at the end
def test_stdout_on_a_full_disk_is_one_line(unbuffered):
    code, err = kws_shell("data stats > /dev/full", env=dict(os.environ, PYTHONUNBUFFERED=unbuffered))
    assert code == 2 and err == "kws: error: cannot write to stdout (No space left on device); send the output to a " \
                                "file on a disk with room\n"


def test_closed_stdout_is_one_line():
    code, err = kws_shell("data stats >&-")
    assert code == 2 and err == "kws: error: stdout is closed; send the output to a file (> out.txt) or to /dev/null\n"


def test_every_numeric_option_has_a_checked_type():
    """No option of any command takes a bare int or float (NaN, infinities, negative counts...)."""
    def parsers(parser):
        yield parser
        for action in parser._subparsers._group_actions if parser._subparsers else ():
            for sub in action.choices.values():
                yield from parsers(sub)

    bare = [(p.prog, a.dest) for p in parsers(build_parser()) for a in p._actions if a.type in (int, float)]
    assert bare == []


INF = math.inf
RANGES = {  # (command, option): (whole numbers only, lowest, highest, lowest allowed, highest allowed, also allowed)
    ("listen", "--threshold"): (False, 0, 1, True, True, None),
    ("listen", "--duration"): (False, 0, INF, False, False, None),
    ("detect", "--threshold"): (False, 0, 1, True, True, None),
    ("eval-stream", "--minutes"): (False, 0, 600, False, True, None),
    ("eval-stream", "--noise-volume"): (False, 0, 1, True, True, None),
    ("eval-stream", "--seed"): (True, 0, 2**32 - 1, True, True, None),
    ("eval-stream", "--keyword-share"): (False, 0, 1, True, True, None),
    ("eval-stream", "--threshold"): (False, 0, 1, True, True, None),
    ("eval-stream", "--stride-ms"): (False, 0, 10_000, False, True, None),
    ("eval-stream", "--smoothing-ms"): (False, 0, 10_000, True, True, None),
    ("train", "--epochs"): (True, 1, 10**6, True, True, None),
    ("train", "--batch-size"): (True, 1, 10**6, True, True, None),
    ("train", "--lr"): (False, 0, 1, False, True, None),
    ("train", "--channels"): (True, 1, 1024, True, True, None),
    ("train", "--blocks"): (True, 1, 32, True, True, None),
    ("train", "--dropout"): (False, 0, 1, True, False, None),
    ("train", "--seed"): (True, 0, 2**32 - 1, True, True, None),
    ("train", "--distill-weight"): (False, 0, 1, True, True, None),
    ("train", "--hard-negatives"): (False, 0, 1000, True, True, None),
    ("train", "--unknown-weight"): (False, 0, 1000, True, True, None),
    ("train", "--word-head"): (False, 0, 1000, True, True, None),
    ("train", "--word-classes"): (True, 0, 10**6, True, True, None),
    ("train", "--qat-epochs"): (True, 0, 10**6, True, True, None),
    ("train", "--own-voice-negatives"): (True, 0, 10**6, True, True, None),
    ("train", "--limit-per-class"): (True, 1, 10**6, True, True, None),
    ("train", "--other-voices"): (True, 0, 20, True, True, None),
    ("train", "--tune-minutes"): (False, 1, 600, True, True, 0),
    ("quantize", "--tune-minutes"): (False, 1, 600, True, True, 0),
    ("record", "--count"): (True, 1, 10**6, True, True, None),
    ("synth", "--count"): (True, 1, 10**6, True, True, None),
    ("synth", "--seed"): (True, 0, 2**32 - 1, True, True, None),
}


def test_the_property_test_covers_every_numeric_option():
    commands = build_parser()._subparsers._group_actions[0].choices
    numeric = {(name, a.option_strings[0]) for name, p in commands.items() for a in p._actions
               if a.type not in (None, on_off)}
    assert numeric == set(RANGES)


VALUES = st.one_of(
    st.floats().map(repr),  # NaN, infinities, tiny and huge
    st.floats(-2, 2).map(str), st.floats(0, 1100).map(str),  # near the bounds
    st.integers(-2**40, 2**40).map(str), st.integers(-3, 1100).map(str),
    st.sampled_from(["nan", "-inf", "Infinity", "1e999", "-0", "1e9", "0x10", "1_000", " 7 ", "٣", "", "\n1"]),
    st.text(max_size=6),
)


def in_range(text: str, option) -> bool:
    """Whether TEXT is a value the option documents as allowed."""
    whole, low, high, low_in, high_in, also = RANGES[option]
    try:
        value = (int if whole else float)(text)
    except ValueError:
        return False
    above = low <= value if low_in else low < value
    below = value <= high if high_in else value < high
    return value == also or (above and below and math.isfinite(value))


@pytest.mark.parametrize("option", sorted(RANGES), ids=" ".join)
def test_each_bound_is_in_or_out_as_documented(option):
    whole, low, high, low_in, high_in, also = RANGES[option]
    command, name = option
    for value, allowed in ((low, low_in), (high, high_in), (also, True)):
        if value is not None and value < INF:
            code, err = run_main([command, *REQUIRED.get(command, []), f"{name}={value}", "--help"])
            assert (code == 0) == allowed, err  # --help: parsed, then nothing run


def near_the_bounds(option):
    """Values of an option's type on and either side of its bounds."""
    whole, low, high = RANGES[option][:3]
    bounds = [b for b in (low, high) if b < INF]
    return st.sampled_from(bounds).flatmap(lambda b: st.integers(b - 2, b + 2) if whole else st.one_of(
        st.just(b), st.floats(b - 1e-6, b + 1e-6), st.floats(b - 2, b + 2))).map(str)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), option=st.sampled_from(sorted(RANGES)))
def test_numeric_options_accept_their_range_and_refuse_the_rest_in_one_line(data, option):
    command, name = option
    text = data.draw(st.one_of(VALUES, near_the_bounds(option)), label="value")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            args = build_parser().parse_args([command, *REQUIRED.get(command, []), f"{name}={text}"])
        except SystemExit as e:
            assert e.code == 2 and not in_range(text, option)
            assert_one_error_line(err.getvalue(), f"argument {name}: ")
            return
    assert in_range(text, option)
    value = getattr(args, name.lstrip("-").replace("-", "_"))
    assert type(value) is (int if RANGES[option][0] else float) and value == (int if RANGES[option][0] else float)(text)
