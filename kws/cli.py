"""The `kws` command: argument parsing and dispatch only; each subcommand calls one function elsewhere, and the
help states each default from the setting that owns it."""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import sys
from collections import Counter
from pathlib import Path

from . import __version__
from .data.cache import cache_folder
from .data.record import TAKES, record_session
from .data.speech_commands import SPLITS
from .data.synth import CLIPS, DEFAULT_ENGINES, ENGINES, SEED, TRANSFORMS, synthesize, voice_table
from .errors import KwsError
from .features import KINDS, FeatureConfig
from .metadata import ModelMetadata
from .model import import_keras
from .model.evaluate import RUNTIMES
from .model.network import ARCHS
from .model.recipe import DEFAULT_RUN, network_config, train_and_quantize, train_config
from .model.run import run_model
from .options import (blocks, channels, count, count_or_off, dropout, learning_rate, minutes, on_off,
                      score, seconds, seed, share, smoothing_ms, stride_ms, tune_minutes, voices, volume,
                      weight)
from .outputs import image_file, output_file
from .paths import DEFAULT_DATA, DEFAULT_INIT, DEFAULT_MODEL, DIGITS_DATA, TRAINING_DATA
from .stream_eval import (MIN_KEYWORD_SHARE, NOISE_VOLUME, STREAM_MINUTES, STREAM_SEED, STREAM_SPLIT, TUNE_MINUTES,
                          eval_stream)


def _features(args) -> None:
    from .audio import read_audio
    from .features import mfcc, num_frames

    config = FeatureConfig()
    if args.plot:
        image_file(args.plot, "--plot")
    audio, notes = read_audio(args.file, config.sample_rate)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if num_frames(len(audio), config) == 0:
        raise KwsError(f"{args.file}: {len(audio)} samples, shorter than one {config.window_ms:g} ms window; use a longer recording")
    features = mfcc(audio, config)
    print(f"{args.file}: {len(audio) / config.sample_rate:.3f} s -> features {features.shape[0]} frames x {features.shape[1]} MFCCs")
    print(f"  {config.window_ms:g} ms window, {config.hop_ms:g} ms hop, {config.n_mels} mel bands "
          f"{config.fmin:g}-{config.fmax:g} Hz, lifter {config.lifter}; one inference sees {config.n_frames} frames")
    print(f"  {'coef':>4} {'mean':>9} {'std':>9} {'min':>9} {'max':>9}")
    for i, col in enumerate(features.T):
        print(f"  {i:>4} {col.mean():9.2f} {col.std():9.2f} {col.min():9.2f} {col.max():9.2f}")
    if args.plot:
        from .plots import mfcc_image

        mfcc_image(audio, features, config.sample_rate, config.hop_length, str(args.file), args.plot)
        print(f"wrote {args.plot}")


def _data_stats(args) -> None:
    from .data.speech_commands import SpeechCommands

    stats = SpeechCommands(args.dir).stats()
    if args.json:
        print(json.dumps(stats))
        return
    print(f"{'class':<10}" + "".join(f"{s:>12}" for s in SPLITS))
    for label, counts in stats.items():
        print(f"{label:<10}" + "".join(f"{counts[s]:>12}" for s in SPLITS))
    print(f"{'total':<10}" + "".join(f"{sum(c[s] for c in stats.values()):>12}" for s in SPLITS))
    print("(_silence_ is generated from _background_noise_: 10% of each split, unless the folder has _silence_ clips)")


def _train(args) -> None:
    cache_dir = cache_folder(args.cache_dir)
    import_keras("kws train")
    config = train_config(bool(args.wake_word), epochs=args.epochs, batch_size=args.batch_size,
                          learning_rate=args.lr, seed=args.seed, limit_per_class=args.limit_per_class,
                          distill_weight=args.distill_weight, hard_negatives=args.hard_negatives,
                          word_head=args.word_head, word_parts=args.word_parts, unknown_weight=args.unknown_weight,
                          word_class_clips=args.word_classes, other_voices=args.other_voices,
                          qat_epochs=args.qat_epochs, own_voice_negatives=args.own_voice_negatives)
    model_config = network_config(bool(args.wake_word), arch=args.arch, channels=args.channels, blocks=args.blocks,
                                  dropout=args.dropout, streamable=args.streamable or None)
    meta = train_and_quantize(args.data, args.out, wake_words=args.wake_word, negatives=args.negatives,
                              init=None if args.init == "none" else args.init, config=config,
                              model_config=model_config, feature_config=FeatureConfig(kind=args.features),
                              resume=args.resume, force=args.force, cache_dir=cache_dir, teacher=args.teacher,
                              tune_minutes=args.tune_minutes)
    _print_model(meta, run_model(args.out))


