"""Table 1 of DAE-PTR: data set statistics, raw and after the p-core filter.

    python -m experiments.table1 [--data_dir=…] [--output_dir=results]

Writes `table1.csv` and `table1.md` to --output_dir and prints the Markdown: the raw
statistics of Last.fm and ML10M beside the paper's Table 1, and for each p-core the users,
items, tags, assignments, posts, test posts, validation posts, single-tag posts (empty test
input) and posts whose latest timestamp is shared by several tags.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd
from absl import app, flags

from daeptr import results
from daeptr.data import datasets, pcore, splits
from experiments import flags as common

CORES = flags.DEFINE_list("cores", ["5", "10"], "p-core levels.")
DATASETS = flags.DEFINE_list("datasets", ["lastfm", "ml10m"], "Tag data sets.")


def table1(
    names: Sequence[str],
    cores: Sequence[int],
    *,
    data_dir=None,
    download: bool = True,
    tie_break: str = "random",
    split_seed: int = 0,
) -> tuple[pd.DataFrame, list[str]]:
    """Returns the statistics (one row per data set and source) and the Markdown sections."""
    rows = []
    for name in names:
        assignments = datasets.load_tags(name, data_dir, download=download)
        raw = datasets.raw_statistics(assignments)
        rows.append({"dataset": name, "source": "paper", **results.PAPER_TABLE1[name]})
        rows.append({"dataset": name, "source": "raw", **raw})
        for p in cores:
            core, _ = pcore.p_core(assignments, p)
            split = splits.leave_last_tag_out(core, tie_break=tie_break, seed=split_seed)
            rows.append({"dataset": name, "source": f"core{p}", **split.statistics()})
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
        "# Table 1: data set statistics",
        "## Raw data vs the paper's Table 1",
        results.markdown_table(raw_view),
        "Equal to the paper: " + ", ".join(
            f"{n} {'yes' if ok else 'NO'}" for n, ok in zip(names, matches)),
        f"## p-cores and leave-last-tag-out split (tie_break={tie_break}, split_seed={split_seed})",
        results.markdown_table(core_view),
        "posts = (user, item) pairs; test posts = all posts (one held-out tag each); "
        "validation posts = posts with ≥ 3 tags; single-tag posts have an empty test input; "
        "tied posts have several tags at their latest timestamp.",
    ]
    return frame, sections


def main(argv):
    del argv
    try:
        cores = [int(c) for c in CORES.value]
    except ValueError:
        raise app.UsageError(f"--cores must be integers, got {CORES.value}") from None
    frame, sections = table1(
        DATASETS.value, cores,
        data_dir=common.DATA_DIR.value, download=common.DOWNLOAD.value,
        tie_break=common.TIE_BREAK.value, split_seed=common.SPLIT_SEED.value,
    )
    print(results.write_tables(common.OUTPUT_DIR.value, "table1", frame, sections))


if __name__ == "__main__":
    common.run(main)
