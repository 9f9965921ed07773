"""Validation search over a grid of hyper-parameters (no test tag is ever ranked).

    python -m experiments.tune --dataset=lastfm --core=5 \
        --grid=learning_rate:0.003,0.01,0.03 --grid=corruption:0.5,0.8 [--seed=0]

Every grid point runs the selection phase of `daeptr.training` (train without the validation
tags, early stopping on --monitor) in `<output_dir>/tune/<dataset>-core<p>/<model>/<point>/`;
finished points are reused. Writes the validation metrics and
best epoch of every point, best first, in `tune_<grid names>.csv|md` next to the points.
"""

from __future__ import annotations

import itertools
import json
import pathlib

import pandas as pd
from absl import flags

from daeptr import models, results
from daeptr.training import TrainConfig, select
from experiments import flags as common, tag_tables

DATASET = flags.DEFINE_enum("dataset", "lastfm", ["lastfm", "ml10m"], "Tag data set.")
CORE = flags.DEFINE_integer("core", 5, "p-core level.", lower_bound=1)
MODEL = flags.DEFINE_string("model", "dae_ptr", "Model to tune.")
SEED = flags.DEFINE_integer("seed", 0, "Training seed.")
GRID = flags.DEFINE_multi_string(
    "grid", [], "NAME:V1,V2,… — a model or training hyper-parameter and its values.")

TRAIN_FIELDS = {"learning_rate": float, "batch_size": int, "epochs": int, "patience": int,
                "eval_every": int}
MODEL_FIELDS = {"latent_dim": int, "corruption": float, "l2": float, "loss_reduction": str,
                "hidden_activation": str, "rescale": lambda v: v.lower() == "true",
                "encoder": str}


def parse_grid(specs) -> dict[str, list]:
    grid = {}
    for spec in specs:
        name, sep, values = spec.partition(":")
        kind = TRAIN_FIELDS.get(name) or MODEL_FIELDS.get(name)
        if not sep or kind is None or not values:
            raise flags.ValidationError(
                f"--grid={spec!r}: expected NAME:V1,V2 with NAME one of "
                f"{sorted({**TRAIN_FIELDS, **MODEL_FIELDS})}")
        try:
            grid[name] = [kind(v) for v in values.split(",")]
        except ValueError as err:
            raise flags.ValidationError(f"--grid={spec!r}: {err}") from None
    return grid


flags.register_validator("grid", lambda v: parse_grid(v) is not None)


def main(argv):
    del argv
    grid = parse_grid(GRID.value)
    model_cls = models.get(MODEL.value)
    split = common.load_split(DATASET.value, CORE.value)
    base_model = tag_tables.model_hparams(DATASET.value)
    base_train = tag_tables.train_settings()
    # Selection only: no retraining, no test ranks.
    for unused in ("retrain", "save_ranks"):
        base_train.pop(unused)
    root = pathlib.Path(common.OUTPUT_DIR.value) / "tune" / f"{DATASET.value}-core{CORE.value}" / MODEL.value
    rows = []
    names = list(grid)
    for values in itertools.product(*grid.values()):
        point = dict(zip(names, values))
        model_kw = {**base_model, **{k: v for k, v in point.items() if k in MODEL_FIELDS}}
        config = TrainConfig(seed=SEED.value, **{**base_train, **{k: v for k, v in point.items() if k in TRAIN_FIELDS}})
        run_dir = root / ("_".join(f"{k}={v}" for k, v in point.items()) or "default") / f"seed{SEED.value}"
        summary_file = run_dir / "selection.json"
        if summary_file.exists() and not tag_tables.OVERWRITE.value:
            summary = json.loads(summary_file.read_text())
        else:
            sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)
            _, summary = select(lambda: model_cls(**sizes, **model_kw, seed=SEED.value), split, config, run_dir)
            summary_file.write_text(json.dumps({**summary, "model": model_kw, "train": config.__dict__}, indent=2))
        rows.append({**point, "best_epoch": summary["best_epoch"],
                     **{f"val_{k}": v for k, v in summary["valid"].items()}})
    frame = pd.DataFrame(rows).sort_values(tag_tables.MONITOR.value, ascending=False)
    base = {**base_model, **base_train}
    print(results.write_tables(
        root, "tune_" + ("_".join(names) or "default"), frame,
        [f"# Validation search: {MODEL.value} on {DATASET.value} core-{CORE.value} (seed {SEED.value})",
         "Fixed: " + ", ".join(f"{k}={v}" for k, v in base.items() if k not in grid) + ".",
         results.markdown_table(frame)]))


if __name__ == "__main__":
    common.run(main)