def _quantize(args) -> None:
    from .model.quantize import quantize_run

    cache_dir = cache_folder(args.cache_dir)
    import_keras("kws quantize")
    out = args.out or run_model(args.run)
    _print_model(quantize_run(args.run, out, args.data, cache_dir, args.tune_minutes, args.force), out)


def _print_model(meta: ModelMetadata, path) -> None:
    """What `kws quantize` made: the file, its validation accuracy, its detection defaults."""
    acc, d, tuned = meta.accuracy, meta.detection, meta.tuned_on
    print(f"wrote {path} ({Path(path).stat().st_size} bytes) and {Path(path).with_suffix('.keras')}")
    print(f"validation accuracy ({acc['n']} clips): float {acc['float']:.4f}, int8 {acc['int8']:.4f}")
    print(f"detection defaults: threshold {d.threshold:g}, smoothing {d.smoothing_ms:g} ms"
          + (f" (on a {tuned['minutes']:g} min stream: {100 * tuned['hit_rate']:.1f} % hits, "
             f"{tuned['false_accepts_per_hour']:g} false accepts per hour)" if tuned else ""))


def _evaluate(args) -> None:
    from .model.evaluate import evaluate

    if args.plot:
        image_file(args.plot, "--plot")
    if "float" in args.runtime:
        import_keras("--runtime float", ", or use --runtime litert")
    data = args.data or [DEFAULT_DATA]
    report = evaluate(args.model, data, args.split, args.runtime, cache_folder(args.cache_dir))
    labels = report["labels"]
    for runtime, result in report["results"].items():
        print(f"{runtime}: accuracy {result['accuracy']:.4f} on {result['n']} clips ({args.split} split of "
              f"{' + '.join(data)})")
        for label, r in result["per_class"].items():
            acc = "-" if r["accuracy"] is None else f"{r['accuracy']:.4f}"
            print(f"  {label:<10} {r['n']:>6}  {acc}")
        other = result["other_words"]
        if other["per_word"]:
            print(f"  other words, each word's share called _unknown_ (balanced {other['balanced']:.4f}, "
                  f"worst {other['worst']:.4f}):")
            for word, w in other["per_word"].items():
                mistaken = ", ".join(f"{label} {n}" for label, n in sorted(w["called"].items(), key=lambda x: -x[1]))
                print(f"    {word:<10} {w['n']:>6}  {w['accuracy']:.4f}" + (f"  (called {mistaken})" if mistaken else ""))
    first = report["results"][args.runtime[0]]
    if args.plot:
        from .plots import confusion_matrix

        confusion_matrix(first["confusion"], labels, f"{Path(args.model).name} ({args.runtime[0]}), {args.split}: "
                         f"accuracy {first['accuracy']:.4f}", args.plot, first["other_words"]["per_word"])
        print(f"wrote {args.plot}")
    if args.json:
        print(json.dumps({"model": str(args.model), "split": args.split, "runtime": args.runtime[0],
                          "n": first["n"], "accuracy": first["accuracy"], "per_class": first["per_class"],
                          "other_words": first["other_words"]["balanced"], "per_word": first["other_words"]["per_word"],
                          "runtimes": report["results"]}))


