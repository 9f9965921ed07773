"""Figures of the sweeps: metric curves with mean ± std bands (matplotlib, no display)."""

from __future__ import annotations

import os

import pandas as pd


def sweep_figure(summary: pd.DataFrame, x: str, metrics: list[str], path: str | os.PathLike,
                 title: str = "") -> None:
    """One panel per metric; one line per data set; x = the swept parameter.

    `summary` has columns `dataset`, `x`, `<metric>_mean` and `<metric>_std` (std may be
    NaN with one seed: no band is drawn).
    """
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for dataset, group in summary.groupby("dataset", sort=False):
            group = group.sort_values(x)
            mean, std = group[f"{metric}_mean"], group[f"{metric}_std"].fillna(0)
            line, = ax.plot(group[x], mean, marker="o", label=dataset)
            ax.fill_between(group[x], mean - std, mean + std, alpha=0.2, color=line.get_color())
        ax.set_xlabel(x)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if summary[x].min() > 0 and summary[x].max() / summary[x].min() >= 16:
            ax.set_xscale("log", base=2)
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    tmp = f"{os.fspath(path)}.tmp.png"
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
