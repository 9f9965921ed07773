"""Commits the settings a validation search chose: merges `chosen.json` of
`experiments.tune` into the validated-settings file the drivers read.

    python -m experiments.promote --dataset=lastfm-core5 --model=pitf [--output_dir=results]
                                  [--validated=experiments/validated.json] [--fill_from=LABEL]

Each value keeps the `experiments.tune` command that chose it; values the search did not
touch stay as they were. Review `<output_dir>/tune/<data set>/<model>/tune_*.md` first.

A search run with `--tuned_from=LABEL` held LABEL's choices fixed; `--fill_from=LABEL`
commits those too, as "not searched: taken from LABEL", for the settings this data set has
no choice of its own for, so that the tables run at the settings the search chose under.
"""

from __future__ import annotations

import json
import re

from absl import flags

from daeptr import results
from experiments import cli, flags as flag_groups, plan
from experiments.settings import chosen_path, format_validated

DATA = flag_groups.data()
DATASET = flag_groups.dataset()
MODEL = flag_groups.model()
VALIDATED = flag_groups.validated()
FILL_FROM = flags.DEFINE_string(
    "fill_from", None, "Data set label whose committed choices for the model fill in the "
    "settings this data set has none of (those the search held fixed under --tuned_from).")


def _grid(source: str, name: str) -> str | None:
    """The values a tune command searched for `name` (its `--grid=name:…`), if any."""
    found = re.search(rf"--grid={re.escape(name)}:(\S+)", source)
    return found.group(1).rstrip(",;") if found else None


def promote(chosen: dict, validated_path, label: str, model: str,
            fill_from: str | None = None) -> dict:
    """The validated-settings file with `chosen` merged in for (label, model), and with
    `fill_from`'s choices for the settings (label, model) still lacks, written."""
    data = json.loads(validated_path.read_text()) if validated_path.exists() else {}
    entry = data.setdefault(label, {}).setdefault(model, {})
    for name, new in chosen.items():
        old = entry.get(name)
        # `chosen.json` holds every earlier search's choice too: a value committed from the
        # same search (the same grid for it) keeps its committed source, which may carry a
        # note or spell the command its own way.
        if not (old and old["value"] == new["value"] and not old["source"].startswith("not searched")
                and _grid(old["source"], name) == _grid(new["source"], name)):
            entry[name] = new
    if fill_from is not None:
        donor = data.get(fill_from, {}).get(model)
        if not donor:
            raise cli.FlagError(f"--fill_from={fill_from}: {validated_path} has no choices "
                                f"for {model} on {fill_from}")
        for name, value in donor.items():
            entry.setdefault(name, {"value": value["value"],
                                    "source": f"not searched: taken from {fill_from}"})
    results._atomic_write(validated_path, format_validated(data))
    return entry


def main(argv):
    del argv
    label, = plan.labels([DATASET.value], "--dataset")
    if FILL_FROM.value is not None:
        plan.labels([FILL_FROM.value], "--fill_from")
        if FILL_FROM.value == label:
            raise cli.FlagError(f"--fill_from={label}: the data set being promoted")
    tree = plan.tree()
    chosen_file = chosen_path(tree, label, MODEL.value)
    if not chosen_file.exists():
        raise cli.FlagError(f"--dataset={label} --model={MODEL.value}: {chosen_file} does not "
                            "exist; run experiments.tune first")
    chosen = json.loads(chosen_file.read_text())
    target = plan.validated_path()
    entry = promote(chosen, target, label, MODEL.value, FILL_FROM.value)
    for name, value in entry.items():
        print(f"{label} {MODEL.value} {name} = {value['value']!r}  ({value['source']})")
    print(f"Wrote {target}")


if __name__ == "__main__":
    cli.run(main)
