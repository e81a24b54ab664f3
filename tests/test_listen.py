"""`kws listen` end to end against a fake ALSA capture device that plays a known recording."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import soxr

from conftest import assert_detected, fake_mic_home


@pytest.fixture
def fake_mic(tmp_path, keyword_stream):
    """A HOME whose ~/.asoundrc defines `kwsfake`, a capture device that plays the keyword stream (16-bit raw)."""
    audio, truth = keyword_stream
    return dict(os.environ, HOME=str(fake_mic_home(tmp_path, audio))), truth


def kws(*args, env, **kwargs):
    return [sys.executable, "-m", "kws.cli", *args], dict(env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                         text=True, **kwargs)


def printed(lines):
    """(label, time_s) of listen's detection lines (`time s label score x`)."""
    return [(line.split()[2], float(line.split()[0])) for line in lines]


def test_listen_detects_the_recording_and_exits_cleanly(fake_mic):
    env, truth = fake_mic
    cmd, kw = kws("listen", "--device", "kwsfake", "--duration", "22", env=env)
    result = subprocess.run(cmd, timeout=120, **kw)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("listening on 'kwsfake' (16000 Hz)")
    assert_detected(printed(lines[1:-1]), truth)
    assert lines[-1] == f"stopped after 22.0 s: 8 detection(s) (yes x2, stop x2, left x2, go x2), 0 input overflow(s)"


def test_device_without_16k_is_opened_at_its_own_rate_and_resampled(tmp_path, keyword_stream):
    audio, truth = keyword_stream
    env = dict(os.environ, HOME=str(fake_mic_home(tmp_path, soxr.resample(audio, 16000, 48000))))
    # the fake microphone now plays 48 kHz audio; make it refuse 16 kHz and prefer 48 kHz, as many sound cards do
    no_16k = ("import sys, sounddevice as sd\n"
              "opened, query = sd.InputStream, sd.query_devices\n"
              "def query_48k(*args, **kwargs):\n"
              "    info = query(*args, **kwargs)\n"
              "    return dict(info, default_samplerate=48000.0) if isinstance(info, dict) else info\n"
              "sd.query_devices = query_48k\n"
              "def refuse_16k(*args, samplerate=None, **kwargs):\n"
              "    if samplerate == 16000:\n"
              "        raise sd.PortAudioError('Invalid sample rate')\n"
              "    return opened(*args, samplerate=samplerate, **kwargs)\n"
              "sd.InputStream = refuse_16k\n"
              "from kws.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    cmd = [sys.executable, "-c", no_16k, "listen", "--device", "kwsfake", "--duration", "22"]
    result = subprocess.run(cmd, timeout=120, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("listening on 'kwsfake' (48000 Hz, resampled to 16000 Hz)")
    assert_detected(printed(lines[1:-1]), truth)


def rss_mb(pid: int) -> float:
    status = open(f"/proc/{pid}/status").read()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def test_ctrl_c_stops_with_a_summary_and_a_fast_device_does_not_pile_up(fake_mic):
    """The fake device delivers far faster than real time, and goes on once its file has run out: blocks wait in
    a bounded queue for the detector (they piled up at ~100 MB/s). Ctrl-C stops listen in a fraction of a second
    whatever the device does (aborting the stream once waited on the callback, which waited 1 s a block for a
    reader that had stopped: 1-2 s on busy cores, once over 30 s). Each step waits on what listen prints; the
    bound on stopping leaves room for a loaded machine."""
    env, truth = fake_mic
    cmd, kw = kws("listen", "--device", "kwsfake", env=env)
    # a test run started in the background (`.ci/run &`) passes SIGINT on as ignored; Ctrl-C must reach listen
    proc = subprocess.Popen(cmd, **kw, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    watchdog = threading.Timer(120, proc.kill)  # a listen that never prints fails the test, not the whole run
    watchdog.start()
    try:
        assert proc.stdout.readline().startswith("listening on")
        assert proc.stdout.readline().split()[2] == truth[0][0]
        before = rss_mb(proc.pid)
        time.sleep(3)  # the span over which memory must not grow
        grown = rss_mb(proc.pid) - before
        proc.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        out, err = proc.communicate(timeout=60)
        stopped_s = time.monotonic() - signalled
    finally:
        watchdog.cancel()
        proc.kill()
    assert grown < 30, f"{grown:.0f} MB more after 3 s"  # about 100 MB more when blocks piled up
    assert proc.returncode == 0 and "Traceback" not in err
    assert out.splitlines()[-1].startswith("stopped after ")
    assert stopped_s < 10, f"listen took {stopped_s:.1f} s to stop after Ctrl-C"  # ~0.2 s, on two busy cores


def test_list_devices_and_unknown_device(fake_mic):
    env, _ = fake_mic
    cmd, kw = kws("listen", "--list-devices", env=env)
    listed = subprocess.run(cmd, timeout=60, **kw)
    assert listed.returncode == 0 and "kwsfake" in listed.stdout
    cmd, kw = kws("listen", "--device", "no-such-mic", env=env)
    failed = subprocess.run(cmd, timeout=60, **kw)
    assert failed.returncode == 2
    assert failed.stderr.count("\n") == 1 and "no-such-mic" in failed.stderr and "--list-devices" in failed.stderr
