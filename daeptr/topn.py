"""Top-N item recommendation metrics of the CDDAE paper (§3.2, Eq. 11–14), vectorised in TF.

For user u with top-N list L_N(u) (training positives excluded) and test positives G(u):

    P@N  = mean_u |L_N ∩ G| / N                        Eq. 11 (per user, averaged)
    R@N  = mean_u |L_N ∩ G| / |G|                      Eq. 12
    PU@N = mean_u min(|L_N ∩ G|, 1)                    Eq. 13: share of users with a hit
    RU@N = Σ_u |L_N ∩ G| / Σ_u |G|                     Eq. 14: hits over all test items

Averages run over the users with at least one test positive. Ties at the N-th place are
broken by `tf.math.top_k` (lower item index first); scores of real models are continuous.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

NS = tuple(range(1, 11))


def hits_at(scores, exclude, targets, n_max: int = 10) -> tf.Tensor:
    """Cumulative hits [B, n_max]: entry N−1 counts test items among the top N.

    Args:
      scores: float [B, I].
      exclude: int [B, L] training positives (padded with -1), never recommended.
      targets: int [B, M] test positives (padded with -1).
    """
    scores = tf.convert_to_tensor(scores)
    batch = tf.shape(scores)[0]
    rows = tf.repeat(tf.range(batch)[:, None], tf.shape(exclude)[1], axis=1)
    valid = exclude >= 0
    masked = tf.tensor_scatter_nd_update(
        scores, tf.stack([tf.boolean_mask(rows, valid), tf.boolean_mask(exclude, valid)], 1),
        tf.fill([tf.reduce_sum(tf.cast(valid, tf.int32))], tf.constant(-np.inf, scores.dtype)))
    _, top = tf.math.top_k(masked, k=n_max)  # [B, n_max]
    relevant = tf.reduce_any((top[:, :, None] == targets[:, None, :]) & (targets[:, None, :] >= 0), axis=2)
    return tf.cumsum(tf.cast(relevant, tf.int32), axis=1)


def topn_metrics(hits: np.ndarray, num_targets: np.ndarray, ns=NS) -> dict[str, float]:
    """P@N, R@N, PU@N, RU@N from cumulative hits [U, n_max] and test sizes [U]."""
    keep = num_targets > 0
    hits, num_targets = hits[keep].astype(np.float64), num_targets[keep].astype(np.float64)
    out = {}
    for n in ns:
        h = hits[:, n - 1]
        out[f"p@{n}"] = float(np.mean(h / n))
        out[f"r@{n}"] = float(np.mean(h / num_targets))
        out[f"pu@{n}"] = float(np.mean(h > 0))
        out[f"ru@{n}"] = float(h.sum() / num_targets.sum())
    return out
