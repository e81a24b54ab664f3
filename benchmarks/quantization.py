"""Where a training run's int8 accuracy goes: validation accuracy in float, in float with only the input quantized,
int8 with weights per tensor (what `kws quantize` ships) and int8 with weights per channel, with each model's size.
On the run's validation split (all its folders) and on each folder's alone (as `kws evaluate --data DIR` scores it).

    python benchmarks/quantization.py [RUN]  (default runs/kws12, what `kws train` writes)"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from kws.data.prepare import prepare
from kws.errors import KwsError
from kws.labels import keywords
from kws.metadata import load_model_file, write_metadata
from kws.model.quantize import representative_features, to_int8_tflite
from kws.model.recipe import DEFAULT_RUN
from kws.model.run import load_run, run_model
from kws.runtime import Model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default=DEFAULT_RUN, help="training run folder (default %(default)s)")
    args = parser.parse_args()
    run, model = load_run(args.run)
    features, seed = run.features, run.train["seed"]
    words = keywords(run.labels)
    prep = prepare(run.data, features, words, None, run.train["limit_per_class"], seed, run.negatives)
    representative = representative_features(prep, seed, features, run.augment)  # as kws quantize
    metadata = load_model_file(run_model(args.run))[1]
    tmp = Path(tempfile.mkdtemp())
    int8 = {}
    for name, per_channel in (("int8, weights per tensor", False), ("int8, weights per channel", True)):
        path = tmp / f"{per_channel}.tflite"
        path.write_bytes(write_metadata(to_int8_tflite(model, representative, run.model, per_channel), metadata))
        int8[name] = Model(path)
    shipped = int8["int8, weights per tensor"]

    sets = [("all folders" if len(run.data) > 1 else Path(run.data[0]).name, prep)]
    for d in run.data if len(run.data) > 1 else []:
        try:
            sets.append((Path(d).name, prepare([d], features, words, None, seed=seed)))
        except KwsError as e:  # a folder of other words only
            print(f"not scored alone: {e}")
    print(f"{args.run}: validation accuracy (clips)")
    print("| | " + " | ".join(f"{name} ({len(p.y_val)})" for name, p in sets) + " | bytes |")
    print("|---|" + "---|" * (len(sets) + 1))

    def row(name, predict, size=""):
        cells = [f"{100 * np.mean(predict(p.x_val) == p.y_val):.2f} %" for _, p in sets]
        print(f"| {name} | " + " | ".join(cells) + f" | {size} |")

    def in_float(x):
        return model.predict(x[..., None], batch_size=256, verbose=0).argmax(axis=1)

    def input_quantized(x):
        scale, zero = shipped.input_quant[:2]
        q = np.stack([shipped.quantize_input(f).reshape(f.shape) for f in x])
        return in_float((q.astype(np.float32) - zero) * scale)

    row("float", in_float)
    row("float, input quantized", input_quantized)
    for name, m in int8.items():
        row(name, lambda x, m=m: np.array([m.predict(f).argmax() for f in x]), f"{len(m.bytes):,}")


if __name__ == "__main__":
    main()
