"""Where kws looks by default: the shipped model, and the data folders (`$KWS_DATA`, else `shared/data` beside the
repository) holding `speech_commands` and `free_spoken_digit`."""

import os
from pathlib import Path

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "kws12.tflite"  # the shipped model
SHARED_DATA = Path(os.environ.get("KWS_DATA") or DEFAULT_MODEL.parents[2] / "shared" / "data")
DEFAULT_DATA = str(SHARED_DATA / "speech_commands")
DIGITS_DATA = str(SHARED_DATA / "free_spoken_digit")  # more speakers' digits: other words the model learns to reject
TRAINING_DATA = [DEFAULT_DATA, DIGITS_DATA]  # what training and eval-stream read by default
DEFAULT_INIT = DEFAULT_MODEL.with_suffix(".keras")  # its float model, where wake words start training from
