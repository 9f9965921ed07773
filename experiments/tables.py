"""Tables 2–5 of DAE-PTR: every requested model over seeds on one data set, beside the paper.

Runs go through the run loop (`experiments.runs`: one folder per run, reused only when its
record matches exactly) under `<tree>/<table>/<data set>/<model>/default/seed<k>-<digest>/`,
with the settings of `experiments.settings` (starting points, tuned choices, flags). The
table is rendered from the runs' records, never from stdout: the driver writes
`<tree>/<table>.manifest.json` (the command, the settings used, the split, the run folders;
`experiments.runs.write_manifest`) and renders `<tree>/<table>.csv|md` and
`<tree>/<table>/runs.csv` from it as `python -m experiments.report` does, where <tree> is --output_dir (its `quick/` or `smoke/` subfolder
for those modes, whose tables say so in their title).
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pandas as pd
from absl import flags

from daeptr import models, results
from daeptr.evaluate import NS
from daeptr.training import TrainConfig
from experiments import cli, flags as flag_groups, plan, runs, tasks
from experiments.settings import deterministic, parse_model_seeds, resolve

DATA = flag_groups.data()
TRAINING = flag_groups.training()
ALL_MODELS = ["dae_ptr", "pitf", "nltf", "abnt", "mp", "mp_u", "mp_i", "mp_ui", "cooc"]
MODELS = flags.DEFINE_list("models", ALL_MODELS, f"Models to train, of {sorted(models.REGISTRY)}.")
MODEL_SEEDS = flags.DEFINE_multi_string(
    "model_seeds", [], "MODEL:S1,S2: other seeds for one model than --seeds, e.g. fewer for "
    "an expensive one (abnt:0).")
DEFAULTS = {"seeds": ["0", "1", "2", "3", "4"]}  # a table's default: five seeds


def run_table(table: str) -> str:
    """Checks the flags, runs the table's experiments and writes `<table>.csv|md`."""
    dataset, core, paper = results.PAPER_TABLES[table]
    label = f"{dataset}-core{core}"
    request = plan.request()
    seeds = plan.seeds()
    model_seeds = plan.flag_error(parse_model_seeds, MODEL_SEEDS.value)
    plan.check(MODELS.value, [label], request)
    mode = plan.mode()

    part, = tasks.load(label, plan.data_options())
    table_dir = request.tree / table
    used, frames = {}, []
    jobs = [(name, [s for s in model_seeds.get(name, seeds)][: 1 if mode != "full" or deterministic(name) else None])
            for name in MODELS.value]
    progress = runs.Progress(sum(len(s) for _, s in jobs), int(TRAINING.verbose.value),
                             flag_groups.backup_policy(TRAINING))
    for name, name_seeds in jobs:
        used[name] = resolve(name, label, request)
        frame = runs.grid(name, [part], [{}], name_seeds, table_dir, lambda _, s=used[name]: s,
                          mode=mode, overwrite=TRAINING.overwrite.value, progress=progress)
        frames.append(frame.assign(model=name))
    split = part.task.split
    context = {
        "title": f"{dataset} core-{core}{plan.MODE_TITLES[mode]}",
        "used": {name: {"hparams": s.hparams, "train": s.train, "sources": s.sources}
                 for name, s in used.items()},
        "split": {"tags": split.num_tags, "test_posts": len(split.eval_posts("test")),
                  "fingerprint": split.fingerprint(), "tie_break": split.tie_break,
                  "split_seed": split.seed, "valid_min_tags": split.valid_min_tags}}
    manifest = runs.write_manifest(request.tree, table, "table", cli.command(), context,
                                   pd.concat(frames, ignore_index=True))
    return render(manifest.parent, table, *runs.read_manifest(manifest)[2:])


def render(directory, table: str, context: dict, rows: pd.DataFrame) -> str:
    """Writes `<directory>/<table>.csv|md` and `<directory>/<table>/runs.csv` from the rows
    of its manifest (`experiments.report` calls this too); returns the Markdown."""
    paper = results.PAPER_TABLES[table][2]
    frame, sections = summarize(table, rows, paper, context)
    markdown = results.write_tables(directory, table, frame, sections)
    rows.to_csv(pathlib.Path(directory) / table / "runs.csv", index=False)
    return markdown


def main_for(table: str):
    def main(argv):
        del argv
        print(run_table(table))
    return main


METRICS = [f"{m}@{n}" for m in ("hit", "ndcg") for n in NS]


def _mean_std(mean: float, std: float) -> str:
    return f"{mean:.5f}" + ("" if std != std else f" ± {std:.5f}")


