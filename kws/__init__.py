"""kws: always-on keyword spotting with one streaming MFCC front end and an int8 DS-CNN."""

__version__ = "0.1.0"

from pathlib import Path

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "kws12.tflite"  # the shipped model