def _detect(args) -> None:
    from .audio import read_audio
    from .detector import DetectorSettings, detect_audio
    from .runtime import Model

    model = Model(args.model)
    audio, notes = read_audio(args.file, model.config.sample_rate)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    settings = DetectorSettings.from_metadata(model.metadata, threshold=args.threshold)
    detections = detect_audio(model, audio, settings)
    if args.json:
        print(json.dumps([d.to_dict() for d in detections]))
        return
    for d in detections:
        print(f"{d.time_s:9.2f} s  {d.label:<6} score {d.score:.2f}")
    print(f"{len(detections)} detection(s) in {len(audio) / model.config.sample_rate:.1f} s of {args.file} "
          f"(threshold {settings.threshold:g})", file=sys.stderr)


def _listen(args) -> None:
    from .listen import listen
    from .microphone import list_devices

    if args.list_devices:
        print(list_devices())
        return
    listen(args.model, args.device, args.threshold, args.duration)


def _eval_stream(args) -> None:
    if args.plot:
        image_file(args.plot, "--plot")
    if args.save_stream:
        output_file(args.save_stream, "--save-stream", (".wav",))
    report = eval_stream(args.model, args.data or TRAINING_DATA, args.minutes, args.split, args.seed,
                         args.noise_volume, args.threshold, args.save_stream, args.keyword_share, args.stride_ms,
                         args.negatives or (), smoothing_ms=args.smoothing_ms)
    r = report["result"]
    text = sys.stderr if args.json else sys.stdout  # with --json, stdout is the JSON alone
    latency = (f"latency after the word ends median {r['latency_median_s']:.2f} s, p90 {r['latency_p90_s']:.2f} s"
               if r["hits"] else "latency: none detected")
    print(f"{report['minutes']:.1f} min stream ({args.split} speakers, {report['keyword_share']:.0%} keywords, noise "
          f"volume < {args.noise_volume:g}, seed {args.seed}): {r['hits']}/{r['keywords']} keywords detected "
          f"({100 * r['hit_rate']:.1f} %), {r['substitutions']} substitutions, {r['false_accepts']} false accepts "
          f"({r['false_accepts_per_hour']:.2f} per hour), {latency} "
          f"(threshold {report['settings']['threshold']:g}, an inference every {report['settings']['stride_ms']:g} ms)",
          file=text)
    for fa in report["false_accepts"]:
        print(f"  false accept at {fa['time_s']:.2f} s: {fa['label']} ({fa['score']:.2f}) over {fa['over']}", file=text)
    if report["false_accepts"]:
        words = Counter(fa["word"] for fa in report["false_accepts"])
        print("  false accepts by the word under them: " + ", ".join(f"{w} {n}" for w, n in words.most_common()), file=text)
    if args.plot:
        from .plots import det_curve

        det_curve(report["sweep"], report["settings"]["threshold"],
                  f"{Path(args.model).name}: {report['minutes']:.0f} min stream, {args.split} speakers", args.plot)
        print(f"wrote {args.plot}", file=text)
    if args.json:
        print(json.dumps(report))


def _export_firmware(args) -> None:
    from .firmware import export_firmware

    written = export_firmware(args.model, args.out, args.board, args.library, args.force)
    print(f"wrote {len(written)} files to {args.out}: "
          + ("the kws Arduino library; copy it into your sketchbook's libraries folder" if args.library else
             f"a complete sketch; build and flash it with `arduino-cli compile --upload -p PORT {args.out}`"))


def _record(args) -> None:
    written = record_session(args.word, args.out, args.count, device=args.device, speaker=args.speaker)
    print(f"saved {len(written)} take(s) of {args.word!r} under {Path(args.out) / args.word}")


def _data_import(args) -> None:
    from .data.importer import import_recordings

    report = import_recordings(args.src, args.word, args.out)
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"wrote {len(report.written)} new clip(s) of {args.word!r} under {Path(args.out) / args.word}"
          f"{f' ({report.duplicates} already there)' if report.duplicates else ''}"
          f"{f', skipped {len(report.skipped)} file(s)' if report.skipped else ''}")


def _synth(args) -> None:
    if args.list_voices:
        print(voice_table())
        return
    if args.word is None or args.out is None:
        raise KwsError("kws synth needs a WORD and --out DIR (e.g. `kws synth marvin --out mywords`), or "
                       "--list-voices")
    written = synthesize(args.word, args.out, args.count, seed=args.seed, engines=args.engine,
                         transforms=args.transform or ())
    print(f"wrote {len(written)} new synthetic clip(s) of {args.word!r} under {Path(args.out) / args.word}"
          + (f" ({args.count - len(written)} already there; another --seed makes others)"
             if len(written) < args.count else ""))


