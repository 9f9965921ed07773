"""Effect of the tie-break rule of the leave-last-tag-out split (BUILD_NOTES.md).

    python -m experiments.tie_break [--data_dir=…] [--output_dir=results]
                                    [--datasets=lastfm-core5,ml10m-core5]

For each rule and data set: the share of test tags the user has used on another post of the
training data, and Hit@3 of a per-user popularity ranking (the user's most frequent training
tags, ties by global frequency; the post's input tags excluded) — a model-free view of how
much the rule hides from a personalized model.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from daeptr import results
from daeptr.data import splits
from daeptr.metrics import ranking_metrics, target_ranks
from experiments import cli, flags as flag_groups, plan, tasks

DATA = flag_groups.data()
DATASETS = flag_groups.datasets()
DEFAULTS = {"datasets": ["lastfm-core5", "ml10m-core5"]}


def user_popularity_ranks(split: splits.TagSplit) -> tuple[np.ndarray, float]:
    """Ranks of the test tags under per-user popularity, and the share seen by the user."""
    train = split.train_posts("test")
    post_user = np.repeat(train.user, train.lengths)
    counts = np.zeros((split.num_users, split.num_tags), np.float32)
    np.add.at(counts, (post_user, train.tags), 1.0)
    overall = counts.sum(0)
    scores_by_user = counts + overall / (overall.max() + 1.0)  # global frequency breaks ties
    test = split.eval_posts("test")
    # The user's count includes this post's own input tags; they are excluded anyway.
    seen = counts[test.user, test.target] > 0
    ranks = target_ranks(scores_by_user[test.user], test.target, test.padded())
    return ranks.numpy(), float(seen.mean())


def main(argv):
    del argv
    labels = plan.labels(DATASETS.value, "--datasets")
    if any(tasks.parse(label)[0] not in tasks.TAG_SETS for label in labels):
        raise cli.FlagError(f"--datasets={','.join(labels)}: tag data sets only (lastfm-coreP, "
                            "ml10m-coreP)")
    tree = plan.tree()
    options = plan.data_options()
    rows = []
    for label in labels:
        name, core, _ = tasks.parse(label)
        assignments = tasks.tag_assignments(name, options)
        for rule in splits.TIE_BREAKS:
            split = tasks.tag_split(name, core, dataclasses.replace(options, tie_break=rule),
                                    assignments)
            ranks, seen = user_popularity_ranks(split)
            metrics = ranking_metrics(ranks, (1, 3, 10))
            rows.append({"dataset": label, "tie_break": rule,
                         "test tag used by the user elsewhere": seen,
                         "MP_u hit@3": metrics["hit@3"], "MP_u ndcg@3": metrics["ndcg@3"]})
    frame = pd.DataFrame(rows)
    print(results.write_tables(tree, "tie_break", frame,
                               ["# Tie-break rule of the split", results.markdown_table(frame)]))


if __name__ == "__main__":
    cli.run(main, DEFAULTS)
