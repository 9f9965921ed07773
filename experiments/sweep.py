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
on validation, retraining, one test evaluation) through the run loop (`experiments.runs`) in
`<output_dir>/sweeps/<name>/<data set>/<model>/<point>/seed<k>-<digest>/`; finished runs with
the same settings are reused, so an interrupted sweep resumes. With --retune, each point first runs the validation-only selection
for every value of the retuned parameter and keeps the best (never the test split). `ml100k`
means its five folds: the summary averages over folds and seeds. Settings outside the sweep
come from `experiments.settings` (defaults, tuned choices, flags such as --learning_rate or
--hparam). Writes `<name>.csv` (one row per run), `<name>.md` (mean ± std per point, best
point by validation, whether it lies on the edge of the range), `<name>.png` (curves with
± std bands) and a TensorBoard HParams configuration: `tensorboard --logdir
<output_dir>/sweeps/<name>`.
"""

from __future__ import annotations

import itertools
import pathlib

import pandas as pd
from absl import flags

from daeptr import models, plots, results
from experiments import cli, flags as flag_groups, plan, runs, tasks
from experiments.settings import parse_grid, resolve

DATA = flag_groups.data()
ITEM_DATA = flag_groups.item_data()
TRAINING = flag_groups.training()
NAME = flags.DEFINE_string("name", "sweep", "Name of the sweep (its folder and file names).")
MODEL = flag_groups.model()
DATASETS = flag_groups.datasets()
PARAM = flags.DEFINE_string("param", None, "The swept hyper-parameter (with --values).")
VALUES = flags.DEFINE_list("values", [], "Values of --param.")
GRID = flag_groups.grid()
RETUNE = flags.DEFINE_string("retune", None, "NAME:V1,V2,…: re-choose NAME on validation at every point.")
SWEEP_METRICS = flags.DEFINE_list("metrics", None, "Test metrics to plot and summarise "
                                  "(default: hit@3,ndcg@3 for tags, pu@10,ru@10 on ML-100K).")
CLAIMS = flags.DEFINE_string("claims", "", "What the paper says about this sweep (for the summary).")


def parse_sweep(param, values, grid, retune, model) -> tuple[dict, tuple[str, list] | None, str]:
    """The swept grid {name: values}, the retuned (name, values) and the flag that names the
    points, validated."""
    specs, flag = list(grid), "--grid"
    if param is not None or values:
        if param is None or not values:
            raise cli.FlagError("--param and --values go together")
        specs.append(f"{param}:{','.join(values)}")
        flag = "--values"
    if not specs:
        raise cli.FlagError("nothing to sweep: give --param/--values or --grid")
    swept = {k: plan.smoke_points(v)
             for k, v in plan.flag_error(parse_grid, specs, model, flag).items()}
    retuned = None
    if retune:
        (name, options), = plan.flag_error(parse_grid, [retune], model, "--retune").items()
        if name in swept:
            raise cli.FlagError(f"--retune={retune!r}: {name} is already swept")
        retuned = (name, plan.smoke_points(options))
    return swept, retuned, flag


def run_sweep(preset: dict | None = None) -> str:
    """Checks the flags, runs every point and writes the sweep's files."""
    name = MODEL.value
    if name not in models.REGISTRY:
        raise cli.FlagError(f"--model={name}: choose from {sorted(models.REGISTRY)}")
    swept, retune, point_flag = parse_sweep(PARAM.value, VALUES.value, GRID.value, RETUNE.value, name)
    labels = plan.trained_labels(DATASETS.value, "--datasets")
    options = plan.data_options()
    request = plan.request(preset)
    seeds = plan.seeds()
    points = [dict(zip(swept, values)) for values in itertools.product(*swept.values())]
    plan.check([name], labels, request, points, point_flag, retune)
    known = sorted({m.removeprefix("val_") for label in labels for m in tasks.metric_names(label)})
    metrics = SWEEP_METRICS.value or (["pu@10", "ru@10"] if "pu@10" in known else ["hit@3", "ndcg@3"])
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise cli.FlagError(f"--metrics: unknown {unknown}; choose from {known}")
    monitor = resolve(name, labels[0], request).train["monitor"]

    parts = [part for label in labels for part in tasks.load(label, options)]
    root = request.tree / "sweeps" / NAME.value
    frame = runs.grid(name, parts, points, seeds, root,
                      lambda part: resolve(name, part.family, request), mode=plan.mode(),
                      overwrite=TRAINING.overwrite.value, retune=retune,
                      verbose=int(TRAINING.verbose.value),
                      backup=flag_groups.backup_policy(TRAINING))
    runs.write_hparams_config(root, swept, metrics)
    context = {"model": name, "names": list(swept), "retune": retune, "monitor": monitor,
               "metrics": metrics, "claims": CLAIMS.value, "mode": plan.mode(),
               "training": {label: training_note(resolve(name, label, request))
                            for label in labels}}
    manifest = runs.write_manifest(root.parent, NAME.value, "sweep", cli.command(), context, frame)
    return render(manifest.parent, NAME.value, *runs.read_manifest(manifest)[2:])


