"""benchmarks/custom_word.py's one-speaker protocol: which takes train, which are held out, what the stream holds."""

import importlib.util

import pytest

from conftest import REPO, tone, write_wav
from kws.data.speech_commands import SpeechCommands, which_set

spec = importlib.util.spec_from_file_location("custom_word", REPO / "benchmarks" / "custom_word.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_one_speaker_views(tmp_path):
    digits, data = tmp_path / "digits", tmp_path / "sc"
    for word in ("eight", "two"):
        for speaker in ("jackson", "lucas", "nicolas"):  # by the hash rule lucas and nicolas are validation speakers
            for take in range(12):
                write_wav(digits / word / f"{speaker}_nohash_{take}.wav", tone(0.3), rate=8000)
    seen = [f"{i:08x}" for i in range(200) if which_set(f"{i:08x}_nohash_0")=="validation"][:2]
    for speaker in seen + ["0badcafe"]:
        write_wav(data / "eight" / f"{speaker}_nohash_0.wav", tone(0.3))
        write_wav(data / "bed" / f"{speaker}_nohash_0.wav", tone(0.3))

    train, held, own, others, stream = bench.one_speaker_views(tmp_path / "out", data, digits, "eight", "lucas", 10, 2)
    assert [p.name for p in train] == [f"lucas_nohash_{t}.wav" for t in range(10)]  # by take number, 10 before 2
    assert [p.name for p in held] == ["lucas_nohash_10.wav", "lucas_nohash_11.wav"]
    assert not any(p.name.startswith("lucas") for p in others.rglob("*.wav"))  # not even the other digits
    clips = SpeechCommands(stream, words=("eight",), negatives=[others]).split("validation")
    by_word = {}
    for c in clips:
        if c.path is not None:
            by_word.setdefault(c.word, set()).add(c.path.name)
    assert by_word["eight"] == {p.name for p in held}  # the only positives: the speaker's held-out takes
    assert [p.name for p in own] == ["lucas_nohash_0.wav", "lucas_nohash_1.wav"]  # "two": trained, not streamed
    own = {name for name in by_word["two"] if name.startswith("lucas")}  # repeated: half of the other words
    assert {name.rsplit("r", 1)[0] for name in own} == {f"lucas_nohash_{t}" for t in range(2, 12)}
    assert by_word["two"] - own == {f"nicolas_nohash_{t}.wav" for t in range(12)}
    assert by_word["eight.others"] == {f"nicolas_nohash_{t}.wav" for t in range(12)} | {f"{s}_nohash_0.wav" for s in seen}

    kind = bench.kind_of("eight", "lucas")
    assert kind({"over": "two/lucas_nohash_3.wav", "word": "two"}) == "same_speaker"
    assert kind({"over": "two/nicolas_nohash_3.wav", "word": "two"}) == "other_people"
    assert kind({"over": "eight.others/nicolas_nohash_3.wav", "word": "eight.others"}) == "their_word"
    assert kind({"over": "noise", "word": "noise"}) == "noise"


@pytest.mark.parametrize("word, speaker, count, message", [
    ("marvin", "lucas", 10, "is not a digit"), ("eight", "jackson", 10, "validation-split speakers lucas, nicolas"),
    ("eight", "lucas", 12, "--real-train must be 1 to 11")])
def test_one_speaker_bad_input_is_one_line(tmp_path, word, speaker, count, message):
    for s in ("jackson", "lucas", "nicolas"):
        for take in range(12):
            write_wav(tmp_path / "digits" / "eight" / f"{s}_nohash_{take}.wav", tone(0.3), rate=8000)
    with pytest.raises(SystemExit, match=message):
        bench.one_speaker_views(tmp_path / "out", tmp_path, tmp_path / "digits", word, speaker, count)
