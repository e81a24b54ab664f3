"""Detection on a long stream: keyword and other-word clips of unseen speakers placed over background noise,
with a ground-truth list; hit rate, false accepts per hour and latency, across thresholds (a DET curve)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .audio import fit_clip, read_audio
from .data.speech_commands import SpeechCommands
from .data.synth import is_synthetic
from .detector import Decider, Detector, DetectorSettings
from .errors import KwsError
from .features import SAMPLE_RATE
from .labels import SILENCE, UNKNOWN, is_keyword, keywords
from .runtime import Model

STREAM_MINUTES = 60.0  # `kws eval-stream`'s stream length
STREAM_SPLIT = "validation"  # whose clips a stream holds: speakers unseen in training
STREAM_SEED = 0
NOISE_VOLUME = 0.1  # background noise volume up to this
MIN_KEYWORD_SHARE = 0.25  # by default a stream's keyword share is the split's own, at least this
TUNE_MINUTES = 30.0  # the length of the stream detection defaults are tuned on (`kws train` and `kws quantize`)
TUNE_THRESHOLDS = np.round(np.arange(0.3, 0.991, 0.01), 2)  # the thresholds tuning chooses from
# The DET curve's thresholds: every 0.025 from 0.3, and 0.96-0.99 as far as tuning goes (a threshold a user may set)
SWEEP_THRESHOLDS = np.concatenate([np.linspace(0.3, 0.95, 27), TUNE_THRESHOLDS[TUNE_THRESHOLDS > 0.95]])
# Of a tuning stream's other words, the share that are your own (the data folders' other words, next to the
# negatives folders'), when you recorded some: they are the words most like your wake word in your voice
OWN_WORDS_SHARE = 0.5
MAX_LATENCY_S = 1.0  # a detection later than this after the word ends does not count as a hit


@dataclasses.dataclass(frozen=True)
class Event:
    label: str
    start_s: float  # where the 1 s clip starts in the stream
    end_s: float  # where its speech ends (last 10 ms above -20 dB of the clip's peak)
    clip: str
    word: str  # the spoken word (an other word's own name, where `label` says `_unknown_`)


def _speech_end(clip: np.ndarray, rate: int) -> float:
    hop = rate // 100
    rms = np.sqrt(np.mean(clip[: len(clip) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    loud = np.flatnonzero(rms >= 0.1 * rms.max())
    return (loud[-1] + 1) * hop / rate if len(loud) else len(clip) / rate


def build_stream(data_dir, words, minutes: float = STREAM_MINUTES, split: str = STREAM_SPLIT,
                 seed: int = STREAM_SEED, noise_volume: float = NOISE_VOLUME, gap_s=(1.0, 4.0), rate: int = SAMPLE_RATE,
                 keyword_share: float | None = None, negatives=(), own_share: float | None = None,
                 recorded: bool = False):
    """(audio, events): background noise at a random volume in [0, noise_volume) that changes every 5-20 s,
    with one clip of the split every gap_s seconds: a keyword with probability `keyword_share` (default: their
    share of the split's word clips, at least MIN_KEYWORD_SHARE, so a rare wake word is still heard often), else
    another word. `negatives` folders add other words only, as in training; with `own_share`, that share of
    the other words comes from the data folders (your own other words) when they have some. With `recorded`, a
    keyword that has recordings in the split is heard in them only (its synthetic clips left out)."""
    dataset = SpeechCommands(data_dir, words=words, negatives=negatives)
    clips = [c for c in dataset.split(split) if c.path is not None and c.label != SILENCE]
    targets = [c for c in clips if is_keyword(c.label)]
    if recorded:
        real = {c.label for c in targets if not is_synthetic(c.path)}
        targets = [c for c in targets if c.label not in real or not is_synthetic(c.path)]
    others = [c for c in clips if c.label == UNKNOWN]
    if not targets:
        raise KwsError(f"{data_dir}: no keyword clips in the {split} split to build a stream from")
    share = max(MIN_KEYWORD_SHARE, len(targets) / len(clips)) if keyword_share is None else keyword_share
    share = share if others else 1.0
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * rate)
    audio = np.zeros(total, np.float32)
    noises = dataset.noises(rate)
    pos = 0
    while noises and pos < total:
        noise = noises[rng.integers(len(noises))]
        length = min(int(rng.uniform(5, 20) * rate), total - pos, len(noise))
        start = rng.integers(len(noise) - length + 1)
        audio[pos : pos + length] = noise[start : start + length] * rng.uniform(0, noise_volume)
        pos += length
    events = []
    t = rng.uniform(*gap_s)
    own = []
    if own_share is not None:
        theirs = [dataset.from_negatives(c) for c in others]
        if any(theirs) and not all(theirs):
            own, others = ([c for c, neg in zip(others, theirs) if not neg],
                           [c for c, neg in zip(others, theirs) if neg])
    pools = [(pool, rng.permutation(len(pool))) for pool in [targets, others] + ([own] if own else [])]
    used = [0] * len(pools)
    while int(t * rate) + rate <= total:
        start = int(t * rate)
        which = 0 if rng.uniform() < share else 2 if own and rng.uniform() < own_share else 1
        pool, order = pools[which]
        clip = pool[order[used[which] % len(pool)]]
        used[which] += 1
        samples = fit_clip(read_audio(clip.path, rate)[0], rate, clip.path, rate)
        audio[start : start + rate] += samples
        events.append(Event(clip.label, start / rate, start / rate + _speech_end(samples, rate), clip.name, clip.word))
        t += 1.0 + rng.uniform(*gap_s)
    return np.clip(audio, -1, 1), events


def _window_of(time_s: float, events, starts: np.ndarray) -> int | None:
    """Index of the event whose window (its clip's start to MAX_LATENCY_S after its speech ends) holds time_s;
    `starts` are the events' start times."""
    i = int(np.searchsorted(starts, time_s, side="right")) - 1  # the last event starting before time_s
    return i if i >= 0 and time_s <= events[i].end_s + MAX_LATENCY_S else None


def score(detections, events, hours: float) -> dict:
    """Each detection is a hit (the right keyword, between its clip's start and MAX_LATENCY_S after its speech
    ends, first time), a substitution (inside a keyword's window, but another keyword or a repeat) or a false
    accept (anywhere else: over noise or another word). Latency is counted from the end of speech."""
    targets = [e for e in events if is_keyword(e.label)]
    starts = np.array([e.start_s for e in targets])
    used = set()
    latencies, substitutions, false_accepts = [], 0, 0
    for d in detections:
        i = _window_of(d.time_s, targets, starts)
        if i is not None and targets[i].label == d.label and i not in used:
            used.add(i)
            latencies.append(d.time_s - targets[i].end_s)
        elif i is not None:
            substitutions += 1
        else:
            false_accepts += 1
    return {"keywords": len(targets), "hits": len(used), "hit_rate": len(used) / max(1, len(targets)),
            "substitutions": substitutions, "false_accepts": false_accepts,
            "false_accepts_per_hour": false_accepts / hours if hours else 0.0,  # a stream too short for a sample
            "latency_median_s": float(np.median(latencies)) if latencies else None,
            "latency_p90_s": float(np.percentile(latencies, 90)) if latencies else None}


def false_accepts(detections, events) -> list[dict]:
    """The detections that are false accepts, each with the clip and word it fired over (or "noise", between
    clips)."""
    targets = [e for e in events if is_keyword(e.label)]
    target_starts, starts = np.array([e.start_s for e in targets]), np.array([e.start_s for e in events])
    out = []
    for d in detections:
        if _window_of(d.time_s, targets, target_starts) is None:
            i = _window_of(d.time_s, events, starts)
            out.append({**d.to_dict(), "over": "noise" if i is None else events[i].clip,
                        "word": "noise" if i is None else events[i].word})
    return out


def posterior_trace(model: Model, audio: np.ndarray, settings: DetectorSettings, chunk: int = 16000):
    """Times and smoothed posteriors of every inference of the detector over the audio."""
    times, posts = [], []
    detector = Detector(model, settings, on_posteriors=lambda t, p: (times.append(t), posts.append(p.copy())))
    for i in tqdm(range(0, len(audio), chunk), desc="detector", unit="s", leave=False, disable=None):
        detector.push(audio[i : i + chunk])
    return np.array(times), np.array(posts)


def smoothed(raw: np.ndarray, inferences: int) -> np.ndarray:
    """The detector's smoothing applied to a trace of single inferences: each row the mean of the last `inferences`
    rows (of all rows so far, at the start), as the Detector averages its history."""
    sums = np.cumsum(np.vstack([np.zeros((1, raw.shape[1])), raw]), axis=0)
    end = np.arange(1, len(raw) + 1)
    start = np.maximum(0, end - inferences)
    return (sums[end] - sums[start]) / (end - start)[:, None]


def decide(times, posts, labels, settings: DetectorSettings) -> list:
    """The detections over a posterior trace (the Decider is the detector's own)."""
    decider = Decider(labels, settings)
    return [d for d in (decider.step(t, p) for t, p in zip(times, posts)) if d is not None]


def sweep(times, posts, labels, settings: DetectorSettings, events, hours: float, thresholds, group=None) -> list[dict]:
    """Scores at each threshold, from one posterior trace; with `group` (a false accept's dict -> a name) also
    the false accepts counted by group."""
    rows = []
    for threshold in thresholds:
        found = decide(times, posts, labels, dataclasses.replace(settings, threshold=float(threshold)))
        rows.append({"threshold": round(float(threshold), 4), **score(found, events, hours)})
        if group is not None:
            rows[-1]["false_accepts_by"] = dict(Counter(map(group, false_accepts(found, events))))
    return rows


def best_within(sweep, false_accepts_per_hour: float = 1.0, key: str = "false_accepts_per_hour") -> dict | None:
    """The sweep row with the most hits among those with at most this many false accepts per hour (`key`); of
    equals, the lowest threshold."""
    rows = [r for r in sweep if r[key] <= false_accepts_per_hour]
    return max(rows, key=lambda r: (r["hit_rate"], -r["threshold"]), default=None)


def eval_stream(model_path, data_dir, minutes=STREAM_MINUTES, split=STREAM_SPLIT, seed=STREAM_SEED,
                noise_volume=NOISE_VOLUME, threshold=None, save=None, keyword_share=None, stride_ms=None, negatives=(),
                group=None, smoothing_ms=None) -> dict:
    """A stream of `data_dir` and `negatives` (see build_stream) scored at the model's settings and across
    thresholds; with `group` (a false accept's dict, "over" the clip and its "word" -> a name) the false accepts and
    the other-word clips are also counted by group."""
    model = Model(model_path)
    hop_ms = model.config.hop_ms
    if stride_ms is not None and (stride_ms < hop_ms or stride_ms % hop_ms):
        raise KwsError(f"--stride-ms {stride_ms:g}: the model can only run every few {hop_ms:g} ms frames; "
                       f"pick a multiple of {hop_ms:g}, e.g. {4 * hop_ms:g}")
    settings = DetectorSettings.from_metadata(model.metadata, threshold=threshold, stride_ms=stride_ms,
                                              smoothing_ms=smoothing_ms)
    rate = model.config.sample_rate
    audio, events = build_stream(data_dir, keywords(model.labels), minutes, split, seed, noise_volume, rate=rate,
                                 keyword_share=keyword_share, negatives=negatives)
    hours = len(audio) / rate / 3600
    if save:
        import soundfile as sf

        sf.write(save, audio, rate, subtype="PCM_16")
        Path(save).with_suffix(".json").write_text(json.dumps([dataclasses.asdict(e) for e in events], indent=0))
    times, posts = posterior_trace(model, audio, settings)
    thresholds = sorted(set(np.round(np.concatenate([SWEEP_THRESHOLDS, [settings.threshold]]), 4)))
    rows = sweep(times, posts, model.labels, settings, events, hours, thresholds, group)
    at_default = next(r for r in rows if r["threshold"] == round(settings.threshold, 4))
    share = sum(is_keyword(e.label) for e in events) / max(1, len(events))
    report = {"minutes": round(hours * 60, 2), "split": split, "seed": seed, "noise_volume": noise_volume,
              "keyword_share": round(share, 3), "other_words": sum(not is_keyword(e.label) for e in events),
              "settings": dataclasses.asdict(settings), "result": at_default,
              "false_accepts": false_accepts(decide(times, posts, model.labels, settings), events), "sweep": rows}
    if group is not None:
        report["other_words_by"] = dict(Counter(group({"over": e.clip, "word": e.word})
                                                for e in events if not is_keyword(e.label)))
    return report


def tuning_score(row: dict, fa_weight: float = 0.01) -> float:
    """What detection tuning maximises: hit rate - substitution rate - fa_weight x false accepts per hour (by
    default one false accept per hour weighs as much as one percent of the keywords missed or mistaken)."""
    return row["hit_rate"] - row["substitutions"] / max(1, row["keywords"]) - fa_weight * row["false_accepts_per_hour"]


def best_setting(candidates, fa_weight: float = 0.01, slack: float = 0.0,
                 max_false_accepts: float | None = None) -> tuple[DetectorSettings, dict]:
    """Of (settings, row) pairs, the best `tuning_score`; of equal scores the lowest threshold, whatever the
    smoothing window (the first one tried among those with that threshold). With `slack` > 0, the highest threshold
    whose score is within `slack` of the best: a margin against what the stream lacks. With `max_false_accepts`
    (per hour), only the pairs within it compete, on hits alone (or, if none is, those with the fewest)."""
    candidates = list(candidates)
    if max_false_accepts is not None:
        fewest = min(row["false_accepts_per_hour"] for _, row in candidates)
        limit = max(max_false_accepts, fewest)
        candidates, fa_weight = [(s, row) for s, row in candidates if row["false_accepts_per_hour"] <= limit], 0.0
    scored = [(tuning_score(row, fa_weight), settings, row) for settings, row in candidates]
    top = max(score for score, _, _ in scored)
    if slack > 0:
        _, settings, row = max((c for c in scored if c[0] >= top - slack - 1e-9), key=lambda c: c[2]["threshold"])
    else:
        _, settings, row = max(scored, key=lambda c: (c[0], -c[2]["threshold"]))
    return settings, row


def tune_detection(model: Model, data_dir, minutes: float = TUNE_MINUTES, seed: int = 1, fa_weight: float = 0.01,
                   smoothing_options=(200.0, 400.0, 600.0), split: str = STREAM_SPLIT,
                   negatives=(), slack: float = 0.0, max_false_accepts: float | None = None
                   ) -> tuple[DetectorSettings, dict]:
    """Detection defaults from measured curves: on a stream of the split's speakers, the smoothing window and
    threshold with the best `tuning_score`. Of equal scores the lowest threshold wins: it leaves the most room for
    speakers less clear than the stream's. With `slack`, the highest within `slack` of the best score wins
    instead; with `max_false_accepts`, the most hits within that many false accepts per hour (`best_setting`). Beside `negatives` folders, half the stream's other words are the data folders' own
    (OWN_WORDS_SHARE), when they hold some: the words of yours that the threshold must not fire on. A keyword
    with recordings in the split is heard in them only: a new person's voice, not a synthetic one's, is what the
    threshold and its promised hit rate are for."""
    audio, events = build_stream(data_dir, keywords(model.labels), minutes, split, seed, rate=model.config.sample_rate,
                                 negatives=negatives, own_share=OWN_WORDS_SHARE, recorded=True)
    hours = len(audio) / model.config.sample_rate / 3600
    base = DetectorSettings(stride_ms=model.metadata.detection.stride_ms)  # a streaming model's is its own
    times, raw = posterior_trace(model, audio, dataclasses.replace(base, smoothing_ms=base.stride_ms))  # one pass

    def candidates():
        for smoothing in smoothing_options:
            settings = dataclasses.replace(base, smoothing_ms=smoothing)
            posts = smoothed(raw, settings.smooth_inferences(model.config.hop_ms))
            for row in sweep(times, posts, model.labels, settings, events, hours, TUNE_THRESHOLDS):
                yield dataclasses.replace(settings, threshold=row["threshold"]), row

    settings, row = best_setting(candidates(), fa_weight, slack, max_false_accepts)
    return settings, {"minutes": round(hours * 60, 1), "seed": seed, "split": split, "hit_rate": round(row["hit_rate"], 4),
                      "false_accepts_per_hour": round(row["false_accepts_per_hour"], 2)}
