"""Cost of the MFCC front end per 20 ms hop when streaming, and its real-time factor.

    python benchmarks/frontend.py [--seconds 60]

Feeds noise through StreamingMfcc one hop (320 samples) at a time, as a live microphone would, and also
times the batch function on 1 s clips (the training path). Prints the median over repeats."""

import argparse
import statistics
import time

import numpy as np

from kws.features import FeatureConfig, StreamingMfcc, mfcc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of audio per repeat (default 60)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = FeatureConfig()
    audio = (0.1 * np.random.default_rng(0).standard_normal(int(args.seconds * config.sample_rate))).astype(np.float32)
    hop = config.hop_length

    stream_times = []
    for _ in range(args.repeats):
        stream = StreamingMfcc(config)
        start = time.perf_counter()
        frames = sum(len(stream.push(audio[i : i + hop])) for i in range(0, len(audio), hop))
        stream_times.append((time.perf_counter() - start) / frames)
    per_hop = statistics.median(stream_times)

    clips = audio[: len(audio) // config.clip_samples * config.clip_samples].reshape(-1, config.clip_samples)
    batch_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        mfcc(clips, config)
        batch_times.append((time.perf_counter() - start) / len(clips))

    print(f"streaming: {per_hop * 1e6:.1f} us per {config.hop_ms:g} ms hop -> real-time factor "
          f"{per_hop / (config.hop_ms / 1000):.4f} ({100 * per_hop / (config.hop_ms / 1000):.2f} % of one core)")
    print(f"batch:     {statistics.median(batch_times) * 1e3:.2f} ms per 1 s clip ({config.n_frames} frames)")


if __name__ == "__main__":
    main()
