"""argparse value types that `kws` and the benchmarks share."""

import argparse
import math


def score(text: str) -> float:
    """A threshold on a score: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a score from 0 to 1; pick e.g. 0.8")
    return value


def on_off(text: str) -> bool:
    """The value of an on|off option."""
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"{text!r}: give on or off")
    return text == "on"
