"""Shared driver of Tables 2–5: train every requested model over seeds on one core.

Each (model, seed) run lives in `<output_dir>/<table>/<dataset>-core<p>/<model>/seed<k>/`
with its config, metrics, TensorBoard logs and model; a finished run (metrics.json present)
is reused unless --overwrite. The table is rebuilt from those files, never from stdout.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil

import numpy as np
import pandas as pd
from absl import flags

from daeptr import models, results
from daeptr.evaluate import NS
from daeptr.training import TrainConfig, train_and_evaluate
from experiments import flags as common

MODELS = flags.DEFINE_list("models", ["dae_ptr"], f"Models to train, of {sorted(models.REGISTRY)}.")
SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2", "3", "4"], "Training seeds.")
_DEFAULT = TrainConfig()
EPOCHS = flags.DEFINE_integer("epochs", _DEFAULT.epochs, "Maximum epochs; early stopping on validation decides.", lower_bound=1)
PATIENCE = flags.DEFINE_integer("patience", _DEFAULT.patience, "Early-stopping patience, in evaluations.", lower_bound=1)
EVAL_EVERY = flags.DEFINE_integer("eval_every", _DEFAULT.eval_every, "Epochs between validation rankings.", lower_bound=1)
MONITOR = flags.DEFINE_string("monitor", _DEFAULT.monitor, "Validation metric for early stopping.")
BATCH_SIZE = flags.DEFINE_integer("batch_size", _DEFAULT.batch_size, "Mini-batch size (paper: 1024).", lower_bound=1)
LEARNING_RATE = flags.DEFINE_float(
    "learning_rate", _DEFAULT.learning_rate,
    "Adam learning rate: 0.003 won the validation search on Last.fm core-5 (BUILD_NOTES.md). "
    "Paper: 0.001 in §5.5, 0.01 for most models in §5.3.", lower_bound=0)
L2 = flags.DEFINE_float("l2", 0.01, "λ of Eq. 12 (paper: 0.01).", lower_bound=0)
LATENT_DIM = flags.DEFINE_integer("latent_dim", None, "K (paper: 512 on Last.fm, 256 on ML10M).", lower_bound=1)
CORRUPTION = flags.DEFINE_float("corruption", None, "c of Eq. 7 (paper: 0.8 Last.fm, 0.9 ML10M).",
                                lower_bound=0, upper_bound=1)
LOSS_REDUCTION = flags.DEFINE_enum("loss_reduction", "sum", ["sum", "mean"],
                                   "Eq. 11 summed over the batch's posts, or averaged.")
RETRAIN = flags.DEFINE_bool("retrain", True, "Retrain on all training tags for the selected epochs.")
SAVE_RANKS = flags.DEFINE_bool("save_ranks", False, "Write each run's per-post test ranks (ranks.npy).")
OVERWRITE = flags.DEFINE_bool("overwrite", False, "Re-run runs that already finished.")
QUICK = flags.DEFINE_bool("quick", False, "Seconds-long smoke run of the same code path (tests).")

# §5.3 and §5.5 of the paper.
PAPER_DEFAULTS = {"lastfm": {"latent_dim": 512, "corruption": 0.8},
                  "ml10m": {"latent_dim": 256, "corruption": 0.9}}


def _check_models(names):
    unknown = [n for n in names if n not in models.REGISTRY]
    if unknown:
        raise flags.ValidationError(f"--models: unknown {unknown}; choose from {sorted(models.REGISTRY)}")
    return True


flags.register_validator("models", _check_models)
flags.register_validator("seeds", lambda v: all(s.lstrip("-").isdigit() for s in v) and len(v) > 0,
                         message="--seeds must be a non-empty list of integers")


def model_hparams(dataset: str) -> dict:
    """The model's hyper-parameters from the flags, with the paper's per-data-set defaults."""
    defaults = PAPER_DEFAULTS[dataset]
    return {
        "latent_dim": 16 if QUICK.value else LATENT_DIM.value or defaults["latent_dim"],
        "corruption": defaults["corruption"] if CORRUPTION.value is None else CORRUPTION.value,
        "l2": L2.value,
        "loss_reduction": LOSS_REDUCTION.value,
    }


def train_settings() -> dict:
    """TrainConfig fields from the flags (all but the seed); --quick trains for 2 epochs."""
    settings = dict(epochs=EPOCHS.value, batch_size=BATCH_SIZE.value,
                    learning_rate=LEARNING_RATE.value, patience=PATIENCE.value,
                    monitor=MONITOR.value, eval_every=EVAL_EVERY.value,
                    retrain=RETRAIN.value, save_ranks=SAVE_RANKS.value)
    if QUICK.value:
        settings.update(epochs=2, eval_every=1, patience=1)
    return settings


def run_table(table: str) -> str:
    """Runs the table's experiments from the flags and writes `<table>.csv|md`."""
    dataset, core, paper = results.PAPER_TABLES[table]
    seeds = [int(s) for s in SEEDS.value][: 1 if QUICK.value else None]
    hparams = model_hparams(dataset)
    train = train_settings()
    split = common.load_split(dataset, core)
    sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)
    table_dir = pathlib.Path(common.OUTPUT_DIR.value) / table
    rows = []
    for name in MODELS.value:
        for seed in seeds:
            run_dir = table_dir / f"{dataset}-core{core}" / name / f"seed{seed}"
            config = TrainConfig(seed=seed, **train)
            run_hparams = {"model": name, "dataset": dataset, "core": core, "quick": QUICK.value,
                           "tie_break": split.tie_break, "split_seed": split.seed, **hparams}
            metrics = _finished(run_dir, run_hparams, config)
            if metrics is None:
                shutil.rmtree(run_dir, ignore_errors=True)
                model_cls = models.get(name)
                metrics = train_and_evaluate(
                    lambda: model_cls(**sizes, **hparams, seed=seed), split, config, run_dir,
                    hparams=run_hparams)
            by_input = {f"{kind}_{k}": v for kind, values in metrics["test_by_input"].items()
                        for k, v in values.items() if k in ("posts", "hit@3", "ndcg@3")}
            rows.append({"model": name, "seed": seed, **metrics["test"], **by_input,
                         "best_epoch": metrics["best_epoch"]})
    runs = pd.DataFrame(rows)
    frame, sections = summarize(table, runs, paper, f"{dataset} core-{core}", hparams, train, split)
    markdown = results.write_tables(table_dir.parent, table, frame, sections)
    runs.to_csv(table_dir / "runs.csv", index=False)
    return markdown


