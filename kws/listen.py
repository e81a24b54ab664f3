"""Live keyword spotting from a microphone through sounddevice (PortAudio), into the one streaming Detector."""

from __future__ import annotations

import sys

import numpy as np

from .detector import Detector, DetectorSettings
from .labels import keywords
from .microphone import Microphone
from .runtime import Model


def listen(model_path, device=None, threshold=None, duration=None, out=sys.stdout) -> dict:
    """Print each detection as it happens and a live status line; stop on Ctrl-C or after `duration` seconds.
    Returns the summary (seconds, detections, overflows)."""
    model = Model(model_path)
    settings = DetectorSettings.from_metadata(model.metadata, threshold=threshold)
    detector = Detector(model, settings)
    rate = model.config.sample_rate
    mic = Microphone(device, rate)
    live = out.isatty()
    cr = "\r" if live else ""  # live mode redraws one status line
    print(f"listening on {mic.name!r} ({mic.device_rate} Hz{', resampled to %d Hz' % rate if mic.resampled else ''}) "
          f"for {', '.join(keywords(model.labels))}; threshold {settings.threshold:g}; "
          "Ctrl-C to stop", file=out, flush=True)
    detections = []
    try:
        with mic:
            while duration is None or mic.consumed < duration * mic.device_rate:
                audio = mic.read()
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
    summary = {"seconds": round(mic.consumed / mic.device_rate, 1), "detections": len(detections),
               "overflows": mic.overflows}
    counts = {}
    for d in detections:
        counts[d.label] = counts.get(d.label, 0) + 1
    print(f"{cr}stopped after {summary['seconds']} s: {len(detections)} detection(s)"
          + (f" ({', '.join(f'{k} x{v}' for k, v in counts.items())})" if counts else "")
          + f", {mic.overflows} input overflow(s)", file=out, flush=True)
    return summary
