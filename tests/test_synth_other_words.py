"""data_scripts/synth_other_words.py: synthetic negatives, training-split voices only, common words in one folder."""

import importlib.util
from pathlib import Path

from kws.data.speech_commands import SpeechCommands, which_set
from kws.data.synth import is_synthetic

SCRIPT = Path(__file__).resolve().parents[1] / "data_scripts" / "synth_other_words.py"


def test_synthetic_other_words_are_training_negatives(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("synth_other_words", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script, "SPEECH_COMMANDS_OTHER", ["house", "wow"])
    monkeypatch.setattr(script, "COMMON", ["lamp", "yellow", "town"])
    out = tmp_path / "other"
    assert script.main(["--out", str(out), "--per-word", "12", "--per-common-word", "8"]) == 0
    clips = sorted(out.glob("*/*.wav"))
    assert {p.parent.name for p in clips} == {"house", "wow", script.COMMON_FOLDER}
    assert 0.5 * 12 * 2 + 0.5 * 8 * 3 < len(clips) < 12 * 2 + 8 * 3  # about a fifth of the voices are not training
    assert all(which_set(p.name) == "training" and is_synthetic(p) for p in clips)
    data = SpeechCommands(out)
    assert {c.label for c in data.recorded} == {"_unknown_"} and not data.split("validation")
    assert len({c.word for c in data.recorded}) == 3  # the common words are one word of _unknown_
    assert script.main(["--out", str(out)]) == 2  # a second run into it would replace its common words