def training_note(settings) -> str:
    """How a point's runs train, in a few words with where the values came from, for the
    figure and the summary: the paper's schedule or a validated one."""
    train, sources = settings.train, settings.sources
    if train["schedule"] == "constant":
        how = (f"constant lr {train['learning_rate']:g}, early stopping (patience "
               f"{train['patience']}, at most {train['epochs']} epochs)")
    else:
        how = f"lr {train['learning_rate']:g}, {train['schedule']} decay over {train['epochs']} epochs"
    origin = sorted({sources.get(k, "default") for k in ("learning_rate", "schedule", "epochs",
                                                         "patience")})
    return f"{how}, {train['precision']} ({', '.join(origin)})"


def aggregate(runs: pd.DataFrame, names: list[str], columns: list[str]) -> pd.DataFrame:
    """Mean and std over seeds (and folds) per data set and point."""
    grouped = runs.groupby(["dataset", *names], sort=False)
    summary = grouped[columns].mean().add_suffix("_mean").join(
        grouped[columns].std(ddof=1).add_suffix("_std")).reset_index()
    summary["runs"] = grouped.size().to_numpy()
    return summary


def render(directory: pathlib.Path, name: str, context: dict, runs: pd.DataFrame) -> str:
    """Writes `<directory>/<name>.csv|md|png` from the rows of the sweep's manifest
    (`experiments.report` calls this too); returns the Markdown."""
    names, retune, monitor, metrics = (context[k] for k in ("names", "retune", "monitor", "metrics"))
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
        plots.sweep_figure(summary, x, metrics, directory / f"{name}.png",
                           title=f"{context['model']}: {name}", caption=caption(context))
    sections = [
        f"# Sweep {name}: {context['model']} over {', '.join(names)}"
        + plan.MODE_TITLES[context["mode"]],
        "Each point: selection on validation (early stopping), retraining, one test evaluation; "
        "mean ± std over seeds (and folds). Every run's settings are in its config.json.",
        results.markdown_table(view, [False] * (len(view.columns) - 1) + [True]),
        "Best point per data set, chosen by the validation metric (the test column is reported, "
        "never used to choose):",
        results.markdown_table(pd.DataFrame(best_rows)),
    ]
    if context["claims"]:
        sections.append(f"The paper: {context['claims']}")
    if context.get("training"):
        sections.append("Training: " + "; ".join(f"{label}: {note}"
                                                 for label, note in context["training"].items()))
    sections += ["Cost: each run's measured wall time (selection, retraining, test evaluation"
                 + (", and the selection runs that chose the retuned value" if retune else "")
                 + "), summed; a sweep run in parts adds up to its whole cost.",
                 results.markdown_table(cost_table(runs), [False, True, True, True])]
    return results.write_tables(directory, name, runs, sections)


def caption(context: dict) -> str:
    """The figure's caption: the paper's stated findings, and how the points trained."""
    lines = [f"The paper: {context['claims']}"] if context["claims"] else []
    lines += [f"Training, {label}: {note}" for label, note in context.get("training", {}).items()]
    return "\n".join(lines)


def cost_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs and hours per data set and in all; runs stored without a time are counted apart."""
    def row(name, group):
        timed = group["seconds"].notna()
        seconds = group["seconds"] + group.get("retune_seconds", 0.0)
        return {"dataset": name, "runs": len(group), "hours": f"{seconds.sum() / 3600:.2f}",
                "runs without a stored time": int((~timed).sum())}
    rows = [row(name, group) for name, group in runs.groupby("dataset", sort=False)]
    return pd.DataFrame(rows + [row("all", runs)])


def main(argv, preset: dict | None = None):
    del argv
    print(run_sweep(preset))


if __name__ == "__main__":
    cli.run(main)
