"""Validation search over a grid of hyper-parameters (no test tag is ever ranked).

    python -m experiments.tune --dataset=lastfm-core5 --model=pitf \
        --grid=learning_rate:0.001,0.01 --grid=latent_dim:32,64,128 [--seeds=0,1]

Every grid point runs the selection phase of `daeptr.training` (train without the validation
targets, early stopping on the monitored metric) for every seed (and every fold of
`ml100k`) through the run loop (`experiments.runs.choose`, which `experiments.sweep
--retune` shares), in `<output_dir>/tune/<data set>/<model>/<part>/<model>/<point>/`; finished
points are reused. Settings outside the grid are those the table drivers would use
(`experiments.settings`: defaults, earlier choices, flags), so one parameter can be searched
after another. Writes every point's mean validation metrics and best epoch, best first, in
`tune_<grid names>.csv|md`, and merges the best point into `chosen.json`, which the table
drivers read (--tuned).
"""

from __future__ import annotations

import itertools
import json


from daeptr import models, results
from daeptr.training import write_json_atomic
from experiments import cli, flags as flag_groups, plan, runs, tasks
from experiments.settings import chosen_path, parse_grid, resolve

DATA = flag_groups.data()
ITEM_DATA = flag_groups.item_data()
TRAINING = flag_groups.training()
DATASET = flag_groups.dataset()
MODEL = flag_groups.model()
GRID = flag_groups.grid()


def main(argv):
    del argv
    name = MODEL.value
    if name not in models.REGISTRY:
        raise cli.FlagError(f"--model={name}: choose from {sorted(models.REGISTRY)}")
    label, = plan.labels([DATASET.value], "--dataset")
    grid = plan.flag_error(parse_grid, GRID.value, name)
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    options = plan.data_options()
    request = plan.request()
    seeds = plan.seeds()
    plan.check([name], [label], request, points, "--grid")

    parts = tasks.load(label, options)
    base = resolve(name, label, request)
    root = chosen_path(request.tree, label, name).parent
    best, frame = runs.choose(name, parts, base, points, seeds, root, mode=plan.mode(),
                              overwrite=TRAINING.overwrite.value,
                              progress=runs.Progress(len(points) * len(parts) * len(seeds),
                                                    int(TRAINING.verbose.value),
                                                    flag_groups.backup_policy(TRAINING)))
    monitor = base.train["monitor"]
    frame = frame.sort_values(monitor, ascending=False, kind="stable")
    # A smoke or quick run, or a single point, chooses nothing: there was nothing to compare.
    chooses = plan.mode() == "full" and len(frame) > 1
    if chooses:
        chosen_file = root / "chosen.json"
        chosen = json.loads(chosen_file.read_text()) if chosen_file.exists() else {}
        # Each value with the command that chose it, as `experiments.promote` commits it.
        source = cli.command(dataset=label, model=name)
        write_json_atomic(chosen_file, {**chosen, **{k: {"value": v, "source": source}
                                                     for k, v in best.items()}})
    fixed = {**models.hyperparameters(name), **base.hparams, **base.train}
    edge = [k for k in grid if len(grid[k]) > 2 and best[k] in (min(grid[k]), max(grid[k]))]
    print(results.write_tables(
        root, "tune_" + ("_".join(grid) or "default"), frame,
        [f"# Validation search: {name} on {label} (seeds {', '.join(map(str, seeds))})"
         + plan.MODE_TITLES[plan.mode()],
         "Fixed: " + ", ".join(f"{k}={v}" for k, v in fixed.items() if k not in grid) + ".",
         results.markdown_table(frame),
         (f"Chosen (by {monitor}, mean over seeds and folds, written to chosen.json): "
          + ", ".join(f"{k}={v}" for k, v in best.items())
          + (f"; on the edge of the grid: {', '.join(edge)}" if edge else "") + "."
          if chooses else "Nothing chosen: a single point or a --quick / --smoke run.")]))


if __name__ == "__main__":
    cli.run(main)
