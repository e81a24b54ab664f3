"""argparse value types that `kws`, its examples and the benchmarks share: one per kind of number, each refusing
what makes no sense (NaN, infinities, negative counts, ...) with a message that names the value and what is
allowed; argparse puts the option's name before it and exits with code 2."""

import argparse
import math

from .metadata import MAX_WINDOW_MS

MAX_MINUTES = 600.0  # a stream is built in memory: 600 minutes of 16 kHz float32 audio is 2.3 GB
MAX_SEED = 2**32 - 1  # what numpy's and Keras's seeding take
MAX_COUNT = 1_000_000


def _number(convert, allowed: str, low, high, low_open=False, high_open=False, off=None):
    """An argparse type: `convert(text)`, finite, within `low` to `high` (without either end where it is open) or
    equal to `off`; else the error "TEXT is not ALLOWED"."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = math.nan
        above = low < value if low_open else low <= value
        below = value < high if high_open else value <= high
        if not (above and below and -math.inf < value < math.inf or value == off):  # NaN and huge ints compare too
            raise argparse.ArgumentTypeError(f"{text if text.isprintable() and text else repr(text)} is not {allowed}")
        return value

    return parse


score = _number(float, "a score from 0 to 1; pick e.g. 0.8", 0.0, 1.0)  # a detection threshold
share = _number(float, "a share from 0 to 1", 0.0, 1.0)
dropout = _number(float, "a dropout rate from 0 to below 1", 0.0, 1.0, high_open=True)
volume = _number(float, "a volume from 0 to 1 (full scale)", 0.0, 1.0)
learning_rate = _number(float, "a learning rate > 0 (up to 1)", 0.0, 1.0, low_open=True)
weight = _number(float, "a weight from 0 to 1000", 0.0, 1000.0)
seconds = _number(float, "a number of seconds > 0", 0.0, math.inf, low_open=True)
minutes = _number(float, f"a number of minutes > 0 (up to {MAX_MINUTES:g})", 0.0, MAX_MINUTES, low_open=True)
# a tuning stream shorter than a minute holds a few keywords or none, and every threshold scores alike
tune_minutes = _number(float, f"0 (off) or a number of minutes from 1 to {MAX_MINUTES:g}", 1.0, MAX_MINUTES, off=0.0)
smoothing_ms = _number(float, f"a number of milliseconds from 0 to {MAX_WINDOW_MS:g}", 0.0, MAX_WINDOW_MS)
stride_ms = _number(float, f"a number of milliseconds > 0 (up to {MAX_WINDOW_MS:g})", 0.0, MAX_WINDOW_MS,
                    low_open=True)
count = _number(int, f"a whole number from 1 to {MAX_COUNT}", 1, MAX_COUNT)
count_or_off = _number(int, f"a whole number from 0 (off) to {MAX_COUNT}", 0, MAX_COUNT)
seed = _number(int, f"a seed from 0 to {MAX_SEED}", 0, MAX_SEED)
channels = _number(int, "a width from 1 to 1024 channels", 1, 1024)  # 30x the shipped width; far wider fills memory
blocks = _number(int, "a number of blocks from 1 to 32", 1, 32)
voices = _number(int, "a number of voices from 0 (off) to 20", 0, 20)


def on_off(text: str) -> bool:
    """The value of an on|off option."""
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"{text!r}: give on or off")
    return text == "on"
