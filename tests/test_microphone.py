"""The audio input: a fake ALSA capture device read as chunks, and the errors of a missing or silent one."""

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, fake_mic_home, tone


def test_microphone_yields_the_device_audio_in_chunks(tmp_path):
    """In a process of its own: PortAudio reads ~/.asoundrc (the fake device) once, when sounddevice loads."""
    audio = tone(3.0)
    np.save(tmp_path / "audio.npy", audio)
    code = ("import sys, numpy as np\n"
            "from kws.microphone import BLOCK_S, Microphone\n"
            "with Microphone('kwsfake') as mic:\n"
            "    chunks = [mic.read() for _ in range(10)]\n"
            "assert (mic.name, mic.device_rate, mic.resampled) == ('kwsfake', 16000, False)\n"
            "assert all(c.dtype == np.float32 and len(c) == BLOCK_S * 16000 for c in chunks)\n"
            "assert np.abs(np.concatenate(chunks) - np.load(sys.argv[1])[:16000]).max() < 1 / 32768\n")
    env = dict(os.environ, HOME=str(fake_mic_home(tmp_path, audio)), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "audio.npy")], env=env, timeout=60,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_closing_does_not_wait_for_a_callback_waiting_for_room(tmp_path):
    """The fast fake device fills the queue and its callback waits for room (here up to 30 s a block): closing ends
    that wait, rather than PortAudio's abort waiting it out."""
    code = ("import time\n"
            "from kws import microphone\n"
            "microphone.FULL_WAIT_S = 30\n"
            "with microphone.Microphone('kwsfake') as mic:\n"
            "    mic.read()\n"
            "    while not mic._blocks.full():\n"
            "        time.sleep(0.01)\n"
            "    start = time.monotonic()\n"
            "print(time.monotonic() - start)\n")
    env = dict(os.environ, HOME=str(fake_mic_home(tmp_path, tone(3.0))), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", code], env=env, timeout=120, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) < 5  # ~0.1 s; 30 s and more when abort waited for the callback


def test_a_device_that_stops_delivering_is_one_line_not_an_endless_wait():
    import queue

    from kws.errors import KwsError
    from kws.microphone import next_block

    with pytest.raises(KwsError, match="audio input 'mic' delivered no sound for 0.05 s"):
        next_block(queue.Queue(), "mic", wait_s=0.05)


def test_missing_portaudio_is_one_line(monkeypatch):
    import builtins

    from kws.errors import KwsError
    from kws.microphone import load_sounddevice

    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    with pytest.raises(KwsError, match="libportaudio2"):
        load_sounddevice()


def test_no_microphone_is_one_line(monkeypatch):
    from kws.errors import KwsError
    from kws.microphone import load_sounddevice, open_input

    sd = load_sounddevice()

    def no_device(*args, **kwargs):
        raise sd.PortAudioError("Error querying device -1")

    monkeypatch.setattr(sd, "query_devices", no_device)
    with pytest.raises(KwsError, match="no default audio input.*--list-devices"):
        open_input(sd, None, 16000, lambda *a: None)


def test_a_device_number_given_as_text_opens_that_device():
    """`kws listen --device 3` and `kws record --device 3` (argparse gives text) open device 3, not a name with a 3."""
    from kws.microphone import open_input

    class FakeSounddevice:
        PortAudioError = RuntimeError

        def query_devices(self, device, kind):
            return {"name": f"device {device!r}", "default_samplerate": 16000.0}

        def InputStream(self, **kwargs):
            return kwargs

    stream, rate, name = open_input(FakeSounddevice(), "3", 16000, None)
    assert stream["device"] == 3 and (rate, name) == (16000, "device 3")