def _model_arg(p) -> None:
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="model .tflite (default: the shipped model)")


def _folders_arg(p, option: str, text: str) -> None:
    """A repeatable folder option whose default is the training data."""
    p.add_argument(option, action="append", metavar="DIR", help=f"{text} (default {' and '.join(TRAINING_DATA)})")


def _threshold_arg(p, text="detection threshold on the smoothed score (default: the model's)") -> None:
    p.add_argument("--threshold", type=score, help=text)


def _tune_arg(p) -> None:
    p.add_argument("--tune-minutes", type=tune_minutes, default=TUNE_MINUTES,
                   help="length of the stream the detection threshold and smoothing are chosen on "
                        "(default %(default)g; 0 = keep defaults)")


def _cache_arg(p) -> None:
    p.add_argument("--cache-dir", help="feature cache folder (default $KWS_CACHE or ~/.cache/kws)")


def _add_listen(sub) -> None:
    p = sub.add_parser("listen", help="live keyword spotting from the microphone",
                       description="Listen to a microphone (16 kHz mono, or the device's rate resampled) and print "
                                   "each detection with its time and score. Ctrl-C stops with a summary.")
    _model_arg(p)
    p.add_argument("--device", help="input device, by number or name (default: the system's default input)")
    p.add_argument("--list-devices", action="store_true", help="list the input devices and exit")
    _threshold_arg(p)
    p.add_argument("--duration", type=seconds, metavar="S", help="stop after S seconds of audio")
    p.set_defaults(handler=_listen)


def _add_detect(sub) -> None:
    p = sub.add_parser("detect", help="find keywords in a recording",
                       description="Run the streaming detector over a recording of any length (wav, flac, ...; "
                                   "other rates and channel counts are converted, with a note). The end is "
                                   "padded with silence to complete the last window and stride, so a 1 s clip "
                                   "of a word is scored as a whole (a shorter one padded to 1 s).")
    p.add_argument("file", help="recording")
    _model_arg(p)
    _threshold_arg(p)
    p.add_argument("--json", action="store_true", help='print one JSON list of {"label", "time_s", "score"}')
    p.set_defaults(handler=_detect)


