"""tf.data pipelines that stream compact post batches.

A batch is a dict of int32 tensors: `user` [B], `item` [B], `tags` [B, L] (the post's input
tags, padded with -1 to the fixed width L of the whole set, so that compiled steps see one
shape) and, for evaluation, `target` [B]. Densification and corruption happen later, inside
the model on the accelerator: the host only gathers index rows.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from daeptr.data.splits import Posts

PAD = -1


def post_dataset(
    posts: Posts,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int | None = None,
    width: int | None = None,
    extra: dict[str, np.ndarray] | None = None,
    rows: bool = False,
) -> tf.data.Dataset:
    """Batches of `posts`; with `shuffle`, a new seeded order every epoch.

    `extra` adds per-row arrays (first axis = posts) as further batch entries, e.g. the user
    profile features or the padded test items of top-N recommendation. `rows` adds `row`,
    each post's place in its batch, which a replica under `tf.distribute` needs to draw its
    posts' noise as one process would (`daeptr.distribute.replica_rows`).

    The order of epoch e depends only on (seed, e), so a run repeats under the same seed.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if len(posts) == 0:
        raise ValueError("cannot build a dataset from zero posts")
    columns = {
        "user": tf.constant(posts.user, tf.int32),
        "item": tf.constant(posts.item, tf.int32),
        "tags": tf.constant(posts.padded(PAD, width), tf.int32),
    }
    if posts.target is not None:
        columns["target"] = tf.constant(posts.target, tf.int32)
    for name, array in (extra or {}).items():
        if len(array) != len(posts):
            raise ValueError(f"extra[{name!r}] has {len(array)} rows for {len(posts)} posts")
        columns[name] = tf.constant(array)

    # Shuffle and batch row indices, then gather whole batches: one vectorised gather per
    # batch instead of per-example slicing.
    indices = tf.data.Dataset.range(len(posts))
    if shuffle:
        indices = indices.shuffle(len(posts), seed=seed, reshuffle_each_iteration=True)
    # The host work per batch is one gather, so tf.data's autotuning buys nothing; shutting
    # its thread down when an iterator is freed stalled 0.2-5 s per epoch or evaluation on
    # a 2-core CPU (experiments/bench.py). A fixed prefetch of 2 batches overlaps host and
    # device work as well.
    options = tf.data.Options()
    options.autotune.enabled = False
    def gather(idx):
        batch = {k: tf.gather(v, idx) for k, v in columns.items()}
        if rows:
            batch["row"] = tf.range(tf.shape(idx)[0], dtype=tf.int32)
        return batch

    return indices.batch(batch_size).map(gather).prefetch(2).with_options(options)


def max_width(*post_sets: Posts) -> int:
    """The padding width that fits every post of every set (at least 1)."""
    return max([1] + [int(np.max(p.lengths, initial=0)) for p in post_sets])
