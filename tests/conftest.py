"""Shared fixtures: the real Speech Commands subset in ../shared and small audio files made on the fly."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data" / "speech_commands"


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


def tone(seconds=1.0, freq=440.0, rate=16000, amp=0.3):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


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
def tiny_run(tmp_path_factory):
    """A DS-CNN trained for a few epochs on tones in Speech Commands layout, and its int8 export:
    (data folder, run folder, model path). Seconds, not minutes."""
    from kws.model.dscnn import ModelConfig
    from kws.model.export import export_run
    from kws.model.train import TrainConfig, train

    base = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    data = base / "data"
    for k, word in enumerate(("yes", "no", "bed")):
        for i in range(60):
            clip = np.zeros(16000, np.float32)
            start = rng.integers(2000, 6000)
            clip[start : start + 8000] = tone(0.5, 400 * (k + 1), amp=rng.uniform(0.1, 0.5))
            write_wav(data / word / f"{i:04x}{k:04x}_nohash_0.wav", clip + 0.005 * rng.standard_normal(16000))
    write_wav(data / "_background_noise_" / "hum.wav", 0.3 * rng.standard_normal(16000 * 8))
    run = base / "run"
    cache = base / "cache"
    train(data, run, model_config=ModelConfig(channels=8, blocks=1), words=("yes", "no"), cache_dir=cache,
          config=TrainConfig(epochs=8, batch_size=16, learning_rate=1e-2))
    model = base / "tiny.tflite"
    export_run(run, model, cache_dir=cache)
    return data, run, model
