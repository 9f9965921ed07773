"""Validation search over a grid of hyper-parameters (no test tag is ever ranked).

    python -m experiments.tune --dataset=lastfm --core=5 --model=pitf \
        --grid=learning_rate:0.001,0.01 --grid=latent_dim:32,64,128 [--seed=0]

Every grid point runs the selection phase of `daeptr.training` (train without the validation
tags, early stopping on --monitor) in `<output_dir>/tune/<dataset>-core<p>/<model>/<point>/`;
finished points are reused. Settings outside the grid are those the table drivers would use
(`tag_tables.settings`: defaults, earlier choices, flags), so one parameter can be searched
after another. Writes the validation metrics and best epoch of every point, best first, in
`tune_<grid names>.csv|md`, and merges the best point into `chosen.json`, which the table
drivers read (--tuned).
"""

from __future__ import annotations

import itertools
import json

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
    "grid", [], "NAME:V1,V2,… — a hyper-parameter of --model, or a training setting, and its values.")

flags.register_validator("model", lambda v: v in models.REGISTRY,
                         message=f"--model must be one of {sorted(models.REGISTRY)}")


flags.register_multi_flags_validator(
    ["grid", "model"],
    lambda v: v["model"] not in models.REGISTRY or tag_tables.parse_grid(v["grid"], v["model"]) is not None)


def main(argv):
    del argv
    name, dataset, core = MODEL.value, DATASET.value, CORE.value
    grid = tag_tables.parse_grid(GRID.value, name)
    split = common.load_split(dataset, core)
    sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)
    base_model, base_train, _ = tag_tables.settings(name, f"{dataset}-core{core}")
    # Selection only: no retraining, no test ranks.
    for unused in ("retrain", "save_ranks"):
        base_train.pop(unused)
    root = tag_tables.chosen_path(f"{dataset}-core{core}", name).parent
    rows = []
    names = list(grid)
    points = list(itertools.product(*grid.values()))
    for values in points:
        point = dict(zip(names, values))
        model_kw = {**base_model, **{k: v for k, v in point.items() if k not in tag_tables.TRAIN_FIELDS}}
        train = {**base_train, **{k: v for k, v in point.items() if k in tag_tables.TRAIN_FIELDS}}
        config = TrainConfig(seed=SEED.value, **train)
        run_dir = root / ("_".join(f"{k}={v}" for k, v in point.items()) or "default") / f"seed{SEED.value}"
        summary = tag_tables.cached_selection(
            run_dir, model_kw, config,
            lambda: select(lambda posts: models.build(name, posts, **sizes, **model_kw,
                                                      seed=SEED.value), split, config, run_dir)[1])
        rows.append({**point, "best_epoch": summary["best_epoch"],
                     **{f"val_{k}": v for k, v in summary["valid"].items()}})
    frame = pd.DataFrame(rows).sort_values(tag_tables.MONITOR.value, ascending=False,
                                           kind="stable")
    # The grid's own values (a row of the frame would turn integers into floats).
    best = {k: grid_values for k, grid_values in zip(names, points[frame.index[0]])}
    chosen_file = root / "chosen.json"
    chosen = json.loads(chosen_file.read_text()) if chosen_file.exists() else {}
    # A smoke run, or a single point, chooses nothing: there was nothing to compare.
    if not tag_tables.QUICK.value and len(frame) > 1:
        chosen_file.write_text(json.dumps({**chosen, **best}, indent=2))
    fixed = {**models.hyperparameters(name), **base_model, **base_train}
    edge = [k for k in names if len(grid[k]) > 2 and best[k] in (min(grid[k]), max(grid[k]))]
    print(results.write_tables(
        root, "tune_" + ("_".join(names) or "default"), frame,
        [f"# Validation search: {name} on {dataset} core-{core} (seed {SEED.value})",
         "Fixed: " + ", ".join(f"{k}={v}" for k, v in fixed.items() if k not in grid) + ".",
         results.markdown_table(frame),
         (f"Chosen (by {tag_tables.MONITOR.value}, written to chosen.json): "
          + ", ".join(f"{k}={v}" for k, v in best.items())
          + (f"; on the edge of the grid: {', '.join(edge)}" if edge else "") + "."
          if len(frame) > 1 and not tag_tables.QUICK.value else
          "Nothing chosen: a single point or a --quick run.")]))


if __name__ == "__main__":
    common.run(main)
