"""Figures people would rather look at than read (drawn off-screen to PNG)."""

from __future__ import annotations

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def mfcc_image(audio: np.ndarray, features: np.ndarray, sample_rate: int, hop_length: int, title: str, out) -> None:
    """Waveform above the MFCC image (coefficients over time)."""
    plt = _pyplot()
    fig, (ax_wave, ax_mfcc) = plt.subplots(2, 1, figsize=(8, 5), sharex=True, height_ratios=(1, 2))
    t = np.arange(len(audio)) / sample_rate
    ax_wave.plot(t, audio, linewidth=0.5)
    ax_wave.set_ylabel("amplitude")
    ax_wave.set_title(title)
    extent = (0, len(features) * hop_length / sample_rate, -0.5, features.shape[1] - 0.5)
    image = ax_mfcc.imshow(features.T, origin="lower", aspect="auto", extent=extent, cmap="magma", interpolation="nearest")
    ax_mfcc.set_xlabel("time (s)")
    ax_mfcc.set_ylabel("MFCC index")
    fig.colorbar(image, ax=[ax_wave, ax_mfcc], label="value")
    fig.savefig(out, dpi=120)
    plt.close(fig)


def confusion_matrix(confusion, labels, title: str, out, other_words: dict | None = None) -> None:
    """Row-normalised confusion matrix with the counts written in each cell; with `other_words` (word -> {n,
    called}), the `_unknown_` row is drawn as one row per other word."""
    plt = _pyplot()
    counts, rows = np.asarray(confusion), list(labels)
    if other_words:
        unknown = rows.index("_unknown_")
        words = np.zeros((len(other_words), len(labels)), int)
        for k, w in enumerate(other_words.values()):
            for label, n in w["called"].items():
                words[k, labels.index(label)] = n
            words[k, unknown] = w["n"] - words[k].sum()
        counts = np.concatenate([np.delete(counts, unknown, axis=0), words])
        rows = [r for r in rows if r != "_unknown_"] + [f"{w} (other)" for w in other_words]
    rates = counts / np.maximum(1, counts.sum(axis=1, keepdims=True))
    fig, ax = plt.subplots(figsize=(8, 4 + 0.25 * len(rows)))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(labels)):
            if counts[i, j]:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def det_curve(rows, default_threshold: float, title: str, out) -> None:
    """Miss rate against false accepts per hour across thresholds; the default threshold is marked."""
    plt = _pyplot()
    fa = np.array([r["false_accepts_per_hour"] for r in rows])
    miss = 1 - np.array([r["hit_rate"] for r in rows])
    floor = 0.5 * min([f for f in fa if f > 0] or [0.1])  # zero false accepts drawn at the left edge
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.plot(np.maximum(fa, floor), 100 * miss, marker=".", linewidth=1)
    for r, x, y in zip(rows, np.maximum(fa, floor), 100 * miss):
        if r["threshold"] == round(default_threshold, 4):
            ax.plot([x], [y], "o", color="red", label=f"default threshold {default_threshold:g}")
    ax.set_xscale("log")
    ax.set_xlabel("false accepts per hour (0 drawn at the left edge)")
    ax.set_ylabel("miss rate (%)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
