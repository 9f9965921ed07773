"""Shared driver of the CDDAE paper's Experiments 1–4 on ML-100K.

An experiment is a list of arms (label, model, fixed settings, swept points). Every arm runs
through the run loop (`experiments.runs.grid`: the package's protocol, resumable runs under
`<output_dir>/cddae/<experiment>/<arm>/<fold>/<model>/<point>/seed<k>-<digest>/`) on the five
folds (or the folds of --datasets) and the seeds of --seeds. Writes `<experiment>.csv` (one row per run with
P/R/PU/RU@1..10), `<experiment>.md` (mean ± std over folds and seeds, the relative
improvement of every arm over CDAE beside the paper's claims) and `<experiment>.png`
(PU@N and RU@N against N = 1..10, like the paper's figures).
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pandas as pd

from daeptr import plots, results
from daeptr.topn import NS
from experiments import cli, flags as flag_groups, plan, runs, tasks
from experiments.settings import deterministic, resolve

DATA = flag_groups.data()
ITEM_DATA = flag_groups.item_data()
TRAINING = flag_groups.training()
DATASETS = flag_groups.datasets()
DEFAULTS = {"datasets": ["ml100k"]}  # each experiment adds its --user_features

CURVES = ("pu", "ru")
# The paper's baseline is CDAE with Experiment 1's settings (sigmoid + mean absolute error);
# CDAE-BCE is the same model with CDDAE's loss of Experiments 2–4, the like-for-like baseline.
BASELINES = ("CDAE", "CDAE-BCE")
REPORTED = ("p", "r", "pu", "ru")


@dataclasses.dataclass
class Arm:
    label: str
    model: str
    settings: dict = dataclasses.field(default_factory=dict)
    points: list = dataclasses.field(default_factory=lambda: [{}])


def point_label(arm: Arm, point: dict) -> str:
    """`CDDAE (output=sigmoid_bce)`: the arm and its swept values."""
    return f"{arm.label} ({', '.join(f'{k}={v}' for k, v in point.items())})" if point else arm.label


def run(experiment: str, arms: list[Arm]) -> str:
    labels = plan.trained_labels(DATASETS.value, "--datasets")
    if any(tasks.parse(label)[0] != "ml100k" for label in labels):
        raise cli.FlagError(f"--datasets={','.join(labels)}: the CDDAE experiments run on "
                            "ml100k or ml100k-foldK")
    options = plan.data_options()
    request = plan.request()
    seeds = plan.seeds()
    mode = plan.mode()
    if mode != "full":  # the smoke run: the first point of every grid
        arms = [dataclasses.replace(arm, points=arm.points[:1]) for arm in arms]
    for arm in arms:
        plan.check([arm.model], labels, dataclasses.replace(request, preset={"*": arm.settings}),
                   arm.points, f"arm {arm.label}")
    monitor = resolve(arms[0].model, labels[0], request).train["monitor"]

    parts = [part for label in labels for part in tasks.load(label, options)]
    root = request.tree / "cddae" / experiment
    progress = runs.Progress(sum(len(parts) * len(arm.points) * (1 if deterministic(arm.model) else len(seeds))
                                 for arm in arms), int(TRAINING.verbose.value),
                             flag_groups.backup_policy(TRAINING))
    frames = []
    for arm in arms:
        def base(part, arm=arm):
            return resolve(arm.model, part.family, request).at(arm.settings)

        frame = runs.grid(arm.model, parts, arm.points, seeds, root / arm.label, base,
                          mode=mode, overwrite=TRAINING.overwrite.value, progress=progress)
        keys = [k for k in frame.columns if k in {k for p in arm.points for k in p}]
        frame.insert(0, "arm", [point_label(arm, dict(zip(keys, row)))
                                for row in frame[keys].itertuples(index=False)] if keys else arm.label)
        frame.insert(1, "model", arm.model)
        frames.append(frame)
        grid = {k: sorted({p[k] for p in arm.points if k in p}) for k in keys}
        if grid:
            runs.write_hparams_config(root / arm.label, grid, ["pu@10", "ru@10"])
    manifest = runs.write_manifest(root.parent, experiment, "cddae", cli.command(),
                                   {"monitor": monitor, "mode": mode},
                                   pd.concat(frames, ignore_index=True))
    return render(manifest.parent, experiment, *runs.read_manifest(manifest)[2:])


def render(directory: pathlib.Path, experiment: str, context: dict, runs: pd.DataFrame) -> str:
    """Writes `<directory>/<experiment>.csv|md|png` from the rows of its manifest
    (`experiments.report` calls this too); returns the Markdown."""
    monitor, mode = context["monitor"], context["mode"]
    metric_columns = [f"{m}@{n}" for m in REPORTED for n in NS]
    grouped = runs.groupby("arm", sort=False)
    mean, std = grouped[metric_columns].mean(), grouped[metric_columns].std(ddof=1)
    table = pd.DataFrame({"arm": mean.index})
    for metric in [f"{m}@{n}" for m in REPORTED for n in (1, 5, 10)]:
        table[metric] = [f"{a:.4f}" + ("" if s != s else f" ± {s:.4f}")
                         for a, s in zip(mean[metric], std[metric])]
    table["runs"] = grouped.size().to_numpy()
    sections = [
        f"# CDDAE {experiment.replace('cddae_', '').replace('exp', 'Experiment ')}: ML-100K"
        + plan.MODE_TITLES[mode],
        "Ratings ≥ 4 are positives; the official folds u1–u5 (validation carved from each base, "
        "early stopping on " + monitor + "); all items but the user's training "
        "positives are ranked. Mean ± std over folds and seeds. P/R are the per-user Eq. 11–12, "
        "PU the share of users with a hit (Eq. 13), RU hits over all test items (Eq. 14).",
        results.markdown_table(table, [False] * (len(table.columns) - 1) + [True]),
    ]
    for baseline in BASELINES:
        if baseline not in mean.index:
            continue
        rows = []
        for arm in mean.index:
            if arm in BASELINES:
                continue
            gain = {m: gains(mean, arm, baseline, m) for m in REPORTED}
            rows.append({"arm": arm, **{f"{m}@1": f"{100 * gain[m][0]:+.1f}%" for m in ("pu", "ru")},
                         **{f"{m}@10": f"{100 * gain[m][-1]:+.1f}%" for m in ("pu", "ru")},
                         **{f"{m} mean over N": f"{100 * np.mean(gain[m]):+.1f}%" for m in REPORTED}})
        sections += [f"Relative difference to {baseline} (means over folds and seeds):",
                     results.markdown_table(pd.DataFrame(rows))]
    chosen = chosen_on_validation(runs, mean, monitor)
    if chosen is not None:
        sections += [f"Chosen on validation (the grid point of each arm with the best "
                     f"{monitor} averaged over folds; its test metrics, never "
                     f"used to choose):", results.markdown_table(chosen)]
    sections += [f"The paper: {results.CDDAE_CLAIMS[experiment]} Abstract: "
                 f"{results.CDDAE_CLAIMS['abstract']}"]
    curves = pd.DataFrame([{"dataset": arm, "n": n, **{f"{m}@N_mean": mean.loc[arm, f"{m}@{n}"]
                                                        for m in CURVES},
                            **{f"{m}@N_std": std.loc[arm, f"{m}@{n}"] for m in CURVES}}
                           for arm in mean.index for n in NS])
    plots.sweep_figure(curves, "n", [f"{m}@N" for m in CURVES],
                       directory / f"{experiment}.png", title=experiment)
    return results.write_tables(directory, experiment, runs, sections)


def gains(mean: pd.DataFrame, arm: str, baseline: str, metric: str) -> np.ndarray:
    """Relative difference of `arm` to `baseline` in `metric`@N for N = 1..10."""
    cols = [f"{metric}@{n}" for n in NS]
    return mean.loc[arm, cols].to_numpy() / mean.loc[baseline, cols].to_numpy() - 1


def chosen_on_validation(runs: pd.DataFrame, mean: pd.DataFrame, monitor: str) -> pd.DataFrame | None:
    """Per arm with a grid (`CDDAE (…)` labels), the point with the best mean validation
    `monitor`, with its test P/R/PU/RU@10 and mean gains over N against each baseline."""
    validation = runs.groupby("arm", sort=False)[monitor].mean()
    family = validation.index.str.split(" (", regex=False).str[0]
    rows = []
    for name, scores in validation.groupby(family, sort=False):
        if len(scores) < 2:
            continue
        arm = scores.idxmax()
        row = {"arm": name, "chosen point": arm, monitor: f"{scores.max():.4f}",
               **{f"{m}@10": f"{mean.loc[arm, f'{m}@10']:.4f}" for m in REPORTED}}
        for baseline in BASELINES:
            if baseline in mean.index:
                for m in ("p", "r"):
                    row[f"{m} over {baseline}"] = f"{100 * np.mean(gains(mean, arm, baseline, m)):+.1f}%"
        rows.append(row)
    return pd.DataFrame(rows) if rows else None


def main_for(experiment: str, arms_fn):
    def main(argv):
        del argv
        print(run(experiment, arms_fn()))
    return main
