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

    def train_rows(self, phase: str) -> Posts:
        return self.split.rows(phase)

    def _features(self, phase: str) -> dict[str, np.ndarray]:
        return {"profile": self.split.user_profile,
                "item_profile": self.split.genre_profile(phase)}

    def train_dataset(self, phase: str, batch_size: int, seed: int):
        return post_dataset(self.train_rows(phase), batch_size, shuffle=True, seed=seed,
                            width=self.width, extra=self._features(phase))

    def evaluate(self, model, phase: str, batch_size: int):
        """(metrics, extra metrics.json entries, cumulative hits [U, 10] per user)."""
        targets = self.split.targets(phase)
        extra = {**self._features(phase), "targets": _padded(targets)}
        n_max = max(self.ns)
        hits = np.concatenate([
            self._hits(model.score(batch), batch["tags"], batch["targets"], n_max).numpy()
            for batch in post_dataset(self.train_rows(phase), batch_size, width=self.width,
                                      extra=extra)])
        sizes = np.diff(targets[0])
        return topn_metrics(hits, sizes, self.ns), {"users_evaluated": int((sizes > 0).sum())}, hits

    def fingerprint(self) -> str:
        return self.split.fingerprint()
