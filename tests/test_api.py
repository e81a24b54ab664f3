"""The public Python API, with its names only: detection on a file and on a (fake) microphone, in a fresh
process that must not load TensorFlow or the training package on the way."""

import json
import os
import subprocess
import sys

import pytest

import kws
from conftest import REPO, assert_detected, fake_mic_home, write_wav

USER = """
import json, sys
import kws

model = kws.Model()
audio, notes = kws.read_audio(sys.argv[1], model.config.sample_rate)
from_file = kws.detect_audio(model, audio)
detector = kws.Detector(model, kws.DetectorSettings.from_metadata(model.metadata))
from_mic = []
with kws.Microphone("kwsfake") as mic:
    for chunk in mic:
        from_mic += detector.push(chunk)
        if detector.time_s >= 22:
            break
print(json.dumps({"file": [[d.label, d.time_s] for d in from_file], "mic": [[d.label, d.time_s] for d in from_mic],
                  "modules": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def user_run(tmp_path_factory, keyword_stream):
    """What a user's script gets from a recording of the keyword stream and the same stream from a microphone."""
    audio, truth = keyword_stream
    home = tmp_path_factory.mktemp("api")
    env = dict(os.environ, HOME=str(fake_mic_home(home, audio)), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", USER, str(write_wav(home / "stream.wav", audio))], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), truth


def test_public_names_are_exported():
    assert set(kws.__all__) == {"DEFAULT_MODEL", "Model", "Detector", "DetectorSettings", "Detection",
                                "detect_audio", "FeatureConfig", "Microphone", "read_audio", "KwsError"}
    assert all(getattr(kws, name) is not None for name in kws.__all__)
    with pytest.raises(AttributeError):
        kws.no_such_name


@pytest.mark.parametrize("name", [n for n in kws.__all__ if n != "DEFAULT_MODEL"])
def test_public_names_document_their_parameters_numpy_style(name):
    doc = getattr(kws, name).__doc__ or ""
    sections = {s for s in ("Parameters", "Returns", "Attributes") if f"\n    {s}\n    ---" in doc}
    assert sections, f"kws.{name}: no numpy-style Parameters / Returns / Attributes section"


def test_detection_on_a_file_and_a_microphone(user_run):
    found, truth = user_run
    assert_detected(found["file"], truth)
    assert_detected(found["mic"], truth)
    assert found["mic"] == found["file"]  # the same audio, the same detections


def test_detection_loads_no_tensorflow_and_no_training_package(user_run):
    found, _ = user_run
    loaded = [m for m in found["modules"] if m.split(".")[0] in ("tensorflow", "keras") or m.startswith("kws.model")]
    assert loaded == []
