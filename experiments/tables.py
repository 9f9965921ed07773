"""Shared driver of Tables 2–5: train every requested model over seeds on one core.

Each (model, seed) run lives in `<output_dir>/<table>/<dataset>-core<p>/<model>/seed<k>/`
with its config, metrics, TensorBoard logs and model; a finished run (metrics.json present,
same settings) is reused unless --overwrite. The table is rebuilt from those files, never
from stdout.

The settings of a model come, each later source overriding the earlier:
  1. the model class' defaults;
  2. `STARTING_POINTS`: the paper's §5.3/§5.5 values (and DAE-PTR's validated learning rate);
  3. with --tuned (default), `<output_dir>/tune/<dataset>-core<p>/<model>/chosen.json`,
     written by `experiments.tune` from a validation search; with --tuned_from=LABEL,
     the choices made on that other data set's validation split fill in what this data
     set's own search did not choose;
  4. flags given on the command line (--learning_rate, --latent_dim, … for every model that
     has that setting; --hparam=MODEL.NAME=VALUE for one model).
The table's hyper-parameter section says which source each value came from.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil
import time

import numpy as np
import pandas as pd
from absl import flags

from daeptr import models, results
from daeptr.evaluate import NS
from daeptr.training import TrainConfig, train_and_evaluate
from experiments import flags as common

ALL_MODELS = ["dae_ptr", "pitf", "nltf", "abnt", "mp", "mp_u", "mp_i", "mp_ui", "cooc"]
MODELS = flags.DEFINE_list("models", ALL_MODELS, f"Models to train, of {sorted(models.REGISTRY)}.")
SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2", "3", "4"],
                          "Training seeds (count-based floors are deterministic: first seed only).")
_DEFAULT = TrainConfig()
EPOCHS = flags.DEFINE_integer("epochs", _DEFAULT.epochs, "Maximum epochs; early stopping on validation decides.", lower_bound=1)
PATIENCE = flags.DEFINE_integer("patience", _DEFAULT.patience, "Early-stopping patience, in evaluations.", lower_bound=1)
MIN_EPOCHS = flags.DEFINE_integer(
    "min_epochs", _DEFAULT.min_epochs, "Epochs before early stopping may end training (it still "
    "keeps the best evaluation): for runs that first sit on a plateau.", lower_bound=0)
EVAL_EVERY = flags.DEFINE_integer("eval_every", _DEFAULT.eval_every, "Epochs between validation rankings.", lower_bound=1)
MONITOR = flags.DEFINE_string("monitor", _DEFAULT.monitor, "Validation metric for early stopping.")
BATCH_SIZE = flags.DEFINE_integer("batch_size", None, "Mini-batch size (default 1024, the paper's).", lower_bound=1)
LEARNING_RATE = flags.DEFINE_float(
    "learning_rate", None,
    "Adam learning rate for every model (default per model: 0.003 for DAE-PTR, chosen on "
    "validation; the paper's 0.01 for the baselines).", lower_bound=0)
L2 = flags.DEFINE_float("l2", None, "λ for every model (paper: 0.01).", lower_bound=0)
LATENT_DIM = flags.DEFINE_integer("latent_dim", None, "K for every model (paper: DAE-PTR 512 on Last.fm, 256 on ML10M; baselines 64).", lower_bound=1)
CORRUPTION = flags.DEFINE_float("corruption", None, "c of Eq. 7 (paper: 0.8 Last.fm, 0.9 ML10M).",
                                lower_bound=0, upper_bound=1)
LOSS_REDUCTION = flags.DEFINE_enum("loss_reduction", None, ["sum", "mean"],
                                   "DAE-PTR: Eq. 11 summed over the batch's posts (default), or averaged.")
HPARAM = flags.DEFINE_multi_string(
    "hparam", [], "MODEL.NAME=VALUE: one hyper-parameter of one model, e.g. "
    "pitf.num_negatives=20, nltf.gamma=0.5, mp_ui.alpha=0.3.")
MODEL_SEEDS = flags.DEFINE_multi_string(
    "model_seeds", [], "MODEL:S1,S2: other seeds for one model than --seeds, e.g. fewer for "
    "an expensive one (abnt:0).")
TUNED = flags.DEFINE_bool("tuned", True, "Use the settings experiments.tune chose on validation, where present.")
TUNED_FROM = flags.DEFINE_string(
    "tuned_from", None,
    "Data set label (e.g. lastfm-core5) whose validation choices fill in the settings this "
    "data set's own search did not choose: a cheaper, weaker stand-in for tuning every data set.")
RETRAIN = flags.DEFINE_bool("retrain", True, "Retrain on all training tags for the selected epochs.")
SAVE_RANKS = flags.DEFINE_bool("save_ranks", False, "Write each run's per-post test ranks (ranks.npy).")
OVERWRITE = flags.DEFINE_bool("overwrite", False, "Re-run runs that already finished.")
QUICK = flags.DEFINE_bool("quick", False, "Seconds-long smoke run of the same code path (tests).")

# DAE-PTR §5.3 and §5.5. The baselines: "K = 64, η = 0.01, λ = 0.01, batch 1024" (§5.3).
# DAE-PTR's learning rate won validation searches: 0.003 on Last.fm core-5, 0.01 on ML10M
# core-10. On ML10M (22–35 batches an epoch) DAE-PTR sits on a popularity plateau for tens of
# epochs before validation moves, so patience 4 stops it there; 20 lets it converge, as the
# paper trains "until the proposed model converges" (BUILD_NOTES.md). On Last.fm validation
# prefers b′ starting at the tags' log-odds (NDCG@3 0.4238 vs 0.4161 on core-5, 0.4497 vs
# 0.4460 on core-10); on ML10M core-10 the zero start (0.2999 vs 0.2978).
_BASELINE = {"latent_dim": 64, "l2": 0.01, "learning_rate": 0.01}
STARTING_POINTS = {
    "dae_ptr": {"*": {"l2": 0.01, "loss_reduction": "sum", "learning_rate": 0.003},
                "lastfm": {"latent_dim": 512, "corruption": 0.8, "output_bias": "log_odds"},
                "ml10m": {"latent_dim": 256, "corruption": 0.9, "learning_rate": 0.01,
                          "patience": 20}},
    # On ML10M the trained baselines get DAE-PTR's longer patience too (PITF's validation
    # NDCG@3 on ML10M core-10: 0.3045 with patience 4, 0.3080 with 20).
    **{name: {"*": _BASELINE, "ml10m": {"patience": 20}} for name in ("pitf", "nltf", "abnt")},
    # CDDAE paper §3.3–3.4, Experiment 1: Adam 0.001, corruption 0.5, regularizer 0.01,
    # sigmoid + mean absolute error, bottleneck 50. The batch size is not given: 32.
    **{name: {"*": {"latent_dim": 50, "corruption": 0.5, "l2": 0.01, "output": "sigmoid_mae",
                    "learning_rate": 0.001, "batch_size": 32}} for name in ("dae", "cdae", "cddae")},
}
TRAIN_FIELDS = {"learning_rate": float, "batch_size": int, "epochs": int, "patience": int,
                "min_epochs": int, "eval_every": int}


def _check_models(names):
    unknown = [n for n in names if n not in models.REGISTRY]
    if unknown:
        raise flags.ValidationError(f"--models: unknown {unknown}; choose from {sorted(models.REGISTRY)}")
    return True


def parse_value(name: str, text: str, default):
    """A flag's text as the type of the setting it sets (that of the default value)."""
    kind = TRAIN_FIELDS.get(name) or (type(default) if default is not None else None)
    if kind is bool:
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{name} takes true or false, got {text!r}")
        return text.lower() == "true"
    if kind is None:  # an optional setting (None by default): the most specific number
        for kind in (int, float, str):
            try:
                return kind(text)
            except ValueError:
                continue
    return kind(text)


