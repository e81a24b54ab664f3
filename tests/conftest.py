"""Shared fixtures: the real Speech Commands subset in ../shared and small audio files made on the fly."""

import os
from pathlib import Path

# One BLAS thread, set before numpy loads OpenBLAS: the front end's matrices are small, and on a shared 2-core
# machine OpenBLAS's threads only wait on each other (the fuzz test: 7 s with them, 5 s without).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data" / "speech_commands"
# How far TFLM's int8 outputs (and the emulated board's, which equal them) may be from LiteRT's builtin kernels':
# they round the dense layer's logits by up to 1 step differently, their softmaxes differ, and the fixed layer that
# sums 16 other words' outputs into `_unknown_` adds those up (benchmarks/firmware_size.py on every validation clip,
# four models: at most 2-8 steps; 1,159-2,375 of 168,132 outputs 1 step apart; top-1 different on 0-3 inferences).
LITERT_TFLM_MAX_STEPS = 8


@pytest.fixture(scope="session", autouse=True)
def temporary_caches(tmp_path_factory):
    """The feature cache and matplotlib's in a temporary folder, for the tests and the commands they start:
    never the user's ~/.cache."""
    base = tmp_path_factory.mktemp("caches")
    os.environ["KWS_CACHE"], os.environ["MPLCONFIGDIR"] = str(base / "kws"), str(base / "matplotlib")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (SHARED_DATA / "yes").is_dir():
        pytest.fail(f"the Speech Commands subset is missing at {SHARED_DATA}; tests read real clips from there")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_clips(data_dir) -> list[Path]:
    return [sorted((data_dir / w).glob("*.flac"))[i] for w, i in (("yes", 0), ("stop", 3), ("off", 5), ("unknown", 1))]


