"""Would a minimum count of results before deciding (micro_speech's RecognizeCommands `minimum_count`) change
kws's detections? The Decider run with its first inferences left out, on `kws eval-stream`'s streams and on
every validation keyword clip scored whole, as `kws detect` scores a 1 s clip.

    python benchmarks/decider_min_count.py [--model M] [--counts 1,3,12]"""

import argparse

from kws.audio import read_audio
from kws.data.speech_commands import SpeechCommands
from kws.detector import Detector, DetectorSettings
from kws.labels import keywords
from kws.paths import DEFAULT_DATA, DEFAULT_MODEL, TRAINING_DATA
from kws.runtime import Model
from kws.stream_eval import build_stream, decide, posterior_trace, score


def from_count(times, posts, labels, settings, count: int) -> list:
    """The detections when the Decider waits for `count` results (the history is full after the first ones)."""
    return decide(times[count - 1 :], posts[count - 1 :], labels, settings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--counts", default="1,3,12", help="minimum counts to try (1: deciding from the first)")
    args = parser.parse_args()
    model = Model(args.model)
    settings = DetectorSettings.from_metadata(model.metadata)
    counts = [int(c) for c in args.counts.split(",")]
    print(f"{settings}: {settings.smooth_inferences(model.config.hop_ms)} inferences averaged")
    for minutes, share in ((60, None), (120, 1.0)):  # the README's two eval-stream rows, seed 0
        audio, events = build_stream(TRAINING_DATA, keywords(model.labels), minutes, "validation", 0,
                                     keyword_share=share)
        times, posts = posterior_trace(model, audio, settings)
        for count in counts:
            r = score(from_count(times, posts, model.labels, settings, count), events, minutes / 60)
            print(f"{minutes} min stream, keyword share {share or 'of the split'}, minimum {count}: "
                  f"{r['hits']}/{r['keywords']} hits, {r['substitutions']} substitutions, {r['false_accepts']} "
                  f"false accepts, latency median {r['latency_median_s']:.3f} s")
    clips = [c for c in SpeechCommands(DEFAULT_DATA, words=keywords(model.labels)).split("validation")
             if c.path is not None and c.label in keywords(model.labels)]
    found = dict.fromkeys(counts, 0)
    for clip in clips:
        times, posts = [], []
        detector = Detector(model, settings, on_posteriors=lambda t, p: (times.append(t), posts.append(p.copy())))
        detector.push(read_audio(clip.path, model.config.sample_rate)[0])
        detector.flush()
        for count in counts:
            found[count] += any(d.label == clip.label for d in from_count(times, posts, model.labels, settings, count))
    for count in counts:
        print(f"whole 1 s clips, minimum {count}: {found[count]}/{len(clips)} validation keyword clips found")


if __name__ == "__main__":
    main()
