"""Table 1 of DAE-PTR: data set statistics, raw and after the p-core filter.

    python -m experiments.table1 [--data_dir=…] [--output_dir=results]
                                 [--datasets=lastfm-core5,lastfm-core10,ml10m-core5,ml10m-core10]

Writes `table1.csv` and `table1.md` to --output_dir and prints the Markdown: the raw
statistics of Last.fm and ML10M beside the paper's Table 1, and for each p-core the users,
items, tags, assignments, posts, test posts, validation posts, single-tag posts (empty test
input) and posts whose latest timestamp is shared by several tags.
"""

from __future__ import annotations

import pandas as pd

from daeptr import results
from daeptr.data import datasets
from experiments import cli, flags as flag_groups, plan, tasks

DATA = flag_groups.data()
DATASETS = flag_groups.datasets()
DEFAULTS = {"datasets": ["lastfm-core5", "lastfm-core10", "ml10m-core5", "ml10m-core10"]}


def table1(labels, options: tasks.DataOptions) -> tuple[pd.DataFrame, list[str]]:
    """Returns the statistics (one row per data set and source) and the Markdown sections."""
    parsed = [tasks.parse(label) for label in labels]
    names = list(dict.fromkeys(name for name, _, _ in parsed))
    rows = []
    for name in names:
        assignments = tasks.tag_assignments(name, options)
        rows.append({"dataset": name, "source": "paper", **results.PAPER_TABLE1[name]})
        rows.append({"dataset": name, "source": "raw", **datasets.raw_statistics(assignments)})
        for _, core, _ in (p for p in parsed if p[0] == name):
            split = tasks.tag_split(name, core, options, assignments)
            rows.append({"dataset": name, "source": f"core{core}", **split.statistics()})
    frame = pd.DataFrame(rows)
    counts = frame.columns[2:]
    frame[counts] = frame[counts].astype("Int64")  # integers, empty where not applicable

    raw_view = frame[frame["source"].isin(["paper", "raw"])]
    raw_view = raw_view[["dataset", "source", "users", "items", "tags", "assignments"]]
    matches = []
    for name in names:
        got = raw_view[(raw_view.dataset == name) & (raw_view.source == "raw")].iloc[0]
        matches.append(all(int(got[k]) == v for k, v in results.PAPER_TABLE1[name].items()))
    core_view = frame[frame["source"].str.startswith("core")]
    sections = [
        "# Table 1: data set statistics" + (" (--smoke: synthetic data)" if options.smoke else ""),
        "## Raw data vs the paper's Table 1",
        results.markdown_table(raw_view),
        "Equal to the paper: " + ", ".join(
            f"{n} {'yes' if ok else 'NO'}" for n, ok in zip(names, matches)),
        f"## p-cores and leave-last-tag-out split (tie_break={options.tie_break}, "
        f"split_seed={options.split_seed}, valid_min_tags={options.valid_min_tags})",
        results.markdown_table(core_view),
        "posts = (user, item) pairs; test posts = all posts (one held-out tag each); "
        f"validation posts = posts with ≥ {options.valid_min_tags} tags; single-tag posts have "
        "an empty test input; "
        "tied posts have several tags at their latest timestamp.",
    ]
    return frame, sections


def main(argv):
    del argv
    labels = plan.labels(DATASETS.value, "--datasets")
    if any(tasks.parse(label)[0] not in tasks.TAG_SETS for label in labels):
        raise cli.FlagError(f"--datasets={','.join(labels)}: Table 1 covers lastfm-coreP and "
                            "ml10m-coreP")
    tree = plan.tree()
    frame, sections = table1(labels, plan.data_options())
    print(results.write_tables(tree, "table1", frame, sections))


if __name__ == "__main__":
    cli.run(main, DEFAULTS)