def _add_eval_stream(sub) -> None:
    p = sub.add_parser("eval-stream", help="hit rate, false accepts per hour and latency on a long noisy stream",
                       description="Build a long stream of unseen speakers' keyword and other-word clips over "
                                   "background noise, run the detector, and report hit rate, false accepts per "
                                   "hour and latency, with a DET curve across thresholds.")
    _model_arg(p)
    _folders_arg(p, "--data", "Speech Commands layout folder; repeat it to draw from several, e.g. your own word's "
                              "folder")
    p.add_argument("--negatives", action="append", metavar="DIR",
                   help="folder of other words only, as in `train --wake-word`: its clips of the model's keywords "
                        "are left out; repeat it for several")
    p.add_argument("--split", default=STREAM_SPLIT, help="whose clips (default %(default)s: unseen speakers)")
    p.add_argument("--minutes", type=minutes, default=STREAM_MINUTES, help="stream length (default %(default)g)")
    p.add_argument("--noise-volume", type=volume, default=NOISE_VOLUME,
                   help="background noise volume up to (default %(default)g)")
    p.add_argument("--seed", type=seed, default=STREAM_SEED, help="stream seed (default %(default)s)")
    p.add_argument("--keyword-share", type=share, metavar="P",
                   help="share of the clips that are keywords, the rest other words (default: the split's own share, "
                        f"at least {MIN_KEYWORD_SHARE:g}; 1 = keywords over background noise only)")
    _threshold_arg(p, "threshold to report (default: the model's)")
    p.add_argument("--stride-ms", type=stride_ms, metavar="MS",
                   help=f"run the model every MS of audio, a multiple of the {FeatureConfig.hop_ms:g} ms hop "
                        "(default: the model's), e.g. to see what a slower board would cost")
    p.add_argument("--smoothing-ms", type=smoothing_ms, metavar="MS",
                   help="average the posteriors over MS of inferences (default: the model's)")
    p.add_argument("--save-stream", metavar="WAV", help="also write the stream and its ground truth (.json)")
    p.add_argument("--plot", metavar="PNG", help="draw the DET curve to this PNG")
    p.add_argument("--json", action="store_true", help="print the result, settings and sweep as JSON (summary to stderr)")
    p.set_defaults(handler=_eval_stream)


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="accuracy per class and confusion matrix of a model on a data folder",
                       description="Score a model on folders in Speech Commands layout (also the official test set: "
                                   "_silence_/, _unknown_/ and the ten words). Other words are scored per word (the "
                                   "folder's name, or the file name's prefix in the test set's _unknown_/), and "
                                   "their mean is the balanced other-word score.")
    _model_arg(p)
    p.add_argument("--data", action="append", metavar="DIR",
                   help=f"data folder; repeat it to score several together, e.g. --data {DEFAULT_DATA} "
                        f"--data {DIGITS_DATA} (default {DEFAULT_DATA})")
    p.add_argument("--split", default="validation", choices=(*SPLITS, "all"),
                   help="which clips to score (default %(default)s; all = every clip in the folder)")
    runtime = "litert"
    p.add_argument("--runtime", nargs="+", default=[runtime], choices=RUNTIMES,
                   help="float (Keras, needs the .keras beside the model), litert (int8) and/or tflm (int8 under "
                        f"TFLite Micro); default {runtime}")
    p.add_argument("--json", action="store_true",
                   help="end with one JSON line: n, accuracy, per_class, other_words (balanced), per_word, runtimes")
    p.add_argument("--plot", metavar="PNG", help="draw the confusion matrix, a row per other word, to this PNG")
    _cache_arg(p)
    p.set_defaults(handler=_evaluate)


