"""The examples run as a user runs them: a callback on each detection from the (fake) microphone, a file scan."""

import os
import subprocess
import sys

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
