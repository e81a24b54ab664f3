import dataclasses

import librosa
import numpy as np
import pytest

from kws.audio import read_audio
from kws.errors import KwsError
from kws.features import FeatureConfig, StreamingMfcc, mfcc, num_frames, tables

CONFIG = FeatureConfig()
LOG_MEL = FeatureConfig(kind="log-mel")


def librosa_mfcc(audio, c: FeatureConfig):
    """librosa's MFCC with our framing: pad so that librosa's centred n_fft frame holds our window."""
    pad = (c.n_fft - c.window_length) // 2
    mel = librosa.feature.melspectrogram(
        y=np.pad(audio, (pad, pad)), sr=c.sample_rate, n_fft=c.n_fft, hop_length=c.hop_length,
        win_length=c.window_length, window="hann", center=False, n_mels=c.n_mels, fmin=c.fmin, fmax=c.fmax, power=2.0)
    log_mel = librosa.power_to_db(mel, ref=1.0, amin=c.log_floor, top_db=None)
    return librosa.feature.mfcc(S=log_mel, n_mfcc=c.n_mfcc, dct_type=2, norm="ortho", lifter=c.lifter).T


def test_log_mel_features_are_librosas_log_mel_bands(real_clips):
    pad = (LOG_MEL.n_fft - LOG_MEL.window_length) // 2
    for path in real_clips:
        audio, _ = read_audio(path, 16000)
        mel = librosa.feature.melspectrogram(
            y=np.pad(audio, (pad, pad)), sr=16000, n_fft=LOG_MEL.n_fft, hop_length=LOG_MEL.hop_length,
            win_length=LOG_MEL.window_length, window="hann", center=False, n_mels=LOG_MEL.n_mels, fmin=LOG_MEL.fmin,
            fmax=LOG_MEL.fmax, power=2.0)
        ref = librosa.power_to_db(mel, ref=1.0, amin=LOG_MEL.log_floor, top_db=None).T
        ours = mfcc(audio, LOG_MEL)
        assert ours.shape == ref.shape == (num_frames(len(audio), LOG_MEL), 40) and LOG_MEL.n_features == 40
        np.testing.assert_allclose(ours, ref, atol=1e-3 * np.abs(ref).max())
    assert tables(LOG_MEL).dct is None
    assert FeatureConfig.from_dict({k: v for k, v in CONFIG.to_dict().items() if k != "kind"}) == CONFIG  # old models
    with pytest.raises(KwsError, match="kind is 'mel'"):
        FeatureConfig(kind="mel")


def test_filterbank_matches_librosa():
    ref = librosa.filters.mel(sr=16000, n_fft=CONFIG.n_fft, n_mels=CONFIG.n_mels, fmin=CONFIG.fmin, fmax=CONFIG.fmax)
    np.testing.assert_allclose(tables(CONFIG).mel, ref, atol=1e-7)


@pytest.mark.parametrize("config", [CONFIG, dataclasses.replace(CONFIG, lifter=0, n_mfcc=13, fmax=7600.0)])
def test_mfcc_matches_librosa_on_real_clips(real_clips, config):
    for path in real_clips:
        audio, _ = read_audio(path, 16000)
        ours, ref = mfcc(audio, config), librosa_mfcc(audio, config)
        assert ours.shape == ref.shape
        # dB-domain values of size ~100: float32 rounding is the only difference
        np.testing.assert_allclose(ours, ref, atol=1e-3 * np.abs(ref).max())


def test_one_second_gives_the_model_window():
    assert CONFIG.clip_samples == 16000
    assert mfcc(np.zeros(16000), CONFIG).shape == (49, 10)
    assert num_frames(639, CONFIG) == 0 and mfcc(np.zeros(639), CONFIG).shape == (0, 10)
    assert num_frames(640, CONFIG) == 1 and num_frames(959, CONFIG) == 1 and num_frames(960, CONFIG) == 2


def test_batch_of_clips_equals_each_clip(real_clips):
    clips = np.stack([np.pad(read_audio(p, 16000)[0], (0, 16000))[:16000] for p in real_clips])
    batch = mfcc(clips, CONFIG)
    for clip, feats in zip(clips, batch):
        np.testing.assert_allclose(feats, mfcc(clip, CONFIG), rtol=0, atol=1e-4)


@pytest.mark.parametrize("config", [CONFIG, LOG_MEL], ids=["mfcc", "log-mel"])
@pytest.mark.parametrize("chunk", [1, 7, 160, 319, 320, 321, 1000, 4096, 16000, 100000])
def test_streaming_equals_batch(real_clips, chunk, config):
    audio = np.concatenate([read_audio(p, 16000)[0] for p in real_clips])  # ~4 s of real speech
    whole = mfcc(audio, config)
    stream = StreamingMfcc(config)
    pieces = [stream.push(audio[i : i + chunk]) for i in range(0, len(audio), chunk)]
    streamed = np.concatenate(pieces)
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-4)


def test_streaming_reset_starts_over(real_clips):
    audio, _ = read_audio(real_clips[0], 16000)
    stream = StreamingMfcc(CONFIG)
    stream.push(audio[:1000])
    stream.reset()
    np.testing.assert_allclose(stream.push(audio), mfcc(audio, CONFIG), atol=1e-4)


def test_log_floor_bounds_silence():
    feats = mfcc(np.zeros(16000), CONFIG)
    floor_db = 10 * np.log10(CONFIG.log_floor)
    expected = floor_db * tables(CONFIG).dct.sum(axis=1)  # every mel band sits at the floor
    np.testing.assert_allclose(feats, np.broadcast_to(expected, feats.shape), atol=1e-3)


def test_config_round_trip_and_unknown_keys():
    assert FeatureConfig.from_dict(CONFIG.to_dict()) == CONFIG
    with pytest.raises(KwsError, match="unknown keys"):
        FeatureConfig.from_dict({**CONFIG.to_dict(), "preemphasis": 0.97})


def test_a_long_recording_is_transformed_in_blocks_of_bounded_memory():
    """`kws features` on an hour peaked at 3.1 GB: the spectra of all frames at once."""
    import tracemalloc

    from kws.features import BLOCK_FRAMES, frames_to_mfcc

    audio = 0.1 * np.random.default_rng(0).standard_normal(16000 * 600).astype(np.float32)  # 10 minutes
    tracemalloc.start()
    features = mfcc(audio, CONFIG)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 60e6  # about 20 MB per block (30,000 frames at once took about 500 MB)
    n = BLOCK_FRAMES + 5
    windows = np.lib.stride_tricks.sliding_window_view(audio[: CONFIG.window_length + (n - 1) * CONFIG.hop_length],
                                                       CONFIG.window_length)[:: CONFIG.hop_length]
    np.testing.assert_array_equal(features[:n], frames_to_mfcc(windows, CONFIG))
