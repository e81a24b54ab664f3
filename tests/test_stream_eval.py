"""Stream evaluation: the stream builder, hit / substitution / false-accept scoring, and `kws eval-stream`."""

import dataclasses
import json

import numpy as np

from conftest import tone, write_wav
from kws.cli import main
from kws.detector import Detection, DetectorSettings
from kws.labels import keywords
from kws.runtime import Model
from kws.stream_eval import (Event, best_setting, build_stream, false_accepts, posterior_trace, score, smoothed, sweep,
                             TUNE_THRESHOLDS, tune_detection, tuning_score)


def test_score_sorts_detections_into_hits_substitutions_and_false_accepts():
    events = [Event("yes", 1.0, 1.6, "a", "yes"), Event("_unknown_", 4.0, 4.5, "b", "wow"),
              Event("no", 7.0, 7.5, "c", "no"), Event("go", 10.0, 10.4, "d", "go")]
    detections = [Detection("yes", 1.8, 0.9),   # hit, 0.2 s after the word ends
                  Detection("yes", 2.4, 0.9),   # inside the window again: a repeat, counted as substitution
                  Detection("no", 4.6, 0.9),    # on another word: false accept
                  Detection("go", 7.3, 0.9),    # wrong keyword during "no": substitution
                  Detection("go", 12.0, 0.9)]   # 1.6 s after "go" ended: too late, false accept
    r = score(detections, events, hours=0.5)
    assert (r["keywords"], r["hits"], r["substitutions"], r["false_accepts"]) == (3, 1, 2, 2)
    assert r["false_accepts_per_hour"] == 4.0 and abs(r["latency_median_s"] - 0.2) < 1e-9
    assert [(f["label"], f["over"], f["word"]) for f in false_accepts(detections, events)] == [
        ("no", "b", "wow"), ("go", "noise", "noise")]


def test_stream_holds_its_clips_where_the_truth_says(data_dir):
    audio, events = build_stream(data_dir, ("yes", "no"), minutes=5.0, seed=3, noise_volume=0.0)
    assert len(audio) == 16000 * 300 and 60 < len(events) < 150
    assert {e.label for e in events} <= {"yes", "no", "_unknown_"}
    assert all(e.word == e.label for e in events if e.label != "_unknown_")
    assert {e.word for e in events if e.label == "_unknown_"} & {"yes", "no", "_unknown_"} == set()
    share = sum(e.label != "_unknown_" for e in events) / len(events)
    assert 0.12 < share < 0.4  # yes and no are a quarter of the validation clips: drawn a quarter of the time
    for e in events:
        start = int(e.start_s * 16000)
        assert np.abs(audio[start : start + 16000]).max() > 0 and e.start_s < e.end_s <= e.start_s + 1
    gaps = np.diff([e.start_s for e in events])
    assert gaps.min() >= 2.0  # 1 s clip + at least 1 s gap: clips never overlap


def test_negatives_add_other_words_only(data_dir, tmp_path):
    """A wake word's stream with Speech Commands as negatives: its "yes" clips are not keywords (nor other words)."""
    names = [f"yes/{i:08x}_nohash_0.wav" for i in range(3)]
    for name in names:
        write_wav(tmp_path / name, tone(0.5))
    (tmp_path / "validation_list.txt").write_text("\n".join(names))
    _, events = build_stream(tmp_path, ("yes",), 2.0, negatives=[data_dir])
    assert {e.clip for e in events if e.label == "yes"} == set(names)
    assert "no" in {e.word for e in events} and "yes" not in {e.word for e in events if e.label != "yes"}


def test_own_share_draws_that_share_of_other_words_from_the_data_folders(data_dir, tmp_path):
    """Tuning a wake word: your own other words ("hello", two takes) are half the other words beside the negatives'
    hundreds; without own words, or without own_share, the stream is what it was."""
    mine = tmp_path / "mine"
    names = [f"yes/{i:08x}_nohash_0.wav" for i in range(3)] + [f"hello/{i:08x}_nohash_0.wav" for i in range(2)]
    for name in names:
        write_wav(mine / name, tone(0.5))
    (mine / "validation_list.txt").write_text("\n".join(names))

    def own_share_of(events):
        others = [e for e in events if e.label != "yes"]
        return sum(e.word == "hello" for e in others) / len(others)

    assert 0.35 < own_share_of(build_stream(mine, ("yes",), 10.0, negatives=[data_dir], own_share=0.5)[1]) < 0.65
    assert own_share_of(build_stream(mine, ("yes",), 10.0, negatives=[data_dir])[1]) < 0.1
    for name in names[3:]:
        (mine / name).unlink()
    assert (build_stream(mine, ("yes",), 2.0, negatives=[data_dir], own_share=0.5)[1]
            == build_stream(mine, ("yes",), 2.0, negatives=[data_dir])[1])


