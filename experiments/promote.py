"""Commits the settings a validation search chose: merges `chosen.json` of
`experiments.tune` into the validated-settings file the drivers read.

    python -m experiments.promote --dataset=lastfm-core5 --model=pitf [--output_dir=results]
                                  [--validated=experiments/validated.json]

Each value keeps the `experiments.tune` command that chose it; values the search did not
touch stay as they were. Review `<output_dir>/tune/<data set>/<model>/tune_*.md` first.
"""

from __future__ import annotations

import json

from daeptr import results
from experiments import cli, flags as flag_groups, plan
from experiments.settings import chosen_path, format_validated

DATA = flag_groups.data()
DATASET = flag_groups.dataset()
MODEL = flag_groups.model()
VALIDATED = flag_groups.validated()


def promote(chosen: dict, validated_path, label: str, model: str) -> dict:
    """The validated-settings file with `chosen` merged in for (label, model), written."""
    data = json.loads(validated_path.read_text()) if validated_path.exists() else {}
    entry = data.setdefault(label, {}).setdefault(model, {})
    entry.update(chosen)
    results._atomic_write(validated_path, format_validated(data))
    return entry


def main(argv):
    del argv
    label, = plan.labels([DATASET.value], "--dataset")
    tree = plan.tree()
    chosen_file = chosen_path(tree, label, MODEL.value)
    if not chosen_file.exists():
        raise cli.FlagError(f"--dataset={label} --model={MODEL.value}: {chosen_file} does not "
                            "exist; run experiments.tune first")
    chosen = json.loads(chosen_file.read_text())
    target = plan.validated_path()
    entry = promote(chosen, target, label, MODEL.value)
    for name, value in entry.items():
        print(f"{label} {MODEL.value} {name} = {value['value']!r}  ({value['source']})")
    print(f"Wrote {target}")


if __name__ == "__main__":
    cli.run(main)
