"""The examples run as a user runs them: a callback on each detection from the (fake) microphone, a file scan; bad
input, no microphone and a reader that goes away (`| head -1`)."""

import os
import subprocess
import sys

import pytest

from conftest import REPO, assert_detected, fake_mic_home, write_wav


def example(name, *args, env=None):
    env = dict(env or os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, str(REPO / "examples" / name), *args], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def test_on_detection_calls_the_function_for_each_word_from_the_microphone(tmp_path, keyword_stream):
    audio, truth = keyword_stream
    env = dict(os.environ, HOME=str(fake_mic_home(tmp_path, audio)))
    lines = example("on_detection.py", "--device", "kwsfake", "--seconds", "22", env=env).stdout.splitlines()
    heard = [line.split() for line in lines]  # heard 'yes' at 1.52 s (score 0.97)
    assert_detected([(h[1].strip("'"), float(h[3])) for h in heard], truth)


def test_scan_files_lists_each_files_detections_and_skips_bad_files(tmp_path, keyword_stream):
    audio, truth = keyword_stream
    write_wav(tmp_path / "a" / "stream.wav", audio)
    write_wav(tmp_path / "b.wav", audio[: 16000 * 6])
    (tmp_path / "a" / "broken.wav").write_bytes(b"not audio")
    result = example("scan_files.py", str(tmp_path / "a"), str(tmp_path / "b.wav"))
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert "broken.wav" in result.stderr and len(result.stderr.splitlines()) == 1
    stream = [(r[2], float(r[1].split()[0])) for r in rows if r[0].endswith("stream.wav")]
    assert_detected(stream, truth)
    assert [r[2] for r in rows if r[0].endswith("b.wav")] == [label for label, start in truth if start < 5]


def start(name, *args, env=None):
    """The example started with its stdout closed at once, as by `| head -1` once it has read a line."""
    env = dict(env or os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, str(REPO / "examples" / name), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    return proc


def test_the_examples_end_quietly_when_their_reader_goes_away(tmp_path, keyword_stream):
    audio, _ = keyword_stream
    write_wav(tmp_path / "stream.wav", audio)
    env = dict(os.environ, HOME=str(fake_mic_home(tmp_path, audio)))
    for proc in (start("on_detection.py", "--device", "kwsfake", "--seconds", "22", env=env),
                 start("scan_files.py", str(tmp_path / "stream.wav"))):
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 0 and err == ""


@pytest.mark.parametrize("name,args,message", [
    ("on_detection.py", ["--device", "kws-no-such-device", "--seconds", "1"], "audio input device 'kws-no-such-device'"),
    ("on_detection.py", ["--seconds", "nan"], "argument --seconds: nan is not a number of seconds > 0"),
    ("scan_files.py", ["x.wav", "--threshold", "2"], "argument --threshold: 2 is not a score from 0 to 1"),
])
def test_the_examples_bad_input_is_one_line_and_exit_2(tmp_path, name, args, message):
    result = subprocess.run([sys.executable, str(REPO / "examples" / name), *args], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO), HOME=str(tmp_path)), timeout=120)
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert result.returncode == 2 and errors == [result.stderr.splitlines()[-1]] and message in errors[0], result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"{name}: error: ") and "Traceback" not in result.stderr
