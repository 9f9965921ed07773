"""Negative tags for pairwise (BPR) training, drawn on the device inside the training step.

For a post with tag set S ⊂ {0, …, |T|−1}, a negative is drawn uniformly from the complement
{0, …, |T|−1} \\ S — never one of the post's own tags, without rejection loops. With the
post's tags sorted, s_0 < s_1 < …, the r-th tag (0-based) of the complement is

    x(r) = r + #{ j : s_j − j ≤ r },

because s_j − j counts the complement tags below s_j. So a uniform r ∈ [0, |T| − |S|) maps
to a uniform complement tag with one comparison per post tag.
"""

from __future__ import annotations

import tensorflow as tf

from daeptr import rng
from daeptr.distribute import replica_rows


def complement_sample(tags, num_tags: int, num_samples: int, seed, rows=None) -> tf.Tensor:
    """`num_samples` tags per row, uniform over the tags not in that row, int32 [B, n].

    Args:
      tags: int [B, L], each row a set of distinct tag ids padded with -1.
      num_tags: |T|.
      num_samples: negatives per row (drawn independently, with replacement).
      seed: a `keras.random.SeedGenerator` (or an int) for the draws.
      rows: under `tf.distribute`, the rows' places in the global batch, so that each row
        draws what it draws in one process (`daeptr.distribute.replica_rows`).
    """
    tags = tf.cast(tags, tf.int32)
    present = tags >= 0
    sizes = tf.reduce_sum(tf.cast(present, tf.int32), axis=1)  # |S| per row
    # Padding sorts after every real tag, so its offsets never count.
    sorted_tags = tf.sort(tf.where(present, tags, num_tags + tf.shape(tags)[1]), axis=1)
    offsets = sorted_tags - tf.range(tf.shape(tags)[1])[None, :]  # s_j − j, non-decreasing
    free = tf.maximum(num_tags - sizes, 1)
    uniform = replica_rows(lambda shape: rng.uniform(shape, seed),
                           tf.stack([tf.shape(tags)[0], num_samples]), rows)
    r = tf.minimum(tf.cast(uniform * tf.cast(free[:, None], tf.float32), tf.int32),
                   free[:, None] - 1)
    below = tf.reduce_sum(tf.cast(offsets[:, None, :] <= r[:, :, None], tf.int32), axis=2)
    return r + below