def _finished(run_dir: pathlib.Path, hparams: dict, config: TrainConfig) -> dict | None:
    """The metrics of an identical run that already finished, else None."""
    if OVERWRITE.value or not (run_dir / "metrics.json").exists():
        return None
    stored = json.loads((run_dir / "config.json").read_text())
    wanted = json.loads(json.dumps({**hparams, **dataclasses.asdict(config)}, default=str))
    if any(stored.get(k) != v for k, v in wanted.items()):
        return None  # same folder, different settings: run again
    return json.loads((run_dir / "metrics.json").read_text())


def summarize(table, runs: pd.DataFrame, paper: dict, title: str, hparams, train, split):
    """Mean ± std over seeds beside the paper's value, and the relative difference."""
    metric_names = [f"{m}@{n}" for m in ("hit", "ndcg") for n in NS]
    records = []
    for name, group in runs.groupby("model", sort=False):
        for metric in metric_names:
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
    view = frame.copy()
    view["ours (mean ± std)"] = [
        f"{m:.5f}" + ("" if s != s else f" ± {s:.5f}") for m, s in zip(frame["mean"], frame["std"])]
    view["relative difference"] = [
        "" if r != r else f"{100 * r:+.1f}%" for r in frame["relative_difference"]]
    view = view[["model", "metric", "ours (mean ± std)", "paper", "relative difference", "seeds"]]
    settings = ", ".join(f"{k}={v}" for k, v in {**hparams, **train}.items())
    return frame, [
        f"# Table {table.removeprefix('table')}: {title}",
        f"Full ranking of all {split.num_tags} tags except the post's input tags; "
        f"{len(split.eval_posts('test'))} test posts; split {split.fingerprint()[:12]} "
        f"(tie_break={split.tie_break}, split_seed={split.seed}).",
        f"Settings: {settings}.",
        results.markdown_table(view),
        "By kind of test post (mean over seeds; single-tag posts are ranked from an empty input):",
        results.markdown_table(by_kind(runs)),
    ]


def by_kind(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of the test metrics on empty-input and other posts, per model."""
    means = runs.groupby("model", sort=False).mean(numeric_only=True).reset_index()
    columns = [c for c in runs.columns if c.startswith(("empty_", "non_empty_"))]
    means = means[["model", "best_epoch", *columns]]
    posts = [c for c in columns if c.endswith("_posts")]
    means[posts] = means[posts].round().astype(int)
    means["best_epoch"] = means["best_epoch"].map("{:.1f}".format)
    return means