def parse_grid(specs, model: str) -> dict[str, list]:
    accepted = models.hyperparameters(model)
    names = sorted({*accepted, *TRAIN_FIELDS})
    grid = {}
    for spec in specs:
        name, sep, values = spec.partition(":")
        if not sep or name not in names or not values:
            raise flags.ValidationError(
                f"--grid={spec!r}: expected NAME:V1,V2 with NAME one of {names} ({model})")
        try:
            grid[name] = [parse_value(name, v, accepted.get(name)) for v in values.split(",")]
        except ValueError as err:
            raise flags.ValidationError(f"--grid={spec!r}: {err}") from None
    return grid


def parse_hparams(specs) -> dict[str, dict]:
    """--hparam=MODEL.NAME=VALUE entries → {model: {name: value}}."""
    out: dict[str, dict] = {}
    for spec in specs:
        key, sep, text = spec.partition("=")
        model, dot, name = key.partition(".")
        if not sep or not dot or model not in models.REGISTRY:
            raise flags.ValidationError(f"--hparam={spec!r}: expected MODEL.NAME=VALUE with MODEL "
                                        f"one of {sorted(models.REGISTRY)}")
        accepted = models.hyperparameters(model)
        if name not in accepted and name not in TRAIN_FIELDS:
            raise flags.ValidationError(f"--hparam={spec!r}: {model} has no {name!r}; it has "
                                        f"{sorted([*accepted, *TRAIN_FIELDS])}")
        try:
            out.setdefault(model, {})[name] = parse_value(name, text, accepted.get(name))
        except ValueError as err:
            raise flags.ValidationError(f"--hparam={spec!r}: {err}") from None
    return out


