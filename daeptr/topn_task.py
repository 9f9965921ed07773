"""Top-N item recommendation as a task of `daeptr.training` (the CDDAE paper's protocol).

Rows are users: the input "tags" are the phase's training positives, `profile` the user's
feature vector, `item_profile` the genre profile of their training positives. Evaluation
ranks every item except the training positives and counts hits among the held-out
positives (validation: the carved-out part of the base; test: the fold's `.test`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from daeptr.data.ml100k import ItemSplit
from daeptr.data.splits import Posts
from daeptr.models.base import float32_scorer
from daeptr.pipeline import PAD, max_width, post_dataset
from daeptr.topn import NS, hits_at, topn_metrics


def _padded(csr, width=None) -> np.ndarray:
    indptr, items = csr
    return Posts(np.zeros(len(indptr) - 1, np.int32), np.zeros(len(indptr) - 1, np.int32),
                 indptr, items).padded(PAD, width)


class TopNTask:
    """Top-N recommendation on one fold; metrics P/R/PU/RU@N for N in `ns`."""

    def __init__(self, split: ItemSplit, ns=NS):
        self.split, self.ns = split, ns
        self.width = max_width(split.rows("test"))
        self._hits = tf.function(hits_at, reduce_retracing=True)
        # A phase's rows, profiles, padded targets and target counts never change: built
        # once, not at every validation evaluation.
        self._phase = {phase: (split.rows(phase),
                               {"profile": split.user_profile,
                                "item_profile": split.genre_profile(phase)},
                               _padded(split.targets(phase)),
                               np.diff(split.targets(phase)[0]))
                       for phase in ("valid", "test")}

    def train_rows(self, phase: str) -> Posts:
        return self._phase[phase][0]

    def train_dataset(self, phase: str, batch_size: int, seed: int, rows: bool = False):
        users, features, _, _ = self._phase[phase]
        return post_dataset(users, batch_size, shuffle=True, seed=seed, width=self.width,
                            extra=features, rows=rows)

    def evaluate(self, model, phase: str, batch_size: int):
        """(metrics, extra metrics.json entries, cumulative hits [U, 10] per user)."""
        rows, features, targets, sizes = self._phase[phase]
        model = float32_scorer(model)  # rankings in float32 whatever the training precision
        hits = np.concatenate([
            self._hits(model.score(batch), batch["tags"], batch["targets"], max(self.ns)).numpy()
            for batch in post_dataset(rows, batch_size, width=self.width,
                                      extra={**features, "targets": targets})])
        return topn_metrics(hits, sizes, self.ns), {"users_evaluated": int((sizes > 0).sum())}, hits

    def fingerprint(self) -> str:
        return self.split.fingerprint()
