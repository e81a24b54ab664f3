"""What bounds the hit rate on a stream: the model's word recognition or the streaming? Each keyword of a
keywords-only `kws eval-stream` stream is scored twice: its clip alone (centred, clean, one inference, as `kws
evaluate` scores it) and in the stream (is its keyword the detector's best label at any inference between the
clip's start and 1 s after its speech ends: the most any threshold could find). Then, at each threshold, why
the detector misses the others: its label never the best, another keyword fired in its window instead, or the
best but below the threshold.

    python benchmarks/stream_ceiling.py [--model M] [--minutes 60] [--thresholds 0.35 0.6]"""

import argparse
import dataclasses
from collections import Counter

import numpy as np

from kws.data.cache import clip_features
from kws.data.speech_commands import SpeechCommands
from kws.detector import DetectorSettings
from kws.labels import keywords
from kws.paths import DEFAULT_MODEL, TRAINING_DATA
from kws.runtime import Model
from kws.stream_eval import MAX_LATENCY_S, STREAM_MINUTES, build_stream, decide, posterior_trace


def misses(events, in_stream, detections) -> Counter:
    """Each keyword event's outcome under `detections`: hit, or why not; `in_stream` says, per event, whether its
    label was the best at some inference of its window."""
    out = Counter()
    for e, best in zip(events, in_stream):
        fired = [d.label for d in detections if e.start_s <= d.time_s <= e.end_s + MAX_LATENCY_S]
        out["hit" if e.label in fired else "never the best label" if not best else
            "another keyword fired" if fired else "best, below the threshold"] += 1
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--minutes", type=float, default=STREAM_MINUTES, help="stream length (default %(default)g)")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.35, 0.6],
                        help="thresholds to break the misses down at (the model's default is added)")
    args = parser.parse_args()
    model = Model(args.model)
    settings = DetectorSettings.from_metadata(model.metadata)
    rate = model.config.sample_rate
    audio, events = build_stream(TRAINING_DATA, keywords(model.labels), args.minutes, "validation", 0, rate=rate,
                                 keyword_share=1.0)
    times, posts = posterior_trace(model, audio, settings)
    dataset = SpeechCommands(TRAINING_DATA)
    by_name = {c.name: c for c in dataset.split("validation") if c.path is not None}
    features = clip_features(dataset, [by_name[e.clip] for e in events], model.config)  # as `kws evaluate`
    outcome, missed, in_stream = Counter(), Counter(), []
    for e, f in zip(events, features):
        k = model.labels.index(e.label)
        alone = int(np.argmax(model.predict(f))) == k
        window = (times >= e.start_s) & (times <= e.end_s + MAX_LATENCY_S)
        streamed = bool(np.any(np.argmax(posts[window], axis=1) == k))
        outcome[alone, streamed] += 1
        in_stream.append(streamed)
        missed[e.label] += not streamed
    n = len(events)
    print(f"{args.model}: {n} keywords in a {args.minutes:g} min keywords-only stream (seed 0, {settings})")
    print("| | best label in the stream | not |\n|---|---|---|")
    for alone in (True, False):
        print(f"| clip alone {'right' if alone else 'wrong'} | {outcome[alone, True]} | {outcome[alone, False]} |")
    print(f"right alone: {100 * sum(outcome[True, s] for s in (True, False)) / n:.1f} %; best label in the stream: "
          f"{100 * sum(outcome[a, True] for a in (True, False)) / n:.1f} %; missed in the stream by word: "
          + ", ".join(f"{w} {c}" for w, c in missed.most_common() if c))
    print("\n| threshold | hit | never the best label | another keyword fired | best, below the threshold |\n"
          "|---|---|---|---|---|")
    for threshold in sorted(set(args.thresholds) | {settings.threshold}):
        found = decide(times, posts, model.labels, dataclasses.replace(settings, threshold=threshold))
        c = misses(events, in_stream, found)
        print(f"| {threshold:g} | " + " | ".join(f"{c[k]} ({100 * c[k] / n:.1f} %)" for k in
              ("hit", "never the best label", "another keyword fired", "best, below the threshold")) + " |")


if __name__ == "__main__":
    main()
