"""Audio input: a microphone through sounddevice (PortAudio) as a stream of float32 mono chunks; `listen` and
`record` both open it here."""

from __future__ import annotations

import queue
import threading
import time

import numpy as np

from .errors import KwsError
from .features import SAMPLE_RATE

BLOCK_S = 0.1  # audio per callback
QUEUE_BLOCKS = 20  # blocks waiting for the reader at most: a device faster than real time waits for it
FULL_WAIT_S = 1.0  # how long a block waits for room before it is dropped (a reader slowed by a busy machine)
WAKE_S = 0.1  # the longest any wait here goes without looking up: Ctrl-C and close() are never held up longer


def load_sounddevice():
    try:
        import sounddevice
    except (OSError, ImportError):
        raise KwsError("PortAudio is not installed, so no microphone can be opened; install it "
                       "(Debian/Ubuntu: `sudo apt-get install libportaudio2`, macOS: `brew install portaudio`)") from None
    return sounddevice


def list_devices() -> str:
    sd = load_sounddevice()
    lines = []
    for i, d in enumerate(sd.query_devices()):
        if d["max_input_channels"] > 0:
            mark = "*" if i == sd.default.device[0] else " "
            lines.append(f"{mark}{i:3d}  {d['name']}  ({d['max_input_channels']} in, {d['default_samplerate']:g} Hz)")
    if not lines:
        raise KwsError("no audio input device found; plug in a microphone (or check `arecord -l`)")
    return "\n".join(lines)


def open_input(sd, device, rate: int, callback):
    """An int16 mono input stream of `device` (a number, also as text, a name, or None: the default) at `rate`,
    else at the device's own rate (returned, to resample from)."""
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    try:
        info = sd.query_devices(device, "input")
    except (ValueError, sd.PortAudioError) as e:
        if device is None:
            raise KwsError("no default audio input (no microphone found); plug one in, or pick a device with "
                           "--device (see `kws listen --list-devices`)") from None
        raise KwsError(f"audio input device {device!r}: {e}; list the devices with `kws listen --list-devices`") from None
    for try_rate in (rate, int(info["default_samplerate"])):
        try:
            stream = sd.InputStream(device=device, channels=1, samplerate=try_rate, dtype="int16",
                                    blocksize=int(try_rate * BLOCK_S), callback=callback)
            return stream, try_rate, info["name"]
        except sd.PortAudioError as e:
            error = e
    raise KwsError(f"cannot open audio input {info['name']!r} ({error}); is it busy in another program? "
                   "pick another with --device") from None


def next_block(blocks: queue.Queue, name: str, wait_s: float = 2.0) -> np.ndarray:
    """The next block the device delivered, waited for in WAKE_S steps (a Ctrl-C that another thread receives
    reaches the main thread at the next step); a device that stops delivering is an error, not an endless wait."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return blocks.get(timeout=min(WAKE_S, wait_s))
        except queue.Empty:
            if time.monotonic() >= deadline:
                raise KwsError(f"audio input {name!r} delivered no sound for {wait_s:g} s; check the device, or "
                               "pick another with --device") from None


class Microphone:
    """An input device as float32 mono chunks: ``with Microphone() as mic: for chunk in mic: ...``.

    Parameters
    ----------
    device : int or str, optional
        A device number or name (`kws listen --list-devices`); None for the system's default input.
    rate : int
        The rate of the chunks, in Hz; a device without it is read at its own rate and resampled.

    Attributes
    ----------
    name : str
        The device's name.
    device_rate : int
        The rate the device is read at.
    consumed : int
        Device samples read so far.
    overflows : int
        Blocks lost (the reader fell behind).

    Raises
    ------
    KwsError
        No PortAudio, no such device, or a device that cannot be opened.
    """

    def __init__(self, device=None, rate: int = SAMPLE_RATE):
        self.sd = load_sounddevice()
        self.rate = rate
        self.consumed = self.overflows = 0
        self._blocks: queue.Queue = queue.Queue(QUEUE_BLOCKS)
        self._closing = threading.Event()
        self._stream, self.device_rate, self.name = open_input(self.sd, device, rate, self._callback)
        self._resampler = None
        if self.device_rate != rate:
            import soxr

            self._resampler = soxr.ResampleStream(self.device_rate, rate, 1, dtype="float32")

    def _callback(self, data, frames, timing, status):
        """Queue the block, waiting up to FULL_WAIT_S for room in WAKE_S steps; once close() has begun, end the
        stream instead. PortAudio cannot cancel a running callback: its abort waits for it, so it never waits long."""
        if status.input_overflow:
            self.overflows += 1
        block, deadline = data[:, 0].copy(), time.monotonic() + FULL_WAIT_S
        while not self._closing.is_set():
            try:
                self._blocks.put(block, timeout=WAKE_S)
                return
            except queue.Full:  # the reader is behind by QUEUE_BLOCKS: past FULL_WAIT_S drop, rather than pile up
                if time.monotonic() >= deadline:
                    self.overflows += 1
                    return
        raise self.sd.CallbackAbort

    @property
    def resampled(self) -> bool:
        return self._resampler is not None

    def __enter__(self) -> Microphone:
        try:
            self._stream.start()
        except self.sd.PortAudioError as e:
            self.close()
            raise KwsError(f"audio input {self.name!r} failed ({e}); check the device and try again") from None
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop at once, within about WAKE_S: the callback ends the stream, and it is aborted, never drained."""
        overflows = self.overflows  # blocks the device offers while it is being closed are not lost input
        self._closing.set()
        self._stream.abort(ignore_errors=True)  # input still pending in the device is not wanted
        self._stream.close(ignore_errors=True)
        self.overflows = overflows

    def read(self) -> np.ndarray:
        """The next chunk, waiting for the device."""
        block = next_block(self._blocks, self.name)
        self.consumed += len(block)
        audio = block.astype(np.float32) / 32768.0
        return audio if self._resampler is None else self._resampler.resample_chunk(audio)

    def __iter__(self):
        while True:
            yield self.read()
