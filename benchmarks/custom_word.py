"""A custom wake word end to end, scored on real speech never used in training: one person's own word (the
one-speaker protocol), or a word of many speakers (cross-speaker).

    python benchmarks/custom_word.py --protocol one-speaker --word eight --speaker lucas [--real-train 40]
    python benchmarks/custom_word.py --protocol one-speaker --grid --pairs five:lucas,nine:nicolas \\
        --counts 40,20,10 --out runs/one_speaker      # the runs not yet in OUT, then the table of medians
    python benchmarks/custom_word.py --protocol one-speaker --grid ... --rescore  # score the runs in OUT again
    python benchmarks/custom_word.py --word eight --real-train 50 --held-out validation
    python benchmarks/custom_word.py --word happy --real-train 20 --one-each --held-out validation
    python benchmarks/custom_word.py --word marvin [--synth 400] [--real-train 0] [--fold 0]

Both train `kws train --wake-word WORD` as a user would (`train_and_quantize`): synthetic examples (`kws synth`,
--synth of them, from --engine's voices, espeak-ng's by default, with --transform's) plus real takes, with the other words of every data folder as negatives (the rule of
`--negatives`: their clips of WORD are left out). The wall time of synthesis, training, quantization and tuning is
reported; the stream evaluation is not in it.

One-speaker (`--protocol one-speaker`): a user records a word ~50 times, then expects it found in their own later
speech and not in their other words or other people's. WORD is a digit and --speaker one of the Free Spoken Digit
speakers of its validation split, lucas or nicolas: the shipped model trained on the other four's digits, so they
would not be new voices. The other speakers are "other people" here.
The speaker's first --real-train takes of WORD (by take number; default 40) train, the other 50 - N are held out;
the negatives are Speech Commands and the other FSDD speakers (the speaker's own other digits are not trained on:
a user does not record them). Validation during training sees only synthetic clips of WORD. The stream (--minutes,
default 60) holds the held-out takes (a quarter of the clips, so each take recurs at many offsets and noise levels),
the speaker's other nine digits ("same speaker"), other people's words (Speech Commands' validation speakers and
the other FSDD validation speaker: "other people") and other people's WORD (counted apart: a personal wake word
may or may not fire for them), over background noise. Reported (OUT/summary.json; the sweep in OUT/stream.json,
the DET curve in OUT/det.png): hit rate and false accepts per hour by kind at the tuned defaults, other people's
WORD fired on per clip of it, and the best hit rate at <= 1 false accept per hour (same speaker + other people +
noise) across thresholds.

Cross-speaker (default): the real clips of WORD in the Speech Commands folder train and are held out by:
- `--held-out rest` (default): the first --real-train clips train (with --fold 1 the last ones, so that the two
  folds' held-out speakers differ), the remaining clips are held out;
- `--held-out validation`: the word's validation-split clips are held out (speakers the shipped model never
  trained on), and --real-train clips of the training split train, from the speakers with the most takes.
The held-out clips, all from speakers not in training, are the positives of a long stream with the validation
speakers' other words (Speech Commands and FSDD) over background noise."""

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

from kws.data.clips import speaker_of
from kws.data.speech_commands import AUDIO_SUFFIXES, SpeechCommands, which_set
from kws.data.synth import DEFAULT_ENGINES, TRANSFORMS, synthesize
from kws.data.voices import ENGINES
from kws.metadata import load_model_file
from kws.model.recipe import train_and_quantize, train_config
from kws.model.run import run_model
from kws.options import on_off
from kws.paths import DEFAULT_DATA, DEFAULT_INIT, DIGITS_DATA
from kws.plots import det_curve
from kws.stream_eval import STREAM_MINUTES, best_within, eval_stream