def test_recorded_streams_hear_a_word_in_its_recordings_where_it_has_some(data_dir, tmp_path):
    """A tuning stream of a wake word with held-out recordings and synthetic clips hears only the recordings; a
    word with synthetic clips alone is heard in them; without `recorded` both are heard."""
    from kws.data.synth import SYNTHETIC_SPEAKERS

    voices = sorted(SYNTHETIC_SPEAKERS)[:3]
    names = [f"yes/{v}_nohash_0.wav" for v in voices] + [f"yes/{i:08x}_nohash_0.wav" for i in range(2)]
    names += [f"marvin/{v}_nohash_0.wav" for v in voices]
    for name in names:
        write_wav(tmp_path / name, tone(0.5))
    (tmp_path / "validation_list.txt").write_text("\n".join(names))
    heard = {e.clip for e in build_stream(tmp_path, ("yes", "marvin"), 10.0, negatives=[data_dir], recorded=True)[1]
             if e.label != "_unknown_"}
    assert heard == set(names[3:])
    everything = build_stream(tmp_path, ("yes", "marvin"), 10.0, negatives=[data_dir])[1]
    assert {e.clip for e in everything if e.label != "_unknown_"} == set(names)


def test_eval_stream_command(tiny_run, tmp_path, capsys):
    data, _, model = tiny_run
    png = tmp_path / "det.png"
    assert main(["eval-stream", "--model", str(model), "--data", str(data), "--minutes", "1", "--plot", str(png),
                 "--json", "--save-stream", str(tmp_path / "stream.wav")]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # stdout is the JSON alone
    assert report["result"]["keywords"] > 5 and len(report["sweep"]) > 20
    assert captured.err.startswith("1.0 min stream") and png.stat().st_size > 10_000
    truth = json.loads((tmp_path / "stream.json").read_text())
    assert len(truth) >= report["result"]["keywords"]
    assert 0 < report["keyword_share"] < 1 and "_unknown_" in {e["label"] for e in truth}
    assert report["other_words"] == sum(e["label"] == "_unknown_" for e in truth) > 0  # per 100 other words
    assert main(["eval-stream", "--model", str(model), "--data", str(data), "--minutes", "1", "--keyword-share", "1",
                 "--json"]) == 0
    only_keywords = json.loads(capsys.readouterr().out)
    assert only_keywords["keyword_share"] == 1.0 and only_keywords["result"]["keywords"] > len(truth) * 0.8
    assert only_keywords["other_words"] == 0
    assert main(["eval-stream", "--model", str(model), "--data", str(data), "--minutes", "1", "--stride-ms", "160",
                 "--json"]) == 0
    slower = json.loads(capsys.readouterr().out)
    assert slower["settings"]["stride_ms"] == 160
    assert report["settings"]["stride_ms"] == Model(model).metadata.detection.stride_ms != 160
    assert main(["eval-stream", "--model", str(model), "--data", str(data), "--minutes", "1", "--smoothing-ms", "1500",
                 "--json"]) == 0
    longer = json.loads(capsys.readouterr().out)  # the same stream, its posteriors averaged over 1.5 s
    assert longer["settings"]["smoothing_ms"] == 1500 != report["settings"]["smoothing_ms"]
    assert [r["hits"] for r in longer["sweep"]] != [r["hits"] for r in report["sweep"]]
    assert main(["eval-stream", "--model", str(model), "--data", str(data), "--minutes", "1", "--stride-ms", "30"]) == 2
    assert "pick a multiple of 20" in capsys.readouterr().err


def test_smoothing_a_single_inference_trace_is_the_detectors_smoothing(shipped_model, data_dir):
    audio, _ = build_stream(data_dir, keywords(shipped_model.labels), 0.5, "validation", seed=2)
    base = DetectorSettings.from_metadata(shipped_model.metadata)
    single = dataclasses.replace(base, smoothing_ms=base.stride_ms)
    times, raw = posterior_trace(shipped_model, audio, single)
    for smoothing in (400.0, 1000.0):
        settings = dataclasses.replace(base, smoothing_ms=smoothing)
        t, posts = posterior_trace(shipped_model, audio, settings)
        assert np.array_equal(t, times) and not np.allclose(posts, raw)
        assert np.allclose(smoothed(raw, settings.smooth_inferences(shipped_model.config.hop_ms)), posts, atol=1e-6)


def test_tuning_takes_the_best_score_of_equals_the_lowest_threshold_or_with_slack_the_highest_near_it():
    row = lambda threshold, hits, fa: {"threshold": threshold, "keywords": 100, "hit_rate": hits / 100,
                                       "substitutions": 0, "false_accepts_per_hour": fa}
    short, long = DetectorSettings(smoothing_ms=200.0), DetectorSettings(smoothing_ms=500.0)
    candidates = [(short, row(0.6, 90, 0)), (short, row(0.5, 91, 2)), (short, row(0.7, 85, 0)),
                  (long, row(0.55, 90, 0)), (long, row(0.8, 90, 0)), (long, row(0.4, 95, 200))]
    assert best_setting(candidates) == (long, candidates[3][1])  # 0.9 ties three times: the lowest threshold
    assert best_setting(candidates[:3]) == (short, candidates[0][1])  # 0.5 finds more, its false accepts cost more
    assert best_setting(candidates, fa_weight=0.0) == (long, candidates[5][1])  # false accepts weigh nothing
    assert best_setting(candidates[:3] + [(long, row(0.6, 90, 0))]) == (short, candidates[0][1])  # first window
    near = candidates + [(short, row(0.85, 89, 0)), (short, row(0.9, 88, 0))]
    assert best_setting(near, slack=0.01) == (short, near[6][1])  # 0.89 is within 0.01 of 0.9: the highest such
    # a wake word: the most hits within 2 false accepts per hour, then the highest threshold within 0.01 of them
    assert best_setting(near, max_false_accepts=2) == (short, near[1][1])  # 0.91 at 2 per hour: the most
    assert best_setting(near, slack=0.01, max_false_accepts=2) == (long, near[4][1])  # 0.9 within 0.01, at 0.8
    assert best_setting(near, slack=0.02, max_false_accepts=2) == (short, near[6][1])  # 0.89 within 0.02, at 0.85
    assert best_setting(near, max_false_accepts=1) == (long, near[3][1])  # 0.9 ties: the lowest threshold
    loud = [(short, row(0.5, 91, 9)), (short, row(0.6, 80, 5)), (long, row(0.7, 70, 5))]
    assert best_setting(loud, slack=0.01, max_false_accepts=2) == (short, loud[1][1])  # none within: the fewest


def test_tuning_picks_the_best_of_its_own_sweep(shipped_model, data_dir):
    smoothings = (200.0, 500.0)
    settings, measured = tune_detection(shipped_model, data_dir, minutes=1.0, smoothing_options=smoothings)
    audio, events = build_stream(data_dir, keywords(shipped_model.labels), 1.0, "validation", seed=1)
    rows = []
    for smoothing in smoothings:
        tried = DetectorSettings(smoothing_ms=smoothing, stride_ms=shipped_model.metadata.detection.stride_ms)
        times, posts = posterior_trace(shipped_model, audio, tried)
        rows += [(tuning_score(r), smoothing, r) for r in sweep(
            times, posts, shipped_model.labels, tried, events, 1.0 / 60, TUNE_THRESHOLDS)]
    best = max(v for v, *_ in rows)
    chosen = [r for v, s, r in rows if (r["threshold"], s) == (settings.threshold, settings.smoothing_ms)]
    assert len(chosen) == 1 and tuning_score(chosen[0]) == best  # the detector itself scores what the sweep did
    assert settings.threshold == min(r["threshold"] for v, s, r in rows if v == best)
    assert measured["hit_rate"] == round(chosen[0]["hit_rate"], 4)
