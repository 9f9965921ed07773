"""Flag-driven sweeps of any hyper-parameter over data sets and seeds (Figures 2–4, CDDAE
Experiments 3–4).

    python -m experiments.sweep --name=c_sweep --param=corruption --values=0,0.2,0.4,0.6,0.8,1 \
        --datasets=lastfm-core5,ml10m-core5 --seeds=0,1 [--model=dae_ptr]
    python -m experiments.sweep --name=grid --grid=latent_dim:64,256 --grid=corruption:0.5,0.8
    python -m experiments.sweep --name=k --param=latent_dim --values=32,64 \
        --retune=corruption:0.5,0.7,0.9      # c chosen on validation for each K (Figure 4)
    python -m experiments.sweep --name=width --model=cddae --datasets=ml100k \
        --param=latent_dim --values=10,50,100 --monitor=val_ru@10 --metrics=pu@10,ru@10

Every point runs the package's protocol (`daeptr.training.train_and_evaluate`: early stopping
on validation, retraining, one test evaluation) in
`<output_dir>/sweeps/<name>/<data set>/<point>/seed<k>/`; finished runs are reused, so an
interrupted sweep resumes. With --retune, each point first runs the validation-only selection
for every value of the retuned parameter and keeps the best (never the test split). `ml100k`
means its five folds: the summary averages over folds and seeds. Settings outside the sweep
come from `tag_tables.settings` (defaults, tuned choices, flags such as --learning_rate or
--hparam). Writes `<name>.csv` (one row per run), `<name>.md` (mean ± std per point, best
point by validation, whether it lies on the edge of the range), `<name>.png` (curves with
± std bands) and a TensorBoard HParams configuration: `tensorboard --logdir
<output_dir>/sweeps/<name>`.
"""

from __future__ import annotations

import itertools
import pathlib

import numpy as np
import pandas as pd
import tensorflow as tf
from absl import flags

from daeptr import models, plots, results
from daeptr.training import TrainConfig, select, train_and_evaluate
from experiments import flags as common, tag_tables, tasks

NAME = flags.DEFINE_string("name", "sweep", "Name of the sweep (its folder and file names).")
MODEL = flags.DEFINE_string("model", "dae_ptr", "Model to sweep.")
DATASETS = flags.DEFINE_list("datasets", ["lastfm-core5"],
                             "Data sets: lastfm-coreP, ml10m-coreP, ml100k (five folds), ml100k-foldK.")
PARAM = flags.DEFINE_string("param", None, "The swept hyper-parameter (with --values).")
VALUES = flags.DEFINE_list("values", [], "Values of --param.")
GRID = flags.DEFINE_multi_string("grid", [], "NAME:V1,V2,…: a grid of several parameters.")
RETUNE = flags.DEFINE_string("retune", None, "NAME:V1,V2,…: re-choose NAME on validation at every point.")
SWEEP_METRICS = flags.DEFINE_list("metrics", ["hit@3", "ndcg@3"], "Test metrics to plot and summarise.")
CLAIMS = flags.DEFINE_string("claims", "", "What the paper says about this sweep (for the summary).")

flags.register_validator("model", lambda v: v in models.REGISTRY,
                         message=f"--model must be one of {sorted(models.REGISTRY)}")


def _check_datasets(names):
    for name in names:
        try:
            tasks.parse(name)
        except ValueError as err:
            raise flags.ValidationError(f"--datasets: {err}") from None
    return True


def parse_sweep(param, values, grid, retune, model) -> tuple[dict, tuple[str, list] | None]:
    """The swept grid {name: values} and the retuned (name, values), validated."""
    specs = list(grid)
    if param is not None or values:
        if param is None or not values:
            raise flags.ValidationError("--param and --values go together")
        specs.append(f"{param}:{','.join(values)}")
    if not specs:
        raise flags.ValidationError("nothing to sweep: give --param/--values or --grid")
    swept = tag_tables.parse_grid(specs, model)
    retuned = None
    if retune:
        (name, options), = tag_tables.parse_grid([retune], model).items()
        if name in swept:
            raise flags.ValidationError(f"--retune={retune!r}: {name} is already swept")
        retuned = (name, options)
    return swept, retuned


flags.register_validator("datasets", _check_datasets)
# Drivers that call `run_points` themselves (the CDDAE experiments) define no sweep by flags.
FLAG_SWEEP = {"required": True}
flags.register_multi_flags_validator(
    ["param", "values", "grid", "retune", "model"],
    lambda v: not FLAG_SWEEP["required"] or v["model"] not in models.REGISTRY
    or parse_sweep(v["param"], v["values"], v["grid"], v["retune"], v["model"]) is not None)


def label(point: dict) -> str:
    return "_".join(f"{k}={v}" for k, v in point.items()) or "default"


