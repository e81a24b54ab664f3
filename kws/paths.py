"""Where kws looks by default: the shipped model and the Arduino sources (package data, so a wheel has them),
and the data folders (`$KWS_DATA`, else `shared/data` beside the repository) holding `speech_commands` and
`free_spoken_digit`."""

import os
from importlib.resources import files
from pathlib import Path

PACKAGE = Path(str(files(__package__)))  # kws is installed unzipped (a wheel or a checkout), so this is a folder
DEFAULT_MODEL = PACKAGE / "shipped" / "kws12.tflite"  # the shipped model
DEFAULT_INIT = DEFAULT_MODEL.with_suffix(".keras")  # its float model, where wake words start training from
ARDUINO = PACKAGE / "arduino"  # the Arduino library (ARDUINO/kws) and a sketch folder per board (ARDUINO/kws_BOARD)
SHARED_DATA = Path(os.environ.get("KWS_DATA") or PACKAGE.parents[1] / "shared" / "data")
DEFAULT_DATA = str(SHARED_DATA / "speech_commands")
DIGITS_DATA = str(SHARED_DATA / "free_spoken_digit")  # more speakers' digits: other words the model learns to reject
TRAINING_DATA = [DEFAULT_DATA, DIGITS_DATA]  # what training and eval-stream read by default
