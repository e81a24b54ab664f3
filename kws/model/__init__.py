"""Model: the DS-CNN, its training, int8 quantization and evaluation."""

import contextlib
import os
import sys
import warnings

from ..errors import KwsError

# TensorFlow's C++ log lines are noise to users (Keras 3.15 on TF 2.21 logs an "error" for every epoch about an
# unknown tf.data attribute); real failures still raise Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The int8 converter warns on every conversion that it computes the input's scale itself, from the samples it is given
warnings.filterwarnings("ignore", "Statistics for quantized inputs were expected", UserWarning)


@contextlib.contextmanager
def native_stderr_muted():
    """File descriptor 2 on /dev/null for the block, for what C++ code prints there whatever the log level (on
    importing TensorFlow: absl's "All log messages before absl::InitializeLog()" and the oneDNN notice, twice).
    Python's errors still raise, and print once the block ends."""
    if sys.stderr:
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # stderr closed: nothing to mute
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def import_keras(needed_by: str, otherwise: str = "") -> None:
    """Import Keras and TensorFlow without their start-up notices (call it before the work that needs them); a
    one-line KwsError naming `needed_by` and the extra to install if they are missing."""
    try:
        with native_stderr_muted():
            import keras  # noqa: F401
    except ImportError:
        raise KwsError(f"{needed_by} needs TensorFlow (the train extra): `pip install -e .[train]`{otherwise}") from None