def summarize(table, runs: pd.DataFrame, paper: dict, context: dict):
    """The long frame (model, metric, mean, std, seeds, paper, relative difference) and the
    Markdown sections of the table (`context`: its title, the settings used, the split)."""
    split = context["split"]
    records = []
    for name, group in runs.groupby("model", sort=False):
        for metric in METRICS:
            values = group[metric].to_numpy()
            mean = float(values.mean())
            ref = paper.get(name, {}).get(metric, np.nan)
            records.append({
                "model": name, "metric": metric, "mean": mean,
                "std": float(values.std(ddof=1)) if len(values) > 1 else np.nan,
                "seeds": len(values), "paper": ref,
                "relative_difference": (mean - ref) / ref if ref == ref else np.nan,
            })
    frame = pd.DataFrame(records)

    wide = frame.pivot_table(index="model", columns="metric", values="mean", sort=False)
    wide_std = frame.pivot_table(index="model", columns="metric", values="std", sort=False,
                                 dropna=False)
    ours = pd.DataFrame({"model": wide.index,
                         **{m: [_mean_std(wide.loc[k, m], wide_std.loc[k, m]) for k in wide.index]
                            for m in METRICS},
                         "seeds": frame.groupby("model", sort=False)["seeds"].first().to_numpy()})
    sections = [
        f"# Table {table.removeprefix('table')}: {context['title']}",
        f"Full ranking of all {split['tags']} tags except the post's input tags; "
        f"{split['test_posts']} test posts; split {split['fingerprint'][:12]} "
        f"(tie_break={split['tie_break']}, split_seed={split['split_seed']}, "
        f"valid_min_tags={split['valid_min_tags']}). Mean ± std over seeds.",
        results.markdown_table(ours, [False] * (len(METRICS) + 1) + [True]),
    ]
    beside = frame[frame["paper"].notna()]
    if not beside.empty:  # one row per model: ours / the paper's (relative difference)
        cells = beside.assign(cell=[f"{o:.4f} / {p:.4f} ({100 * r:+.1f}%)" for o, p, r in
                                    zip(beside["mean"], beside["paper"], beside["relative_difference"])])
        view = cells.pivot(index="model", columns="metric", values="cell").reindex(
            index=beside["model"].unique(), columns=METRICS).reset_index()
        sections += ["Beside the paper (ours / the paper's, relative difference):",
                     results.markdown_table(view)]
    improvements = improvement_over_pitf(frame, table)
    if improvements is not None:
        sections += ["DAE-PTR over PITF (relative, means over seeds; the paper's §5.4 quotes "
                     "Hit@3 and NDCG@5):", results.markdown_table(improvements)]
    sections += ["Hyper-parameters (source: default = the paper's value, tuned = chosen on "
                 "this data set's validation split, tuned on X = on data set X's "
                 "(--tuned_from), as committed in experiments/validated.json with the command "
                 "behind each value; not searched: … = committed for this data set without a "
                 "search of its own; flag = command line; no source = the model class' "
                 "default):",
                 results.markdown_table(hyperparameter_table(context["used"])),
                 "By kind of test post (mean over seeds; single-tag posts are ranked from an "
                 "empty input):", results.markdown_table(by_kind(runs))]
    return frame, sections


def improvement_over_pitf(frame: pd.DataFrame, table: str) -> pd.DataFrame | None:
    means = frame.pivot_table(index="metric", columns="model", values="mean")
    if not {"dae_ptr", "pitf"} <= set(means.columns):
        return None
    quoted = results.PAPER_IMPROVEMENTS.get(table, {})
    ours = (means["dae_ptr"] - means["pitf"]) / means["pitf"]
    return pd.DataFrame({
        "metric": METRICS,
        "ours": [f"{100 * ours[m]:+.1f}%" for m in METRICS],
        "paper (§5.4)": [f"{100 * quoted[m]:+.1f}%" if m in quoted else "" for m in METRICS],
    })


def hyperparameter_table(used: dict) -> pd.DataFrame:
    """One row per model: every setting with its source (`used`: model → hparams, train
    settings, sources)."""
    rows = []
    for name, settings in used.items():
        sources, defaults = settings["sources"], dataclasses.asdict(TrainConfig())
        values = {**models.hyperparameters(name), **settings["hparams"]}
        if not deterministic(name):
            values.update({k: settings["train"].get(k, defaults[k])
                           for k in ("learning_rate", "batch_size", "epochs", "patience",
                                     "eval_every")})
            values.update({k: settings["train"][k] for k, v in runs.NEUTRAL_TRAIN.items()
                           if settings["train"].get(k, v) != v})  # named only when in use
        rows.append({"model": name, "settings": ", ".join(
            f"{k}={v}" + (f" ({sources[k]})" if k in sources else "") for k, v in values.items())})
    return pd.DataFrame(rows)


def by_kind(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of the test metrics on empty-input and other posts, per model."""
    means = runs.groupby("model", sort=False).mean(numeric_only=True).reset_index()
    columns = [c for c in runs.columns if c.startswith(("empty_", "non_empty_"))]
    means = means[["model", "best_epoch", *columns]]
    posts = [c for c in columns if c.endswith("_posts")]
    means[posts] = means[posts].round().astype(int)
    means["best_epoch"] = means["best_epoch"].map("{:.1f}".format)
    return means
