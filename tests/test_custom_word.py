"""A custom wake word end to end on tiny data: import recordings -> train --wake-word -> detect in a stream."""

import json

import numpy as np
import soundfile as sf

from conftest import tone, write_wav
from kws.cli import main
from kws.data.speech_commands import SpeechCommands


def word(rng, amp=0.3):
    """The "wake word": 0.25 s at 500 Hz then 0.25 s at 1500 Hz, with a little noise."""
    w = np.concatenate([tone(0.25, 500, amp=amp), tone(0.25, 1500, amp=amp)])
    return w + 0.01 * rng.standard_normal(len(w)).astype(np.float32)


def other_words(rng, root):
    """Negatives in Speech Commands layout: other tones, and background noise."""
    for k, other in enumerate(("bed", "cat")):
        for i in range(40):
            clip = np.zeros(16000, np.float32)
            clip[4000:12000] = tone(0.5, 700 + 600 * k, amp=rng.uniform(0.1, 0.4))
            write_wav(root / other / f"{i:04x}{k:04x}_nohash_0.wav", clip)
    write_wav(root / "_background_noise_" / "hiss.wav", 0.2 * rng.standard_normal(16000 * 8))


def test_import_train_detect(tmp_path, capsys):
    rng = np.random.default_rng(0)
    # one long recording of 60 takes, 1.2 s apart: `kws data import` cuts it on silence
    takes = [np.concatenate([np.zeros(8000, np.float32), word(rng, rng.uniform(0.1, 0.4)), np.zeros(3200, np.float32)])
             for _ in range(60)]
    write_wav(tmp_path / "recordings" / "me" / "session.wav", np.concatenate(takes) + 0.003 * rng.standard_normal(
        len(takes) * len(takes[0])).astype(np.float32))
    assert main(["data", "import", str(tmp_path / "recordings"), "--word", "beep", "--out", str(tmp_path / "mine")]) == 0
    assert len(list((tmp_path / "mine" / "beep").glob("*_nohash_*.wav"))) >= 55
    other_words(rng, tmp_path / "neg")
    for i in range(40):  # the negatives' own "beep" (someone else's, a plain tone): left out, not learnt either way
        write_wav(tmp_path / "neg" / "beep" / f"{i:04x}beef_nohash_0.wav", tone(0.5, 3000, amp=0.3))

    run = tmp_path / "run"
    assert main(["train", "--wake-word", "beep", "--data", str(tmp_path / "mine"), "--negatives", str(tmp_path / "neg"),
                 "--init", "none", "--out", str(run), "--epochs", "8", "--channels", "8", "--blocks", "1",
                 "--batch-size", "16", "--lr", "0.01", "--tune-minutes", "1", "--cache-dir", str(tmp_path / "c")]) == 0
    capsys.readouterr()  # the training log
    state = json.loads((run / "state.json").read_text())
    assert state["labels"] == ["_silence_", "_unknown_", "beep"]
    assert state["train"]["hard_negatives"] == 4.0  # a wake word weighs mistaken negatives up by default
    assert state["model"]["dropout"] == 0.2  # and keeps the dropout its figures were measured with (12 classes: 0)
    assert state["data"] == [str(tmp_path / "mine")] and state["negatives"] == [str(tmp_path / "neg")]
    data = SpeechCommands(tmp_path / "mine", words=("beep",), negatives=[tmp_path / "neg"])
    takes = sum(c.label == "beep" and c.split == "training" for c in data.recorded)
    assert state["train"]["other_voices"] == 4  # each take trains 4 more times in other voices
    assert state["n_train"] == len(data.split("training")) + 4 * takes

    # a stream: the word at 2 s and 6 s, another word (a negative) at 4 s
    stream = 0.003 * rng.standard_normal(16000 * 9).astype(np.float32)
    for at, clip in ((2.0, word(rng)), (4.0, tone(0.5, 700)), (6.0, word(rng))):
        stream[int(at * 16000) : int(at * 16000) + len(clip)] += clip
    path = write_wav(tmp_path / "stream.wav", stream)
    assert main(["detect", str(path), "--model", str(run / "model.tflite"), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [d["label"] for d in found] == ["beep", "beep"]
    assert 2.0 < found[0]["time_s"] < 3.5 and 6.0 < found[1]["time_s"] < 7.5


def test_word_parts_are_negatives_cut_from_your_takes(tmp_path, capsys):
    """--word-parts on: the start (mostly 500 Hz) and the end (mostly 1500 Hz) of each training take, each alone,
    train as `_unknown_` clips (a negatives folder in the run); off, they are not written."""
    rng = np.random.default_rng(1)
    for i in range(50):
        clip = np.zeros(16000, np.float32)
        clip[4000:12000] = word(rng, rng.uniform(0.1, 0.4))
        write_wav(tmp_path / "mine" / "beep" / f"0000cafe_nohash_{i}.wav", clip)
    other_words(rng, tmp_path / "neg")
    states = {}
    for parts in ("on", "off"):
        run = tmp_path / parts
        assert main(["train", "--wake-word", "beep", "--data", str(tmp_path / "mine"), "--negatives",
                     str(tmp_path / "neg"), "--word-parts", parts, "--init", "none", "--out", str(run), "--epochs", "1",
                     "--channels", "8", "--blocks", "1", "--tune-minutes", "0", "--cache-dir", str(tmp_path / "c")]) == 0
        states[parts] = json.loads((run / "state.json").read_text())
    capsys.readouterr()
    assert states["on"]["negatives"] == [str(tmp_path / "neg"), str(tmp_path / "on" / "parts")]
    training = SpeechCommands(tmp_path / "mine", words=("beep",), negatives=states["on"]["negatives"]).split("training")
    cut = [c for c in training if c.word == "beep_parts"]
    assert len(cut) == 2 * 40 and {c.label for c in cut} == {"_unknown_"}  # 40 takes train (every fifth validates)
    assert not (tmp_path / "off" / "parts").exists()
    for tag, freq in (("start", 500), ("end", 1500)):
        parts = sorted((tmp_path / "on" / "parts" / "beep_parts").glob(f"*_{tag}.wav"))
        assert len(parts) == 40
        audio = sf.read(parts[0])[0]
        assert 0.24 < np.mean(np.abs(audio) > 0.05) < 0.36  # 60 % of the 0.5 s word, centred in 1 s
        assert abs(np.argmax(np.abs(np.fft.rfft(audio))) - freq) < 20  # 1 Hz bins: mostly that half's tone
