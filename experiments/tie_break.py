"""Effect of the tie-break rule of the leave-last-tag-out split (BUILD_NOTES.md).

    python -m experiments.tie_break [--data_dir=…] [--output_dir=results] [--core=5]

For each rule and data set: the share of test tags the user has used on another post of the
training data, and Hit@3 of a per-user popularity ranking (the user's most frequent training
tags, ties by global frequency; the post's input tags excluded) — a model-free view of how
much the rule hides from a personalized model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from absl import flags

from daeptr import results
from daeptr.data import datasets, pcore, splits
from daeptr.metrics import ranking_metrics, target_ranks
from experiments import flags as common

CORE = flags.DEFINE_integer("core", 5, "p-core level.", lower_bound=1)
DATASETS = flags.DEFINE_list("datasets", ["lastfm", "ml10m"], "Tag data sets.")


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
    rows = []
    for name in DATASETS.value:
        core, _ = pcore.p_core(datasets.load_tags(name, common.DATA_DIR.value,
                                                  download=common.DOWNLOAD.value), CORE.value)
        for rule in splits.TIE_BREAKS:
            split = splits.leave_last_tag_out(core, tie_break=rule, seed=common.SPLIT_SEED.value)
            ranks, seen = user_popularity_ranks(split)
            metrics = ranking_metrics(ranks, (1, 3, 10))
            rows.append({"dataset": f"{name}-core{CORE.value}", "tie_break": rule,
                         "test tag used by the user elsewhere": seen,
                         "MP_u hit@3": metrics["hit@3"], "MP_u ndcg@3": metrics["ndcg@3"]})
    frame = pd.DataFrame(rows)
    print(results.write_tables(common.OUTPUT_DIR.value, "tie_break", frame,
                               ["# Tie-break rule of the split", results.markdown_table(frame)]))


if __name__ == "__main__":
    common.run(main)