def parse_model_seeds(specs) -> dict[str, list[int]]:
    out = {}
    for spec in specs:
        model, sep, seeds = spec.partition(":")
        values = seeds.split(",")
        if not sep or model not in models.REGISTRY or not all(v.lstrip("-").isdigit() for v in values):
            raise flags.ValidationError(f"--model_seeds={spec!r}: expected MODEL:S1,S2 with MODEL "
                                        f"one of {sorted(models.REGISTRY)} and integer seeds")
        out[model] = [int(v) for v in values]
    return out


flags.register_validator("models", _check_models)
flags.register_validator("model_seeds", lambda v: parse_model_seeds(v) is not None)
flags.register_validator("seeds", lambda v: all(s.lstrip("-").isdigit() for s in v) and len(v) > 0,
                         message="--seeds must be a non-empty list of integers")
flags.register_validator("hparam", lambda v: parse_hparams(v) is not None)
flags.register_multi_flags_validator(
    ["tuned_from", "output_dir"],
    lambda v: v["tuned_from"] is None or (pathlib.Path(v["output_dir"]) / "tune" / v["tuned_from"]).is_dir(),
    message="--tuned_from names no data set searched by experiments.tune under <output_dir>/tune/")


def chosen_path(label: str, model: str) -> pathlib.Path:
    """Where experiments.tune keeps the settings it chose for (data set label, model); the
    label is e.g. `lastfm-core5` or `ml100k`."""
    return pathlib.Path(common.OUTPUT_DIR.value) / "tune" / label / model / "chosen.json"


