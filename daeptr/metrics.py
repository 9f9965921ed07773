"""Hit@N and NDCG@N under the leave-one-out protocol of DAE-PTR (Sec. 5.2).

The paper names the metrics without numbering their equations.

Each test case holds out one tag of a post; the model ranks every tag except
the post's known (training) tags, and the metrics read the held-out tag's rank:

    Hit@N  = 1[rank ≤ N]
    NDCG@N = 1[rank ≤ N] / log2(rank + 1)      (one relevant tag, so IDCG = 1)

Hit@1 and NDCG@1 therefore coincide, as in the paper's Table 2.
"""

import numpy as np
import tensorflow as tf

from daeptr.layers import multi_hot


def target_ranks(scores, targets, exclude_ids):
    """1-based rank of each target among the non-excluded candidates.

    rank = 1 + #{t ≠ target, t not excluded : s_t ≥ s_target}

    Args:
        scores: float ``[B, T]``, higher is better.
        targets: int ``[B]``, the held-out tag of each case.
        exclude_ids: int ``[B, L]`` padded with -1, tags removed from the
            candidates (the post's known tags). Whether the target itself is
            listed does not matter: it is never counted against itself.

    Returns:
        int32 ``[B]``.
    """
    scores = tf.convert_to_tensor(scores)
    targets = tf.cast(targets, tf.int32)
    num_tags = tf.shape(scores)[-1]
    target_score = tf.gather(scores, targets, batch_dims=1)[:, None]
    excluded = multi_hot(exclude_ids, tf.ones_like(exclude_ids, tf.float32), num_tags) > 0.0
    is_target = tf.one_hot(targets, num_tags, on_value=True, off_value=False)
    # Ties count against the target: otherwise a model that scores every tag
    # the same would rank every target first and get Hit@1 = 1. Written as
    # "not below" rather than ">=" so that NaN scores also count against the
    # target, and a NaN target score ranks last instead of first.
    at_least_as_good = tf.logical_not(scores < target_score)
    competitors = at_least_as_good & ~excluded & ~is_target
    return 1 + tf.reduce_sum(tf.cast(competitors, tf.int32), axis=-1)


def _check_cutoff(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"the cut-off `n` must be a positive int, got n={n!r}")
    return int(n)


def hit_at_n(ranks, n):
    """float32 ``[B]``: 1 where rank ≤ n, else 0."""
    n = _check_cutoff(n)
    return tf.cast(tf.convert_to_tensor(ranks) <= n, tf.float32)


def ndcg_at_n(ranks, n):
    """float32 ``[B]``: 1/log2(rank + 1) where rank ≤ n, else 0."""
    n = _check_cutoff(n)
    ranks = tf.cast(ranks, tf.float32)
    gain = tf.math.log(2.0) / tf.math.log(ranks + 1.0)
    return tf.where(ranks <= n, gain, tf.zeros_like(gain))


def ranking_metrics(ranks, ns=(1, 3, 5, 10)):
    """Mean Hit@N and NDCG@N over the cases, as Python floats.

    Returns:
        ``{"hit@1": ..., "hit@3": ..., ..., "ndcg@1": ..., ...}`` for each n
        in ``ns`` (all hits first, then all NDCGs).
    """
    ns = tuple(_check_cutoff(n) for n in ns)
    if not ns:
        raise ValueError(f"`ns` must list at least one cut-off, got ns={ns!r}")
    ranks = tf.convert_to_tensor(ranks)
    if ranks.shape.rank != 1 or ranks.shape[0] == 0:
        raise ValueError(f"`ranks` must be a non-empty [B] vector, got shape {ranks.shape}")
    metrics = {f"hit@{n}": float(tf.reduce_mean(hit_at_n(ranks, n)).numpy()) for n in ns}
    metrics.update({f"ndcg@{n}": float(tf.reduce_mean(ndcg_at_n(ranks, n)).numpy()) for n in ns})
    return metrics