def write_wav(path: Path, audio, rate=16000, subtype="PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(audio, np.float32), rate, subtype=subtype)
    return path


FAKE_MIC = """pcm.kwsfake {{
    type file
    slave.pcm "null"
    file "/dev/null"
    infile "{raw}"
    format "raw"
    hint {{ show on description "kws fake microphone" }}
}}
"""


def fake_mic_home(home: Path, audio) -> Path:
    """Make `home`/.asoundrc define `kwsfake`, an ALSA capture device (PortAudio sees it when HOME=home) that
    plays `audio` (float in [-1, 1]) as 16-bit raw samples, faster than real time."""
    raw = home / "fake_mic.raw"
    np.clip(np.round(np.asarray(audio) * 32768), -32768, 32767).astype("<i2").tofile(raw)
    (home / ".asoundrc").write_text(FAKE_MIC.format(raw=raw))
    return home


def tone(seconds=1.0, freq=440.0, rate=16000, amp=0.3):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def tone_words(root: Path, words, count: int, step_hz: float, rng) -> None:
    """ROOT in Speech Commands layout: `count` clips of each word, a 0.5 s tone (word k at (k + 1) x step_hz, random
    level) at a random offset in 1 s, over faint noise; and a background-noise file."""
    for k, word in enumerate(words):
        for i in range(count):
            clip = np.zeros(16000, np.float32)
            start = rng.integers(2000, 6000)
            clip[start : start + 8000] = tone(0.5, step_hz * (k + 1), amp=rng.uniform(0.1, 0.5))
            write_wav(root / word / f"{i:04x}{k:04x}_nohash_0.wav", clip + 0.005 * rng.standard_normal(16000))
    write_wav(root / "_background_noise_" / "hum.wav", 0.3 * rng.standard_normal(16000 * 8))


STREAM_WORDS = ("yes", "stop", "left", "go")


@pytest.fixture(scope="session")
def shipped_model():
    from kws.runtime import Model

    return Model()  # the shipped model


@pytest.fixture(scope="session")
def keyword_stream(shipped_model, data_dir):
    """8 validation-speaker clips that the shipped detector finds alone, 2.5 s apart over quiet noise: (audio,
    [(label, start_s)]). Whether a clip is found depends on how the stride's windows fall on it, not only on how
    sure the model is of the centred clip, so each is tried alone first, over the same noise."""
    from kws.audio import fit_clip, read_audio
    from kws.detector import detect_audio

    rng = np.random.default_rng(0)
    listed = [line.split("/") for line in (data_dir / "validation_list.txt").read_text().split()]
    noise = 0.003 * rng.standard_normal(16000 * 22).astype(np.float32)
    audio, truth = noise.copy(), []
    for word in STREAM_WORDS:
        picked = 0
        for folder, name in listed:
            if folder != word or picked == 2:
                continue
            clip = fit_clip(read_audio(data_dir / folder / name, 16000)[0], 16000, name, 16000)
            at = int((1.0 + 2.5 * len(truth)) * 16000)
            alone = noise[: at + 32000].copy()  # the stream up to here, without the other clips
            alone[at : at + 16000] += clip
            if [d.label for d in detect_audio(shipped_model, alone)] == [word]:
                audio[at : at + 16000] += clip
                truth.append((word, at / 16000))
                picked += 1
    assert len(truth) == 8
    return audio, truth


def assert_detected(detections, truth):
    """Detections ((label, time_s) pairs) name the truth's words, in order, each soon after it starts."""
    assert [label for label, _ in detections] == [label for label, _ in truth]
    for (_, time_s), (_, start) in zip(detections, truth):
        assert start < time_s < start + 1.5


@pytest.fixture
def tiny_speech_commands(tmp_path) -> Path:
    """A miniature folder in Speech Commands layout: tones as words, noise as background, hash-rule splits."""
    rng = np.random.default_rng(0)
    root = tmp_path / "sc"
    speakers = [f"{i:08x}" for i in range(40)]
    for k, word in enumerate(("yes", "no", "marvin")):
        for s in speakers:
            write_wav(root / word / f"{s}_nohash_0.wav", tone(0.8, 300 + 200 * k) + 0.01 * rng.standard_normal(12800))
    write_wav(root / "_background_noise_" / "noise.wav", 0.5 * rng.standard_normal(16000 * 5))
    return root


@pytest.fixture(scope="session")
def tiny_families(tiny_run, tmp_path_factory):
    """A TC-ResNet (MFCCs), a BC-ResNet (log-mel bands) and a streamable DS-CNN trained on tiny_run's tones, and
    their int8 exports: family (or "streamable") -> (run folder, model path)."""
    from kws.features import FeatureConfig
    from kws.model.network import ModelConfig
    from kws.model.quantize import quantize_run
    from kws.model.train import TrainConfig, train

    base, runs = tmp_path_factory.mktemp("tiny_families"), {}
    for name, family, features, width in (("tc-resnet", "tc-resnet", "mfcc", 8), ("bc-resnet", "bc-resnet", "log-mel", 4),
                                          ("streamable", "ds-cnn", "mfcc", 8)):
        run, model = base / name / "run", base / name / "model.tflite"
        train(tiny_run[0], run, feature_config=FeatureConfig(kind=features), words=("yes", "no"),
              model_config=ModelConfig(arch=family, channels=width, blocks=2, streamable=name == "streamable"),
              cache_dir=base / "cache", config=TrainConfig(epochs=10, batch_size=16, learning_rate=1e-2))
        quantize_run(run, model, cache_dir=base / "cache", tune_minutes=0)
        runs[name] = run, model
    return runs


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A DS-CNN trained for a few epochs on tones in Speech Commands layout, and its int8 export:
    (data folder, run folder, model path). Seconds, not minutes."""
    from kws.model.network import ModelConfig
    from kws.model.quantize import quantize_run
    from kws.model.train import TrainConfig, train

    base = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    data = base / "data"
    tone_words(data, ("yes", "no", "bed"), 60, 400, rng)
    run = base / "run"
    cache = base / "cache"
    train(data, run, model_config=ModelConfig(channels=8, blocks=1), words=("yes", "no"), cache_dir=cache,
          config=TrainConfig(epochs=10, batch_size=16, learning_rate=1e-2))
    model = base / "tiny.tflite"
    quantize_run(run, model, cache_dir=cache, tune_minutes=1)
    return data, run, model