def _add_train(sub) -> None:
    c, wake = train_config(), train_config(wake_words=True)
    m, wake_m = network_config(), network_config(wake_words=True)
    p = sub.add_parser("train", help="train a network (the 12 classes, or your wake words), then quantize it",
                       description="Train the network (Keras; --arch) with augmentation, class weights and a cosine schedule; "
                                   "checkpoints every epoch to OUT, then writes OUT/model.tflite (int8, with "
                                   "metadata and tuned detection defaults) and OUT/model.keras. With --wake-word: "
                                   "classes _silence_, _unknown_ and your words; DATA/WORD/ clips are the positives, "
                                   "DATA's other words and the NEGATIVES folders' words and background noise "
                                   "the negatives (their clips of your words left out); your "
                                   "recordings carry at least half of a word's weight against `kws synth` clips.")
    _folders_arg(p, "--data", "data folder (with --wake-word: the one holding WORD/); repeat it to use several")
    p.add_argument("--wake-word", action="append", metavar="WORD", help="train for this word (repeat for more)")
    _folders_arg(p, "--negatives", "with --wake-word: folder of other words and noise, its clips of your words left "
                                   "out; repeat it to use several")
    p.add_argument("--init", default=str(DEFAULT_INIT),
                   help="with --wake-word: start from this .keras model's weights (default: the shipped model; none = from scratch)")
    p.add_argument("--out", default=DEFAULT_RUN, help="run folder for checkpoints and the model (default %(default)s)")
    p.add_argument("--epochs", type=count, help=f"epochs (default {c.epochs}; {wake.epochs} with --wake-word)")
    p.add_argument("--batch-size", type=count, help=f"batch size (default {c.batch_size})")
    p.add_argument("--lr", type=learning_rate, help=f"peak learning rate (default {c.learning_rate:g})")
    p.add_argument("--channels", type=channels,
                   help=f"width: a DS-CNN's channels, a TC-ResNet's first layer's, a BC-ResNet's first stage's "
                        f"(default {m.channels})")
    p.add_argument("--blocks", type=blocks,
                   help=f"blocks: depthwise-separable (DS-CNN), residual (TC-ResNet) or stages (BC-ResNet, up to 4); "
                        f"default {m.blocks}")
    p.add_argument("--arch", choices=ARCHS, help=f"network family (default {m.arch}): ds-cnn (depthwise-separable "
                   "CNN), tc-resnet (temporal convolutions, the features as channels) or bc-resnet (broadcasted "
                   "residual, for --features log-mel)")
    p.add_argument("--features", choices=KINDS, default=FeatureConfig.kind,
                   help=f"the front end: {FeatureConfig.n_mfcc} MFCCs or {FeatureConfig.n_mels} log-mel bands per "
                        "frame (default %(default)s); the model's metadata carries it to the host and the board")
    p.add_argument("--streamable", action="store_true",
                   help="a DS-CNN causal in time (padded only before each convolution), exported to run a stride "
                        "(80 ms) at a time: each call computes only the new frames' steps (benchmarks/streaming.py); a "
                        "--wake-word network is streamable when its --init model is")
    p.add_argument("--own-voice-negatives", type=count_or_off, metavar="N",
                   help="with --wake-word: N other words of the negatives folders also train said in your voice (their "
                        "pitch moved to one of your recorded takes', formants with it): your other words, as far as "
                        f"the negatives hold them (default {wake.own_voice_negatives}; docs/custom_words.md)")
    p.add_argument("--qat-epochs", type=count_or_off, metavar="N",
                   help="quantization-aware training: the last N of --epochs start from the best checkpoint so far "
                        "and train with the int8 model's rounding simulated, and the best of them is the model "
                        f"(default {c.qat_epochs}: off; models/README.md says what it gains)")
    p.add_argument("--dropout", type=dropout, metavar="P",
                   help=f"dropout before the dense layer (default {m.dropout:g}; {wake_m.dropout:g} with --wake-word)")
    p.add_argument("--seed", type=seed, help=f"random seed (default {c.seed})")
    p.add_argument("--teacher", metavar="RUN",
                   help="distil the larger model of this training run (same data and features, e.g. trained with "
                        "--channels 96 --blocks 5): the student learns from its softened probabilities and the labels")
    p.add_argument("--distill-weight", type=share,
                   help=f"with --teacher: the teacher's share of the loss (default {c.distill_weight:g})")
    p.add_argument("--hard-negatives", type=weight, metavar="X",
                   help="within _unknown_, weigh the other words the model mistakes for a keyword up to 1+X times "
                        f"more, from each epoch's predictions (default {wake.hard_negatives:g} with --wake-word, else "
                        f"{c.hard_negatives:g}: off)")
    p.add_argument("--unknown-weight", type=weight, metavar="W",
                   help="_unknown_'s share of the loss against one keyword's: it stands for every other word "
                        f"(default {c.unknown_weight:g}; {wake.unknown_weight:g} with --wake-word)")
    p.add_argument("--word-head", type=weight, metavar="W",
                   help="also train a second output naming every word of the data (each other word its own class), "
                        f"with weight W in the loss; it is not exported (default {c.word_head:g}: off)")
    p.add_argument("--word-classes", type=count_or_off, metavar="N",
                   help="every other word with at least N training clips gets an output of its own, which the model "
                        "sums into _unknown_: the model still has the usual outputs "
                        f"(default {c.word_class_clips}; {wake.word_class_clips} with --wake-word: off)")
    p.add_argument("--word-parts", type=on_off, metavar="on|off",
                   help="with --wake-word: the start and the end of each of your recorded takes, alone, as negatives "
                        f"(written to OUT/parts; default {'on' if wake.word_parts else 'off'})")
    p.add_argument("--other-voices", type=voices, metavar="K",
                   help="with --wake-word: each of your recorded takes also trains K times as other people would say "
                        "it (formants and pitch moved, Praat's Change gender), so the word is found in voices you did "
                        f"not record (default {wake.other_voices} with --wake-word)")
    p.add_argument("--limit-per-class", type=count, metavar="N", help="use at most N training clips per class (quick runs)")
    p.add_argument("--resume", action="store_true", help="continue the run in OUT from its last checkpoint")
    p.add_argument("--force", action="store_true",
                   help="start over in an OUT that holds a run: its checkpoints and model are replaced, other files kept")
    _tune_arg(p)
    _cache_arg(p)
    p.set_defaults(handler=_train)


