"""Instructions per inference, per layer, of untrained networks of other shapes on the emulated Cortex-M4F: which
CMSIS-NN kernel each layer runs and at how many instructions per multiply-accumulate. Speed does not depend on the
weights, so a shape can be judged before it is trained.

    python benchmarks/network_speed.py --channels 32 34 36 40 [--blocks 4] [--first-kernel 10 4]
    python benchmarks/network_speed.py --arch tc-resnet --channels 8 12 --blocks 3
    python benchmarks/network_speed.py --arch bc-resnet --features log-mel --channels 8 --blocks 3

Each network is built as `kws train` builds it (random weights), converted by the same int8 path (random
representative features), written as a sketch by `kws export-firmware`, built for QEMU (make -C firmware/qemu
SKETCH=...) and run on 2 s of silence."""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from kws.features import KINDS, FeatureConfig
from kws.firmware import model_layers
from kws.firmware_qemu import run_model_file
from kws.labels import LABELS
from kws.metadata import ModelMetadata, write_metadata
from kws.model.network import ARCHS, ModelConfig, build_network
from kws.model.quantize import to_int8_tflite



def measure(config: ModelConfig, features: FeatureConfig, work: Path) -> None:
    model = build_network((features.n_frames, features.n_features), len(LABELS), config)
    representative = np.random.default_rng(0).normal(0, 30, (64, features.n_frames, features.n_features))
    tflite = to_int8_tflite(model, representative.astype(np.float32), config)
    path = work / f"{config.arch}_c{config.channels}_b{config.blocks}.tflite"
    path.write_bytes(write_metadata(tflite, ModelMetadata(features, LABELS)))
    result = run_model_file(path, work)
    layers = model_layers(path.read_bytes())
    total = result.instructions_per_inference()
    macs = sum(m for _, m in layers)
    print(f"\n{config.arch}, {config.channels} channels, {config.blocks} blocks: "
          f"{model.count_params():,} parameters, {len(tflite):,} bytes int8, {macs:,} MACs, {total:,.0f} "
          f"instructions per inference = {total / macs:.2f} per MAC")
    for (op, m), (_, kernel, n) in zip(layers, result.layers()):
        print(f"  {op:<18} {kernel:<27} {m:>9,} MACs {n:>11,.0f} instructions {n / m if m else 0:>6.2f} per MAC")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=ARCHS, default=ModelConfig.arch)
    parser.add_argument("--features", choices=KINDS, default=FeatureConfig.kind)
    parser.add_argument("--channels", type=int, nargs="+", default=[ModelConfig.channels])
    parser.add_argument("--blocks", type=int, default=ModelConfig.blocks)
    parser.add_argument("--first-kernel", type=int, nargs=2, default=ModelConfig.first_kernel)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for channels in args.channels:
            config = ModelConfig(arch=args.arch, channels=channels, blocks=args.blocks,
                                 first_kernel=tuple(args.first_kernel))
            measure(config, FeatureConfig(kind=args.features), Path(tmp))


if __name__ == "__main__":
    main()