def _split_point(point: dict) -> tuple[dict, dict]:
    train = {k: v for k, v in point.items() if k in tag_tables.TRAIN_FIELDS}
    return {k: v for k, v in point.items() if k not in train}, train


def _sizes(name, part):
    cls, _ = models.get(name)
    return tasks.floor_sizes(part) if getattr(cls, "deterministic", False) else part.sizes


def retuned_value(build, task, base_train, seed, retune, run_root) -> tuple[object, float, float]:
    """The value of the retuned parameter with the best validation metric at this point, that
    metric, and the seconds its selection runs took (NaN for runs stored without their time)."""
    param, options = retune
    scores, seconds = [], 0.0
    for option in options:
        model_kw, train_kw = _split_point({param: option})
        run_dir = run_root / f"retune_{param}={option}" / f"seed{seed}"
        config = TrainConfig(seed=seed, **{**base_train, **train_kw})
        summary = tag_tables.cached_selection(
            run_dir, model_kw, config,
            lambda: select(lambda rows: build(rows, model_kw), task, config, run_dir)[1])
        scores.append(summary["valid"][tag_tables.MONITOR.value.removeprefix("val_")])
        seconds += summary.get("seconds", float("nan"))
    best = int(np.argmax(scores))
    return options[best], scores[best], seconds


def run_points(name: str, datasets, points: list[dict], seeds, root: pathlib.Path,
               retune=None, overrides: dict | None = None) -> pd.DataFrame:
    """Trains `name` at every point on every data set and seed (reusing finished runs);
    one row per run with the point, the validation and the test metrics.

    `overrides` are fixed settings on top of `tag_tables.settings` (e.g. a figure's K).
    """
    cls, _ = models.get(name)
    if getattr(cls, "deterministic", False) or tag_tables.QUICK.value:
        seeds = list(seeds)[:1]
    rows = []
    for dataset_name in datasets:
        for part in tasks.load(dataset_name):
            base_model, base_train, _ = tag_tables.settings(name, part.family)
            fixed_model, fixed_train = _split_point(overrides or {})
            base_model, base_train = {**base_model, **fixed_model}, {**base_train, **fixed_train}
            sizes = _sizes(name, part)
            for point in points:
                model_kw, train_kw = _split_point(point)
                point_root = root / part.label / label(point)
                for seed in seeds:
                    row_extra, extra, retune_seconds = {}, {}, 0.0
                    if retune:
                        def build(rows_, kw, seed=seed):
                            return models.build(name, rows_, **sizes,
                                                **{**base_model, **model_kw, **kw}, seed=seed)
                        value, score, retune_seconds = retuned_value(
                            build, part.task, {**base_train, **train_kw}, seed, retune, point_root)
                        extra = {retune[0]: value}
                        row_extra = {f"retuned_{retune[0]}": value, "retune_valid": score}
                    hparams = {**base_model, **model_kw,
                               **{k: v for k, v in extra.items() if k not in tag_tables.TRAIN_FIELDS}}
                    config = TrainConfig(seed=seed, **{
                        **base_train, **train_kw,
                        **{k: v for k, v in extra.items() if k in tag_tables.TRAIN_FIELDS}})
                    run_hparams = {"model": name, "dataset": part.label,
                                   "quick": tag_tables.QUICK.value, **part.info, **hparams}
                    run_dir = point_root / f"seed{seed}"
                    metrics = tag_tables._finished(run_dir, run_hparams, config)
                    if metrics is None:
                        metrics = train_and_evaluate(
                            lambda rows_: models.build(name, rows_, **sizes, **hparams, seed=seed),
                            part.task, config, run_dir, hparams=run_hparams)
                    rows.append({"dataset": part.family, "part": part.label, **point,
                                 "seed": seed, **row_extra, "best_epoch": metrics["best_epoch"],
                                 # Measured per run, so a sweep run in parts still adds up to
                                 # its whole cost.
                                 "seconds": metrics.get("train_seconds", float("nan"))
                                 + retune_seconds,
                                 **{f"val_{k}": v for k, v in metrics["valid"].items()},
                                 **metrics["test"]})
    return pd.DataFrame(rows)


def run_sweep() -> str:
    name = MODEL.value
    swept, retune = parse_sweep(PARAM.value, VALUES.value, GRID.value, RETUNE.value, name)
    points = [dict(zip(swept, values)) for values in itertools.product(*swept.values())]
    root = pathlib.Path(common.OUTPUT_DIR.value) / "sweeps" / NAME.value
    runs = run_points(name, DATASETS.value, points, [int(s) for s in tag_tables.SEEDS.value],
                      root, retune)
    write_hparams_config(root, swept, SWEEP_METRICS.value)
    return summarize(root, runs, list(swept), retune)