def _add_quantize(sub) -> None:
    p = sub.add_parser("quantize", help="int8-quantize a training run into a .tflite with metadata",
                       description="Full-integer post-training quantization (int8 in and out) of a run's best "
                                   "checkpoint; measures float and int8 validation accuracy and writes both into "
                                   "the model's metadata.")
    p.add_argument("--run", default=DEFAULT_RUN, help="training run folder (default %(default)s)")
    p.add_argument("--out", help=f"output .tflite, its .keras beside it (default {run_model('RUN')})")
    p.add_argument("--force", action="store_true", help="replace an existing OUT (and its .keras)")
    p.add_argument("--data", action="append", metavar="DIR", help="data folder; repeat it for several (default: those the run trained on)")
    _tune_arg(p)
    _cache_arg(p)
    p.set_defaults(handler=_quantize)


def _add_export_firmware(sub) -> None:
    from .firmware import boards

    p = sub.add_parser("export-firmware", help="write an Arduino sketch (or library) that runs a model on a board",
                       description="Write a complete Arduino sketch for the board into DIR, named after the folder: "
                                   "the board's code, the kws library's C++ and the files generated from the "
                                   "model (its flatbuffer as an aligned C array, the front-end tables, the labels "
                                   "and the detection settings from its metadata). Deterministic: same model, same "
                                   "bytes. Needs tflite-micro (in the train extra) to measure the tensor arena.")
    _model_arg(p)
    p.add_argument("--out", required=True, metavar="DIR", help="sketch folder to create, e.g. ~/kws_nano33")
    p.add_argument("--board", choices=sorted(boards()), default="nano33", help="board sketch (default %(default)s)")
    p.add_argument("--library", action="store_true",
                   help="write the Arduino library (library.properties, src/) instead of a sketch")
    p.add_argument("--force", action="store_true",
                   help="write into a folder that holds files: the files export-firmware writes are replaced, "
                        "others kept")
    p.set_defaults(handler=_export_firmware)


def _add_record(sub) -> None:
    p = sub.add_parser("record", help="record takes of your own wake word, guided",
                       description="A guided recording session: prompt, countdown, level check (too quiet or "
                                   "clipped takes are asked again), each take trimmed to 1 s around the word and "
                                   "saved as 16 kHz mono wav under OUT/WORD/.")
    p.add_argument("word", help="the word to record")
    p.add_argument("--out", required=True, help="data folder")
    p.add_argument("--count", type=count, default=TAKES, help="takes to record (default %(default)s)")
    p.add_argument("--device", help="input device, by number or name (see `kws listen --list-devices`)")
    p.add_argument("--speaker", help="speaker id in the file names (default: a random id, kept per session)")
    p.set_defaults(handler=_record)


def _add_data(sub) -> None:
    data = sub.add_parser("data", help="inspect Speech Commands style data folders",
                          description="Inspect a folder in Speech Commands layout.")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    p = data_sub.add_parser("stats", help="clips per class and split",
                            description="Count clips per class in the training / validation / testing splits.")
    p.add_argument("dir", nargs="?", default=DEFAULT_DATA, help="data folder (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object: label -> split -> count")
    p.set_defaults(handler=_data_stats)
    p = data_sub.add_parser("import", help="cut a folder of your recordings into 1 s clips of a word",
                            description="Import recordings in any format, rate and channel count: long ones are cut "
                                        "on silence into 1 s clips, saved as 16 kHz mono wav under OUT/WORD/; bad "
                                        "files are reported and skipped.")
    p.add_argument("src", help="folder (or file) of recordings")
    p.add_argument("--word", required=True, help="the word spoken in them")
    p.add_argument("--out", required=True, help="data folder to add OUT/WORD/ clips to")
    p.set_defaults(handler=_data_import)


