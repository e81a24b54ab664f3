"""Decoded clips (a folder at a time) and their clean features, cached on disk under a key of the settings and the
file list, so that a second training or evaluation run over the same data starts in seconds, and a run that adds
a folder decodes that folder only."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..audio import fit_clip, read_audio
from ..features import FeatureConfig, mfcc, num_frames
from ..outputs import output_folder
from .speech_commands import Clip, SpeechCommands


def default_cache_dir() -> Path:
    return Path(os.environ.get("KWS_CACHE") or Path.home() / ".cache" / "kws")


def cache_folder(cache_dir=None) -> Path:
    """The cache folder (`cache_dir`, else default_cache_dir()), created; a one-line KwsError naming --cache-dir or
    KWS_CACHE if it is a file or cannot be written."""
    source = ("--cache-dir" if cache_dir else "KWS_CACHE" if os.environ.get("KWS_CACHE")
              else "the feature cache (set --cache-dir or KWS_CACHE)")
    return output_folder(cache_dir or default_cache_dir(), source)


def _audio_settings(config: FeatureConfig) -> dict:
    return {"sample_rate": config.sample_rate, "samples": config.clip_samples, "fit": "centred"}  # as fit_clip places


def _key(kind: str, clips: list[Clip], settings: dict) -> str:
    h = hashlib.sha1(json.dumps([kind, settings], sort_keys=True).encode())
    for c in clips:
        stat = c.path.stat() if c.path is not None else None
        h.update(f"{c.name}|{stat and (stat.st_size, stat.st_mtime_ns)}\n".encode())  # not its label: not in the audio
    return h.hexdigest()[:20]


def _cached(path: Path, compute):
    if path.is_file():
        return np.load(path)
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")  # one per process: two runs may fill the same entry
    np.save(tmp, value)
    tmp.replace(path)
    return value


def _decode(dataset: SpeechCommands, clips: list[Clip], config: FeatureConfig, bar) -> np.ndarray:
    n = config.clip_samples
    out = np.zeros((len(clips), n), np.int16)
    noises = dataset.noises(config.sample_rate) if any(c.path is None for c in clips) else []
    for i, c in enumerate(clips):
        if c.path is not None:
            audio = fit_clip(read_audio(c.path, config.sample_rate)[0], n, c.path, config.sample_rate)
            bar.update()
        else:
            index, offset, volume = c.noise
            audio = np.pad(noises[index][offset : offset + n], (0, max(0, offset + n - len(noises[index]))))
            audio = audio * volume
        out[i] = np.clip(np.round(audio * 32768), -32768, 32767)
    return out


def clip_audio(dataset: SpeechCommands, clips: list[Clip], config: FeatureConfig, cache_dir=None, progress=True):
    """(N, clip_samples) float32 audio of the clips (stored as 16-bit, exact for 16-bit sources). Cached a folder
    at a time, so that training on a new folder of your recordings decodes that folder only; generated silence is
    cut from the noise afresh."""
    folders = {}
    for i, c in enumerate(clips):
        folders.setdefault(None if c.path is None else c.path.parent, []).append(i)
    settings, root = _audio_settings(config), Path(cache_dir or default_cache_dir())
    paths = {folder: root / f"audio-{_key('audio', [clips[i] for i in index], settings)}.npy"
             for folder, index in folders.items() if folder is not None}
    todo = sum(len(folders[f]) for f, path in paths.items() if not path.is_file())
    out = np.zeros((len(clips), config.clip_samples), np.float32)
    with tqdm(total=todo, desc="decoding clips", unit="clip", disable=None if progress and todo else True,
              leave=False) as bar:
        for folder, index in folders.items():
            part = [clips[i] for i in index]
            if folder is None:
                pcm = _decode(dataset, part, config, bar)
            else:
                pcm = _cached(paths[folder], lambda: _decode(dataset, part, config, bar))
            out[index] = pcm / np.float32(32768)
    return out


def clip_features(dataset: SpeechCommands, clips: list[Clip], config: FeatureConfig, cache_dir=None, progress=True):
    """(N, n_frames, n_features) clean MFCCs of the clips."""
    settings = {**config.to_dict(), **_audio_settings(config)}
    path = Path(cache_dir or default_cache_dir()) / f"features-{_key('features', clips, settings)}.npy"
    return _cached(path, lambda: batched_mfcc(clip_audio(dataset, clips, config, cache_dir, progress), config))


def batched_mfcc(audio: np.ndarray, config: FeatureConfig, batch: int = 512) -> np.ndarray:
    """MFCCs of many clips (N, samples), a batch at a time to bound memory."""
    out = np.zeros((len(audio), num_frames(audio.shape[-1], config), config.n_features), np.float32)
    for i in range(0, len(audio), batch):
        out[i : i + batch] = mfcc(audio[i : i + batch], config)
    return out
