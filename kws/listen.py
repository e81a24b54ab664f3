"""Live keyword spotting from a microphone through sounddevice (PortAudio), into the one streaming Detector."""

from __future__ import annotations

import queue
import sys
import time

import numpy as np

from .detector import Detector, DetectorSettings
from .errors import KwsError
from .labels import keywords
from .runtime import Model

BLOCK_S = 0.1  # audio per callback
QUEUE_BLOCKS = 20  # blocks waiting for the detector at most: a device faster than real time waits for it


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
    """An int16 mono input stream at `rate`, else at the device's own rate (returned, to resample from)."""
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
    """The next block the device delivered; a device that stops delivering is an error, not an endless wait."""
    try:
        return blocks.get(timeout=wait_s)
    except queue.Empty:
        raise KwsError(f"audio input {name!r} delivered no sound for {wait_s:g} s; check the device, or pick "
                       "another with --device") from None


def listen(model_path, device=None, threshold=None, duration=None, out=sys.stdout) -> dict:
    """Print each detection as it happens and a live status line; stop on Ctrl-C or after `duration` seconds.
    Returns the summary (seconds, detections, overflows)."""
    sd = load_sounddevice()
    model = Model(model_path)
    settings = DetectorSettings.from_metadata(model.metadata, threshold=threshold)
    detector = Detector(model, settings)
    rate = model.config.sample_rate
    blocks: queue.Queue = queue.Queue(QUEUE_BLOCKS)
    overflows = 0

    def callback(data, frames, timing, status):
        nonlocal overflows
        if status.input_overflow:
            overflows += 1
        try:
            blocks.put(data[:, 0].copy(), timeout=BLOCK_S)
        except queue.Full:  # the detector is behind by QUEUE_BLOCKS: drop, rather than pile up without end
            overflows += 1

    stream, device_rate, name = open_input(sd, device, rate, callback)
    resampler = None
    if device_rate != rate:
        import soxr

        resampler = soxr.ResampleStream(device_rate, rate, 1, dtype="float32")
    live = out.isatty()
    cr = "\r" if live else ""  # live mode redraws one status line
    print(f"listening on {name!r} ({device_rate} Hz{', resampled to %d Hz' % rate if resampler else ''}) for "
          f"{', '.join(keywords(model.labels))}; threshold {settings.threshold:g}; "
          "Ctrl-C to stop", file=out, flush=True)
    detections = []
    consumed = 0
    try:
        stream.start()
        while duration is None or consumed < duration * device_rate:
            block = next_block(blocks, name)
            consumed += len(block)
            audio = block.astype(np.float32) / 32768.0
            if resampler is not None:
                audio = resampler.resample_chunk(audio)
            for d in detector.push(audio):
                detections.append(d)
                print(f"{cr}{d.time_s:9.2f} s  {d.label:<6} score {d.score:.2f}" + " " * 30,
                      file=out, flush=True)
            if live:
                level = 20 * np.log10(max(1e-5, float(np.sqrt(np.mean(audio**2)))))
                best = int(np.argmax(detector.posteriors))
                print(f"\r  level {level:6.1f} dBFS  best {model.labels[best]:<10} {detector.posteriors[best]:.2f}",
                      end="", file=out, flush=True)
    except KeyboardInterrupt:
        pass
    except sd.PortAudioError as e:
        raise KwsError(f"audio input {name!r} failed ({e}); check the device and try again") from None
    finally:
        dropped = overflows  # blocks the device offers while it is being closed are not lost input
        stream.abort(ignore_errors=True)  # input still pending in the device is not wanted
        stream.close(ignore_errors=True)
    summary = {"seconds": round(consumed / device_rate, 1), "detections": len(detections), "overflows": dropped}
    counts = {}
    for d in detections:
        counts[d.label] = counts.get(d.label, 0) + 1
    print(f"{cr}stopped after {summary['seconds']} s: {len(detections)} detection(s)"
          + (f" ({', '.join(f'{k} x{v}' for k, v in counts.items())})" if counts else "")
          + f", {dropped} input overflow(s)", file=out, flush=True)
    return summary