def settings(name: str, label: str, *, tuned: bool | None = None):
    """(model hyper-parameters, TrainConfig fields, source of each value) for one model on
    the data set `label` (`lastfm-core5`, `ml10m-core10`, `ml100k`)."""
    dataset = label.split("-core")[0]
    accepted = models.hyperparameters(name)
    values, sources = {}, {}

    def put(layer: dict, source: str):
        for key, value in layer.items():
            if key in accepted or key in TRAIN_FIELDS:
                values[key], sources[key] = value, source

    start = STARTING_POINTS.get(name, {})
    put({**start.get("*", {}), **start.get(dataset, {})}, "default")
    if TUNED.value if tuned is None else tuned:
        layers = ([(TUNED_FROM.value, f"tuned on {TUNED_FROM.value}")] if TUNED_FROM.value
                  else []) + [(label, "tuned")]  # this data set's own choices win
        for source_label, source in layers:
            chosen = chosen_path(source_label, name)
            if chosen.exists():
                put(json.loads(chosen.read_text()), source)
    put({k: f.value for k, f in (("learning_rate", LEARNING_RATE), ("batch_size", BATCH_SIZE),
                                 ("l2", L2), ("latent_dim", LATENT_DIM),
                                 ("corruption", CORRUPTION), ("loss_reduction", LOSS_REDUCTION))
         if f.value is not None}, "flag")
    # Training lengths given on the command line beat a data set's starting point.
    put({f.name: f.value for f in (EPOCHS, PATIENCE, MIN_EPOCHS, EVAL_EVERY)
         if flags.FLAGS[f.name].present},
        "flag")
    put(parse_hparams(HPARAM.value).get(name, {}), "flag")
    if QUICK.value:
        put({"latent_dim": 16}, "quick")

    hparams = {k: v for k, v in values.items() if k in accepted}
    train = dict(epochs=EPOCHS.value, batch_size=1024, patience=PATIENCE.value,
                 min_epochs=MIN_EPOCHS.value, monitor=MONITOR.value, eval_every=EVAL_EVERY.value,
                 retrain=RETRAIN.value, save_ranks=SAVE_RANKS.value,
                 learning_rate=_DEFAULT.learning_rate)
    train.update({k: v for k, v in values.items() if k in TRAIN_FIELDS})
    if QUICK.value:
        train.update(epochs=2, eval_every=1, patience=1, min_epochs=0)
    return hparams, train, sources


def deterministic(name: str) -> bool:
    """Count-based models: every seed gives the same run."""
    cls, _ = models.get(name)
    return getattr(cls, "deterministic", False)


def run_table(table: str) -> str:
    """Runs the table's experiments from the flags and writes `<table>.csv|md`."""
    dataset, core, paper = results.PAPER_TABLES[table]
    seeds = [int(s) for s in SEEDS.value][: 1 if QUICK.value else None]
    split = common.load_split(dataset, core)
    sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)
    table_dir = pathlib.Path(common.OUTPUT_DIR.value) / table
    rows, used = [], {}
    for name in MODELS.value:
        hparams, train, sources = settings(name, f"{dataset}-core{core}")
        used[name] = (hparams, train, sources)
        model_seeds = parse_model_seeds(MODEL_SEEDS.value).get(name, seeds)
        if QUICK.value or deterministic(name):
            model_seeds = model_seeds[:1]
        for seed in model_seeds:
            run_dir = table_dir / f"{dataset}-core{core}" / name / f"seed{seed}"
            config = TrainConfig(seed=seed, **train)
            run_hparams = {"model": name, "dataset": dataset, "core": core, "quick": QUICK.value,
                           "tie_break": split.tie_break, "split_seed": split.seed, **hparams}
            metrics = _finished(run_dir, run_hparams, config)
            if metrics is None:
                shutil.rmtree(run_dir, ignore_errors=True)
                metrics = train_and_evaluate(
                    lambda posts: models.build(name, posts, **sizes, **hparams, seed=seed),
                    split, config, run_dir, hparams=run_hparams)
            by_input = {f"{kind}_{k}": v for kind, values in metrics["test_by_input"].items()
                        for k, v in values.items() if k in ("posts", "hit@3", "ndcg@3")}
            rows.append({"model": name, "seed": seed, **metrics["test"], **by_input,
                         "best_epoch": metrics["best_epoch"]})
    runs = pd.DataFrame(rows)
    frame, sections = summarize(table, runs, paper, f"{dataset} core-{core}", used, split)
    markdown = results.write_tables(table_dir.parent, table, frame, sections)
    runs.to_csv(table_dir / "runs.csv", index=False)
    return markdown