def link_files(dst: Path, files) -> None:
    """`dst` holding symlinks to `files` (a view of the data, never a copy)."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in files:
        (dst / f.name).symlink_to(f.resolve())


def split_by_validation(data: Path, word: str, count: int, one_each: bool = False):
    """(train, held out): `count` training-split clips of `word` from the speakers with the most takes (`one_each`:
    one clip each of `count` speakers, as the data set's rare words have); the word's validation split (the data
    set's own split rule)."""
    clips = [c for c in SpeechCommands(data, words=(word,)).recorded if c.label == word]
    held_out = [c.path for c in clips if c.split == "validation"]
    by_speaker = {}
    for c in clips:
        if c.split == "training":
            by_speaker.setdefault(c.path.name.split("_")[0], []).append(c.path)
    if one_each:
        ranked = sorted(([takes[0]] for takes in by_speaker.values()), key=lambda takes: takes[0].name)
    else:
        ranked = sorted(by_speaker.values(), key=lambda takes: (-len(takes), takes[0].name))
    train = [p for takes in ranked for p in takes][:count]
    if len(train) < count or not held_out:
        raise SystemExit(f"{word}: {len(train)} training-split and {len(held_out)} validation clips: "
                         "too few for --held-out validation")
    return train, held_out


def train_wake_word(args, mine: Path, run: Path, negatives) -> tuple:
    """`kws train --wake-word WORD --data MINE` into `run`, with the benchmark's training options: (its TrainConfig,
    the model's metadata)."""
    config = train_config(wake_words=True, epochs=args.epochs, hard_negatives=args.hard_negatives,
                          word_parts=args.word_parts, other_voices=args.other_voices, seed=args.seed,
                          own_voice_negatives=args.own_voice_negatives)
    return config, train_and_quantize([mine], run, wake_words=(args.word,), negatives=negatives, config=config,
                                      init=None if args.init == "none" else Path(args.init))


def take_number(path: Path) -> int:
    """A take's number: 12 in `seven/jackson_nohash_12.flac`."""
    return int(path.stem.split("_nohash_")[1])


def one_speaker_views(out: Path, data: Path, digits: Path, word: str, speaker: str, count: int, own: int = 0):
    """(training takes, held-out takes, the speaker's first `own` takes of each other digit, FSDD without the
    speaker, the stream's own folder): views (symlinks) of the digits (and of `data`'s validation clips of `word`)
    for the one-speaker protocol."""
    if not (digits / word).is_dir():
        raise SystemExit(f"{word!r} is not a digit of {digits}; pick one of "
                         f"{', '.join(sorted(p.name for p in digits.iterdir() if p.is_dir()))}")
    files = sorted(p for p in digits.glob("*/*") if p.suffix in AUDIO_SUFFIXES)
    speakers = sorted({speaker_of(p) for p in files if which_set(p.name) == "validation"})
    if speaker not in speakers:
        raise SystemExit(f"--speaker {speaker}: pick one of the validation-split speakers {', '.join(speakers)} "
                         "(the shipped model trained on the others)")
    takes = sorted((p for p in files if p.parent.name == word and speaker_of(p) == speaker),
                   key=take_number)
    if not 0 < count < len(takes):
        raise SystemExit(f"{speaker} has {len(takes)} takes of {word}: --real-train must be 1 to {len(takes) - 1}")
    others = out / "fsdd_others"
    for p in files:
        if speaker_of(p) != speaker:
            link_files(others / p.parent.name, [p])
    stream = out / "stream"  # every clip here is listed as validation, whatever the hash rule says
    mine = [p for p in files if speaker_of(p) == speaker and p.parent.name != word]
    own_takes, mine = [p for p in mine if take_number(p) < own], [p for p in mine if take_number(p) >= own]
    validation = [c for c in SpeechCommands(data, words=(word,)).recorded if c.split == "validation"]
    theirs = [c.path for c in validation if c.label == word]
    people = len(validation) - len(theirs)
    digits_validation = [p for p in files
                         if which_set(p.name) == "validation" and speaker_of(p) != speaker]
    theirs += [p for p in digits_validation if p.parent.name == word]
    people += sum(p.parent.name != word for p in digits_validation)
    listed = {f"{word}/{p.name}": p for p in takes[count:]}
    listed |= {f"{word}.others/{p.name}": p for p in theirs}
    for r in range(max(1, round(people / len(mine)))):  # the speaker's own words: half of the other words
        listed |= {f"{p.parent.name}/{p.stem}r{r}{p.suffix}": p for p in mine}
    for name, p in listed.items():
        (stream / name).parent.mkdir(parents=True, exist_ok=True)
        (stream / name).symlink_to(p.resolve())
    (stream / "validation_list.txt").write_text("".join(f"{name}\n" for name in listed))
    return takes[:count], takes[count:], own_takes, others, stream


def kind_of(word: str, speaker: str):
    """A false accept's kind in the one-speaker stream: same speaker, other people, their WORD, or noise."""
    def kind(fa: dict) -> str:
        if fa["word"] == "noise":
            return "noise"
        if fa["word"] == f"{word}.others":
            return "their_word"
        return "same_speaker" if speaker_of(fa["over"]) == speaker else "other_people"
    return kind


def one_speaker(args, out: Path) -> dict:
    """Train and score one run of the one-speaker protocol; returns its summary."""
    count = 40 if args.real_train is None else args.real_train
    start = time.perf_counter()
    if args.rescore:  # the views are made again; the model and the wall time are the run's
        before = json.loads((out / "summary.json").read_text())
        meta = load_model_file(run_model(out / "run"))[1]
        wall, word_parts = before["wall_s"], before["word_parts"]
        for view in ("stream", "fsdd_others"):
            shutil.rmtree(out / view)
    train_real, test_real, own, others, stream = one_speaker_views(out, args.data, args.digits, args.word,
                                                                   args.speaker, count, args.own_negatives)
    negatives = [args.data, others]
    if not args.rescore:
        mine = out / "mine"
        synthesize(args.word, mine, args.synth, seed=0, engines=args.engine, transforms=args.transform or ())
        link_files(mine / args.word, train_real)
        for p in own:  # the user's own other words, recorded beside the wake word
            link_files(mine / p.parent.name, [p])
        config, meta = train_wake_word(args, mine, out / "run", negatives)
        wall, word_parts = time.perf_counter() - start, config.word_parts

    report = eval_stream(run_model(out / "run"), [stream], args.minutes, negatives=negatives,
                         group=kind_of(args.word, args.speaker))
    hours = report["minutes"] / 60
    for row in report["sweep"]:
        by = row["false_accepts_by"]
        row["own_false_accepts_per_hour"] = round((row["false_accepts"] - by.get("their_word", 0)) / hours, 2)
    r = report["result"]
    their_clips = report["other_words_by"].get("their_word", 0)

    def fired_on_theirs(row: dict) -> float:
        return round(row["false_accepts_by"].get("their_word", 0) / max(1, their_clips), 3)

    summary = {
        "protocol": "one-speaker", "word": args.word, "speaker": args.speaker, "real_train": len(train_real),
        "real_held_out": len(test_real), "own_negatives": len(own), "synthetic": args.synth, "init": args.init,
        "word_parts": word_parts, "own_voice_negatives": args.own_voice_negatives or 0,
        "negatives": [str(p) for p in negatives], "wall_s": round(wall), "validation_int8": meta.accuracy["int8"],
        "detection": meta.to_dict()["detection"], "stream_minutes": report["minutes"], "stream_other_words": report["other_words_by"],
        "hit_rate": round(r["hit_rate"], 4), "hits": r["hits"], "keywords": r["keywords"],
        "false_accepts_per_hour": {k: round(r["false_accepts_by"].get(k, 0) / hours, 2)
                                   for k in ("same_speaker", "other_people", "noise")},
        "their_word_fired_per_clip": fired_on_theirs(r),
    }
    budget = best_within(report["sweep"], key="own_false_accepts_per_hour")
    if budget is not None:
        summary["at_most_1_false_accept_per_hour"] = {
            "threshold": budget["threshold"], "hit_rate": budget["hit_rate"],
            "false_accepts_per_hour": budget["own_false_accepts_per_hour"],
            "their_word_fired_per_clip": fired_on_theirs(budget)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    (out / "stream.json").write_text(json.dumps(report, indent=1))
    det_curve([{**row, "false_accepts_per_hour": row["own_false_accepts_per_hour"]} for row in report["sweep"]],
              report["settings"]["threshold"], f"{args.word} of {args.speaker}, {len(train_real)} takes: "
              f"{report['minutes']:.0f} min, other people's {args.word} not counted", out / "det.png")
    fa = summary["false_accepts_per_hour"]
    print(json.dumps(summary))
    print(f"{args.word} of {args.speaker}, {len(train_real)} takes: {r['hits']}/{r['keywords']} held-out events "
          f"({100 * r['hit_rate']:.1f} %), false accepts per hour: same speaker {fa['same_speaker']:g}, other people "
          f"{fa['other_people']:g}, noise {fa['noise']:g}; other people's {args.word} fired on "
          f"{100 * summary['their_word_fired_per_clip']:.0f} % of {their_clips}; {wall / 60:.1f} min to synthesize, "
          f"train, quantize and tune")
    if budget is not None:
        print(f"at <= 1 false accept per hour (threshold {budget['threshold']:g}): {100 * budget['hit_rate']:.1f} %")
    return summary


def grid(args) -> None:
    """The one-speaker runs of every word:speaker pair x count not yet in OUT, then the medians per count."""
    pairs = [pair.split(":") for pair in args.pairs.split(",")]
    if any(len(pair) != 2 for pair in pairs):
        raise SystemExit(f"--pairs {args.pairs}: give WORD:SPEAKER pairs, e.g. five:lucas,nine:nicolas")
    rows = []
    for count in (int(c) for c in args.counts.split(",")):
        for word, speaker in pairs:
            out = args.out / f"{word}_{speaker}_{count}"
            done = out / "summary.json"
            if not done.is_file() and out.exists():
                raise SystemExit(f"{out} holds an unfinished run; remove it")
            if args.rescore or not done.is_file():
                one_speaker(argparse.Namespace(**{**vars(args), "word": word, "speaker": speaker,
                                                 "real_train": count, "rescore": done.is_file()}), out)
            rows.append(json.loads(done.read_text()))
    print("| takes | runs | hit rate at the tuned default (min-max) | false accepts/h same speaker / other people "
          "/ noise | best hit rate at <= 1 false accept/h (min-max) | other people's word fired on | minutes |")
    print("|---|---|---|---|---|---|---|")
    for count in sorted({r["real_train"] for r in rows}):
        runs = [r for r in rows if r["real_train"] == count]
        med = statistics.median
        hit = [100 * r["hit_rate"] for r in runs]
        best = [100 * r.get("at_most_1_false_accept_per_hour", {}).get("hit_rate", 0) for r in runs]
        fa = "/".join(f"{med([r['false_accepts_per_hour'][k] for r in runs]):g}"
                      for k in ("same_speaker", "other_people", "noise"))
        print(f"| {count} | {len(runs)} | {med(hit):.1f} % ({min(hit):.1f}-{max(hit):.1f}) | {fa} | {med(best):.1f} % "
              f"({min(best):.1f}-{max(best):.1f}) | {100 * med([r['their_word_fired_per_clip'] for r in runs]):.0f} % "
              f"| {med([r['wall_s'] for r in runs]) / 60:.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=("cross-speaker", "one-speaker"), default="cross-speaker")
    parser.add_argument("--word", default="marvin")
    parser.add_argument("--speaker", default="lucas", help="one-speaker: the FSDD speaker (default lucas)")
    parser.add_argument("--grid", action="store_true",
                        help="one-speaker: run --pairs x --counts into OUT/WORD_SPEAKER_N (those not there yet) and "
                             "print the table of medians")
    parser.add_argument("--pairs", default="five:lucas,nine:nicolas",
                        help="with --grid: WORD:SPEAKER pairs (default five:lucas,nine:nicolas)")
    parser.add_argument("--counts", default="40,20,10", help="with --grid: takes trained on (default 40,20,10)")
    parser.add_argument("--own-negatives", type=int, default=0, metavar="K",
                        help="one-speaker: the speaker's first K takes of each other digit go into the user's "
                             "folder, as a user who records a few of their other words: they train, every fifth "
                             "tunes the threshold (left out of the stream; default 0)")
    parser.add_argument("--data", default=DEFAULT_DATA, type=Path, help="the Speech Commands folder")
    parser.add_argument("--digits", default=DIGITS_DATA, type=Path, help="the Free Spoken Digit folder")
    parser.add_argument("--synth", type=int, default=400, help="synthetic examples (default 400)")
    parser.add_argument("--engine", action="append", choices=list(ENGINES),
                        help=f"text-to-speech engines, as `kws synth --engine` (default {' and '.join(DEFAULT_ENGINES)})")
    parser.add_argument("--transform", action="append", choices=TRANSFORMS,
                        help="voice transforms, as `kws synth --transform` (default none)")
    parser.add_argument("--real-train", type=int,
                        help="real clips of the word used for training (default 40 one-speaker, 0 cross-speaker)")
    parser.add_argument("--one-each", action="store_true",
                        help="with --held-out validation: one clip each of --real-train speakers, not the speakers "
                             "with the most takes")
    parser.add_argument("--fold", type=int, default=0,
                        help="which real clips train: 0 the first --real-train, 1 the last ones, 2 the ones before, ...")
    parser.add_argument("--held-out", choices=("rest", "validation"), default="rest",
                        help="held-out positives: the clips not trained on (default), or the word's validation split")
    parser.add_argument("--init", default=str(DEFAULT_INIT),
                        help="model to start from, as `kws train --init` (default the shipped one; none: from scratch)")
    parser.add_argument("--confusable", default="", metavar="W1,W2",
                        help="words that sound like WORD, synthesized as extra negatives (--synth / 4 clips each)")
    wake = train_config(wake_words=True)
    parser.add_argument("--epochs", type=int,
                        help=f"as `kws train --epochs` (default {wake.epochs}, as `kws train --wake-word`)")
    parser.add_argument("--hard-negatives", type=float,
                        help=f"as `kws train --hard-negatives` (default {wake.hard_negatives:g}, as `kws train "
                             "--wake-word`)")
    parser.add_argument("--word-parts", type=on_off, metavar="on|off", help="as `kws train --word-parts`")
    parser.add_argument("--other-voices", type=int, metavar="K",
                        help=f"as `kws train --other-voices` (default {wake.other_voices}, as `kws train --wake-word`)")
    parser.add_argument("--own-voice-negatives", type=int, metavar="N",
                        help=f"as `kws train --own-voice-negatives` (default {wake.own_voice_negatives})")
    parser.add_argument("--seed", type=int, default=0, help="training seed, as `kws train --seed` (default 0)")
    parser.add_argument("--minutes", type=float, default=STREAM_MINUTES, help="evaluation stream length")
    parser.add_argument("--rescore", action="store_true",
                        help="one-speaker: score the model of the run in OUT again (after a change to the scoring); "
                             "its wall time stays the one measured")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.grid:
        args.out = args.out or Path("runs") / "one_speaker"
        return grid(args)
    out = args.out or Path("runs") / f"custom_{args.word}"
    if args.rescore and args.protocol == "one-speaker":
        if not (out / "summary.json").is_file():
            raise SystemExit(f"--rescore: {out} holds no finished run")
        return one_speaker(args, out)
    if out.exists():
        raise SystemExit(f"{out} exists; remove it or pass another --out")
    if args.protocol == "one-speaker":
        return one_speaker(args, out)
    args.real_train = args.real_train or 0
    real = sorted(p for p in (args.data / args.word).iterdir() if p.suffix in AUDIO_SUFFIXES)
    if args.held_out == "validation":
        train_real, test_real = split_by_validation(args.data, args.word, args.real_train, args.one_each)
    else:
        first = len(real) - args.fold * args.real_train if args.fold else 0
        if first < 0:
            raise SystemExit(f"{args.word} has {len(real)} clips: too few for fold {args.fold} of {args.real_train}")
        train_real = real[first : first + args.real_train]
        test_real = [p for p in real if p not in train_real]

    start = time.perf_counter()
    mine = out / "mine"
    synthesize(args.word, mine, args.synth, seed=0, engines=args.engine, transforms=args.transform or ())
    for i, other in enumerate(w for w in args.confusable.split(",") if w):
        synthesize(other, mine, args.synth // 4, seed=1 + i, engines=args.engine, transforms=args.transform or ())
    link_files(mine / args.word, train_real)
    negatives = [args.data, args.digits]  # their clips of the word are left out
    held_out = out / "held_out"
    link_files(held_out / args.word, test_real)
    (held_out / "validation_list.txt").write_text("".join(f"{args.word}/{p.name}\n" for p in test_real))
    prepared = time.perf_counter()

    run = out / "run"
    config, meta = train_wake_word(args, mine, run, negatives)
    trained = time.perf_counter()

    report = eval_stream(run_model(run), [held_out], args.minutes, negatives=negatives)
    r = report["result"]
    summary = {
        "word": args.word, "synthetic": args.synth, "real_train": len(train_real),
        "real_train_speakers": len({p.name.split("_")[0] for p in train_real}), "fold": args.fold,
        "held_out": args.held_out, "one_each": args.one_each, "other_voices": config.other_voices,
        "own_voice_negatives": config.own_voice_negatives, "seed": args.seed,
        "engines": args.engine, "transforms": args.transform, "init": args.init, "confusable": args.confusable,
        "real_held_out": len(test_real), "data_s": round(prepared - start), "train_and_export_s": round(trained - prepared),
        "validation_int8": meta.accuracy["int8"], "detection": meta.to_dict()["detection"], "tuned_on": meta.tuned_on,
        "stream_minutes": report["minutes"], "hit_rate": round(r["hit_rate"], 4), "hits": r["hits"],
        "keywords": r["keywords"], "false_accepts": r["false_accepts"],
        "false_accepts_per_hour": round(r["false_accepts_per_hour"], 2),
    }
    budget = best_within(report["sweep"])
    if budget is not None:
        summary["at_most_1_false_accept_per_hour"] = {k: budget[k] for k in ("threshold", "hit_rate", "false_accepts")}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    (out / "stream.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(summary))
    print(f"{args.word}: {r['hits']}/{r['keywords']} held-out keyword events detected ({100 * r['hit_rate']:.1f} %, "
          f"{len(test_real)} real speakers never trained on), {r['false_accepts_per_hour']:.2f} false accepts per hour "
          f"over {report['minutes']:.0f} min; synthesis {prepared - start:.0f} s, training + export "
          f"{trained - prepared:.0f} s")
    if budget is not None:
        print(f"at <= 1 false accept per hour (threshold {budget['threshold']:g}, the model's smoothing): "
              f"{100 * budget['hit_rate']:.1f} % detected")


if __name__ == "__main__":
    main()
