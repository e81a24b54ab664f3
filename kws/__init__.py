"""kws: always-on keyword spotting with one streaming MFCC front end and an int8 DS-CNN."""

__version__ = "0.1.0"

from .paths import DEFAULT_MODEL