def _finished(run_dir: pathlib.Path, hparams: dict, config: TrainConfig) -> dict | None:
    """The metrics of an identical run that already finished, else None."""
    if OVERWRITE.value or not (run_dir / "metrics.json").exists():
        return None
    stored = json.loads((run_dir / "config.json").read_text())
    if not same_settings(stored, {**hparams, **dataclasses.asdict(config)}):
        return None  # same folder, different settings: run again
    return json.loads((run_dir / "metrics.json").read_text())


def cached_selection(run_dir: pathlib.Path, model_kw: dict, config: TrainConfig, run) -> dict:
    """The summary of a selection-only run (`daeptr.training.select`): read from the run's
    `selection.json` when one with the same settings finished, else `run()` and stored with
    its wall time (`seconds`)."""
    summary_file = run_dir / "selection.json"
    wanted = json.loads(json.dumps({"model": model_kw, "train": dataclasses.asdict(config)}))
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    if (OVERWRITE.value or summary.get("model") != wanted["model"]
            or not same_settings(summary.get("train", {}), wanted["train"])):
        started = time.time()
        summary = {**run(), **wanted}
        summary["seconds"] = time.time() - started
        summary_file.write_text(json.dumps(summary, indent=2))
    return summary


def same_settings(stored: dict, wanted: dict) -> bool:
    """Whether a finished run's stored settings are `wanted`. A training setting the stored
    ones lack was added to `TrainConfig` after the run, which so ran with its default."""
    defaults = dataclasses.asdict(_DEFAULT)
    wanted = json.loads(json.dumps(wanted, default=str))
    return all(stored.get(k, defaults.get(k)) == v for k, v in wanted.items())


METRICS = [f"{m}@{n}" for m in ("hit", "ndcg") for n in NS]


def _mean_std(mean: float, std: float) -> str:
    return f"{mean:.5f}" + ("" if std != std else f" ± {std:.5f}")


def summarize(table, runs: pd.DataFrame, paper: dict, title: str, used: dict, split):
    """The long frame (model, metric, mean, std, seeds, paper, relative difference) and the
    Markdown sections of the table."""
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
        f"# Table {table.removeprefix('table')}: {title}",
        f"Full ranking of all {split.num_tags} tags except the post's input tags; "
        f"{len(split.eval_posts('test'))} test posts; split {split.fingerprint()[:12]} "
        f"(tie_break={split.tie_break}, split_seed={split.seed}). Mean ± std over seeds.",
        results.markdown_table(ours, [False] * (len(METRICS) + 1) + [True]),
    ]
    beside = frame[frame["paper"].notna()].copy()
    if not beside.empty:
        view = pd.DataFrame({
            "model": beside["model"], "metric": beside["metric"],
            "ours": beside["mean"], "paper": beside["paper"],
            "relative difference": [f"{100 * r:+.1f}%" for r in beside["relative_difference"]]})
        sections += ["Beside the paper:", results.markdown_table(view)]
    improvements = improvement_over_pitf(frame, table)
    if improvements is not None:
        sections += ["DAE-PTR over PITF (relative, means over seeds; the paper's §5.4 quotes "
                     "Hit@3 and NDCG@5):", results.markdown_table(improvements)]
    sections += ["Hyper-parameters (source: default = paper/validated starting point, tuned = "
                 "experiments.tune on this data set's validation split, tuned on X = on data set "
                 "X's (--tuned_from), flag = command line; no source = the model "
                 "class' default):",
                 results.markdown_table(hyperparameter_table(used)),
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
    rows = []
    for name, (hparams, train, sources) in used.items():
        values = {**models.hyperparameters(name), **hparams}
        if not deterministic(name):
            values.update({k: train[k] for k in ("learning_rate", "batch_size", "epochs", "patience")})
            if train["min_epochs"]:
                values["min_epochs"] = train["min_epochs"]
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