def _add_synth(sub) -> None:
    p = sub.add_parser("synth", help="synthesize examples of a word with offline text-to-speech voices",
                       description="Make synthetic 1 s clips of WORD with text-to-speech voices (engines: "
                                   f"{', '.join(ENGINES)}; --list-voices shows which are installed), engine by "
                                   "engine in turn, varying speed, pitch and noise, saved as 16 kHz mono wav under "
                                   "OUT/WORD/.")
    p.add_argument("word", nargs="?", help="the word to synthesize")
    p.add_argument("--out", help="data folder (required with WORD)")
    p.add_argument("--engine", action="append", choices=list(ENGINES),
                   help=f"use this engine's voices (repeatable; default {' and '.join(DEFAULT_ENGINES)}: the others' "
                        "voices beside it lowered a many-speaker word's score, docs/custom_words.md)")
    p.add_argument("--transform", action="append", choices=TRANSFORMS,
                   help="tract: new speakers from every voice, formants scaled (each its own speaker id); room: each "
                        "clip in a simulated room (needs pyroomacoustics); repeatable (default: none)")
    p.add_argument("--list-voices", action="store_true",
                   help="list every engine's voices, their speaker ids and whether they are installed, then exit")
    p.add_argument("--count", type=count, default=CLIPS, help="clips to make (default %(default)s)")
    p.add_argument("--seed", type=seed, default=SEED, help="random seed (default %(default)s)")
    p.set_defaults(handler=_synth)


def _add_features(sub) -> None:
    p = sub.add_parser("features", help="print (and plot) the MFCC features of an audio file",
                       description="Compute the front end's MFCC features of FILE (converted to 16 kHz mono if needed).")
    p.add_argument("file", help="audio file (wav, flac, ...)")
    p.add_argument("--plot", metavar="PNG", help="also draw the waveform and MFCC image to this PNG")
    p.set_defaults(handler=_features)


# `kws --help` lists the commands in the README's order
COMMANDS = (_add_listen, _add_detect, _add_eval_stream, _add_evaluate, _add_train, _add_quantize, _add_export_firmware,
            _add_record, _add_data, _add_synth, _add_features)


@functools.cache  # built once per process: tests call main() in-process many times
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kws", description="Always-on keyword spotting: one streaming front end, a small int8 network, the same decisions on a laptop and a Cortex-M4.")
    parser.add_argument("--version", action="version", version=f"kws {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def _discard_stdout() -> None:
    """Point stdout at /dev/null: what it still buffers is dropped at exit instead of failing again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _stdout_failed() -> bool:
    """Whether stdout is what cannot be written (/dev/full, closed, ...): flushing it fails, or where it is unbuffered
    (PYTHONUNBUFFERED) an empty write does. What it printed before the error is flushed."""
    try:
        sys.stdout.flush()
        os.write(sys.stdout.fileno(), b"")
    except io.UnsupportedOperation:  # no file descriptor (a test's capture)
        return False
    except OSError:
        return True
    return False


def _os_error(e: OSError) -> str:
    """The line for an OSError: stdout's or the file's, and the fix."""
    if _stdout_failed():
        _discard_stdout()
        return f"cannot write to stdout ({e.strerror or e}); send the output to a file on a disk with room"
    return f"{e.filename or 'writing the output'}: {e.strerror or e}; check the path, its permissions and free space"


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if sys.stdout is None:  # started with stdout closed (`kws ... >&-`): a file opened later would take its place
        print("kws: error: stdout is closed; send the output to a file (> out.txt) or to /dev/null", file=sys.stderr)
        return KwsError.exit_code
    try:
        args.handler(args)
        sys.stdout.flush()  # here, so that a closed pipe or a full disk is caught below
    except BrokenPipeError:  # the reader went away (`kws ... | head -1`): stop quietly, as Unix tools do
        _discard_stdout()
        return 0
    except KwsError as e:
        print(f"kws: error: {e}", file=sys.stderr)
        return KwsError.exit_code
    except OSError as e:  # a full disk, a read-only folder, stdout on /dev/full, ...
        print(f"kws: error: {_os_error(e)}", file=sys.stderr)
        return KwsError.exit_code
    except KeyboardInterrupt:
        print("kws: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
