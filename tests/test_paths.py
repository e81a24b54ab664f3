"""Where kws looks by default: $KWS_DATA sets the data folder."""

import subprocess
import sys

from conftest import REPO


def test_kws_data_sets_the_default_data_folder(tmp_path):
    code = "from kws.paths import DEFAULT_DATA, TRAINING_DATA; print(DEFAULT_DATA); print(*TRAINING_DATA)"
    env = {"KWS_DATA": str(tmp_path), "PYTHONPATH": str(REPO), "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == [f"{tmp_path}/speech_commands",
                                   f"{tmp_path}/speech_commands {tmp_path}/free_spoken_digit"]
