"""What bounds the hit rate on a stream: the model's word recognition or the streaming? Each keyword of a
keywords-only `kws eval-stream` stream is scored twice: its clip alone (centred, clean, one inference, as `kws
evaluate` scores it) and in the stream (is its keyword the detector's best label at any inference between the
clip's start and 1 s after its speech ends: the most any threshold could find).

    python benchmarks/stream_ceiling.py [--model M] [--minutes 60]"""

import argparse
from collections import Counter

import numpy as np

from kws.data.cache import clip_features
from kws.data.speech_commands import SpeechCommands
from kws.detector import DetectorSettings
from kws.labels import keywords
from kws.paths import DEFAULT_MODEL, TRAINING_DATA
from kws.runtime import Model
from kws.stream_eval import MAX_LATENCY_S, build_stream, posterior_trace


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--minutes", type=float, default=60.0, help="stream length (default 60)")
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
    outcome, missed = Counter(), Counter()
    for e, f in zip(events, features):
        k = model.labels.index(e.label)
        alone = int(np.argmax(model.predict(f))) == k
        window = (times >= e.start_s) & (times <= e.end_s + MAX_LATENCY_S)
        streamed = bool(np.any(np.argmax(posts[window], axis=1) == k))
        outcome[alone, streamed] += 1
        missed[e.label] += not streamed
    n = len(events)
    print(f"{args.model}: {n} keywords in a {args.minutes:g} min keywords-only stream (seed 0, {settings})")
    print("| | best label in the stream | not |\n|---|---|---|")
    for alone in (True, False):
        print(f"| clip alone {'right' if alone else 'wrong'} | {outcome[alone, True]} | {outcome[alone, False]} |")
    print(f"right alone: {100 * sum(outcome[True, s] for s in (True, False)) / n:.1f} %; best label in the stream: "
          f"{100 * sum(outcome[a, True] for a in (True, False)) / n:.1f} %; missed in the stream by word: "
          + ", ".join(f"{w} {c}" for w, c in missed.most_common() if c))


if __name__ == "__main__":
    main()
