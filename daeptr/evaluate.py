"""Full-ranking evaluation: every tag is a candidate except the post's input tags.

Scores are computed in batches by a compiled function that returns only the held-out tag's
rank, so the [posts × |T|] score matrix never leaves the device. Per-post ranks are kept for
confidence intervals and independent re-checks.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from daeptr.data.splits import Posts
from daeptr.metrics import ranking_metrics, target_ranks
from daeptr.models.base import float32_scorer
from daeptr.pipeline import post_dataset

NS = (1, 3, 5, 10)

# XLA fuses the ranking's element-wise passes over [B, |T|] (exclude, compare, count) into
# one: Last.fm core-5 test posts on 2 CPU cores, about 0.2 s less at K=512, 2.5x faster at K=16
# (experiments/bench.py). Only the ranking is compiled, not `model.score` (unless the model
# asks for it, `xla_scores`): the scores, hence the ranks, stay bit-identical, and a model
# whose scoring XLA cannot compile still works.
_fused_target_ranks = tf.function(target_ranks, reduce_retracing=True, jit_compile=True)


def rank_targets(model, posts: Posts, batch_size: int = 4096) -> np.ndarray:
    """The 1-based rank of each post's target among its candidates, int32 [P], scored in
    float32 (`float32_scorer`) whatever precision the model computes in."""
    if posts.target is None:
        raise ValueError("evaluation posts need a target tag")
    model = float32_scorer(model)

    batch_size = min(batch_size, getattr(model, "score_batch_size", None) or batch_size)
    dataset = post_dataset(posts, batch_size)
    # One compiled function per model, kept on the model, traced once: batch and padding
    # width are left open, since they differ between the last batch and the others and
    # between the validation and the test posts (a new trace each time otherwise).
    ranks = getattr(model, "_daeptr_rank_fn", None)
    if ranks is None:
        signature = tf.nest.map_structure(
            lambda spec: tf.TensorSpec([None] * spec.shape.rank, spec.dtype), dataset.element_spec)

        score = (tf.function(model.score, jit_compile=True)
                 if getattr(model, "xla_scores", False) else model.score)

        @tf.function(input_signature=[signature])
        def ranks(batch):
            return _fused_target_ranks(score(batch), batch["target"], batch["tags"])

        model._daeptr_rank_fn = ranks
    return np.concatenate([ranks(b).numpy() for b in dataset])


def evaluate(model, posts: Posts, ns=NS, batch_size: int = 4096) -> tuple[dict[str, float], np.ndarray]:
    """Mean Hit@N / NDCG@N over `posts`, and the per-post ranks."""
    ranks = rank_targets(model, posts, batch_size)
    return ranking_metrics(ranks, ns), ranks
