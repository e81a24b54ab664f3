"""kws: always-on keyword spotting with one streaming MFCC front end and an int8 DS-CNN.

    import kws
    detector = kws.Detector(kws.Model())  # the shipped model, its detection settings
    with kws.Microphone() as mic:
        for chunk in mic:
            for d in detector.push(chunk):
                print(d.label, d.time_s, d.score)

The names below load on first use, so `import kws` (and the `kws` command) stays quick and imports no
TensorFlow, then or later."""

import importlib

from .paths import DEFAULT_MODEL

__version__ = "0.1.0"

_HOMES = {"Model": "runtime", "Detector": "detector", "DetectorSettings": "metadata", "Detection": "detector",
          "detect_audio": "detector", "FeatureConfig": "features", "Microphone": "microphone",
          "read_audio": "audio", "KwsError": "errors"}
__all__ = ["DEFAULT_MODEL", *_HOMES]


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'kws' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
