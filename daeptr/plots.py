"""Figures of the sweeps: metric curves with mean ± std bands (matplotlib, no display)."""

from __future__ import annotations

import os

import pandas as pd


def sweep_figure(summary: pd.DataFrame, x: str, metrics: list[str], path: str | os.PathLike,
                 title: str = "", caption: str = "") -> None:
    """One panel per metric; one line per data set; x = the swept parameter; `caption`
    (lines of text, wrapped) below the panels.

    `summary` has columns `dataset`, `x`, `<metric>_mean` and `<metric>_std` (std may be
    NaN with one seed: no band is drawn).
    """
    import textwrap

    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    width = 4.5 * len(metrics)
    lines = [part for line in caption.splitlines()
             for part in textwrap.wrap(line, int(width * 15), subsequent_indent="    ")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(width, 3.6 + 0.17 * len(lines)),
                             squeeze=False)
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
    if lines:
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, va="bottom", ha="left")
    fig.tight_layout(rect=(0, 0.17 * len(lines) / (3.6 + 0.17 * len(lines)), 1, 1))
    tmp = f"{os.fspath(path)}.tmp.png"
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