def write_hparams_config(root: pathlib.Path, swept: dict, metrics) -> None:
    """The sweep's HParams configuration, so TensorBoard lists its parameters and metrics."""
    from tensorboard.plugins.hparams import api as hp

    def scalar(value):  # HParams knows bool, numbers and text; layer tuples become text
        return value if isinstance(value, (bool, int, float, str)) else str(value)

    params = [hp.HParam(k, hp.Discrete(sorted({scalar(x) for x in v}))) for k, v in swept.items()]
    with tf.summary.create_file_writer(str(root)).as_default():
        hp.hparams_config(hparams=params,
                          metrics=[hp.Metric(f"test/{m}", display_name=m) for m in metrics])


def aggregate(runs: pd.DataFrame, names: list[str], columns: list[str]) -> pd.DataFrame:
    """Mean and std over seeds (and folds) per data set and point."""
    grouped = runs.groupby(["dataset", *names], sort=False)
    summary = grouped[columns].mean().add_suffix("_mean").join(
        grouped[columns].std(ddof=1).add_suffix("_std")).reset_index()
    summary["runs"] = grouped.size().to_numpy()
    return summary


def summarize(root: pathlib.Path, runs: pd.DataFrame, names: list[str], retune) -> str:
    metrics = SWEEP_METRICS.value
    monitor = tag_tables.MONITOR.value
    columns = [*metrics, monitor]
    summary = aggregate(runs, names, columns)
    if retune:
        summary[f"retuned_{retune[0]}"] = runs.groupby(["dataset", *names], sort=False)[
            f"retuned_{retune[0]}"].agg(lambda v: ",".join(map(str, sorted(set(v))))).to_numpy()

    # The swept values as given (0.8, 1e-05), not with the metrics' five decimals.
    view = summary[["dataset", *names]].astype(str)
    if retune:
        view[f"{retune[0]} (chosen on validation)"] = summary[f"retuned_{retune[0]}"]
    for m in columns:
        view[m] = [f"{a:.5f}" + ("" if s != s else f" ± {s:.5f}")
                   for a, s in zip(summary[f"{m}_mean"], summary[f"{m}_std"])]
    view["runs"] = summary["runs"]

    best_rows = []
    for dataset, group in summary.groupby("dataset", sort=False):
        best = group.loc[group[f"{monitor}_mean"].idxmax()]
        test_best = group.loc[group[f"{metrics[0]}_mean"].idxmax()]
        edges = [n for n in names if group[n].nunique() > 2
                 and best[n] in (group[n].min(), group[n].max())]
        best_rows.append({
            "dataset": dataset,
            f"best by {monitor}": ", ".join(f"{n}={best[n]}" for n in names),
            f"test {metrics[0]} there": f"{best[f'{metrics[0]}_mean']:.5f}",
            f"highest test {metrics[0]} (for reference only)":
                ", ".join(f"{n}={test_best[n]}" for n in names),
            "on the edge of the range": ", ".join(edges) or "no"})

    x = names[0]
    if len(names) == 1 and pd.api.types.is_numeric_dtype(summary[x]):
        plots.sweep_figure(summary, x, metrics, root.parent / f"{NAME.value}.png",
                           title=f"{MODEL.value}: {NAME.value}")
    sections = [
        f"# Sweep {NAME.value}: {MODEL.value} over {', '.join(names)}",
        "Each point: selection on validation (early stopping), retraining, one test evaluation; "
        "mean ± std over seeds (and folds). Every run's settings are in its config.json.",
        results.markdown_table(view, [False] * (len(view.columns) - 1) + [True]),
        "Best point per data set, chosen by the validation metric (the test column is reported, "
        "never used to choose):",
        results.markdown_table(pd.DataFrame(best_rows)),
    ]
    if CLAIMS.value:
        sections.append(f"The paper: {CLAIMS.value}")
    sections += ["Cost: each run's measured wall time (selection, retraining, test evaluation"
                 + (", and the selection runs that chose the retuned value" if retune else "")
                 + "), summed; a sweep run in parts adds up to its whole cost.",
                 results.markdown_table(cost_table(runs), [False, True, True, True])]
    return results.write_tables(root.parent, NAME.value, runs, sections)


def cost_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs and hours per data set and in all; runs stored without a time are counted apart."""
    def row(name, group):
        timed = group["seconds"].notna()
        return {"dataset": name, "runs": len(group), "hours": f"{group['seconds'].sum() / 3600:.2f}",
                "runs without a stored time": int((~timed).sum())}
    rows = [row(name, group) for name, group in runs.groupby("dataset", sort=False)]
    return pd.DataFrame(rows + [row("all", runs)])


def main(argv):
    del argv
    print(run_sweep())


if __name__ == "__main__":
    common.run(main)
