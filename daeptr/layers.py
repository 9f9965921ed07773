"""Mask-out corruption of the input tag set, Eq. 7 of DAE-PTR.

    P(ỹ_t = 0)   = c
    P(ỹ_t = y_t) = 1 − c          (c = ``rate``, the corruption level)

The input is a post's tag set as padded ids ``[B, L]`` (pad -1) rather than the
multi-hot ``y ∈ {0,1}^{|T|}``: only the present tags can be dropped (an absent
tag is 0 either way), so the noise is drawn for L ≈ 30 ids instead of |T|.
"""

import numbers

import keras
import tensorflow as tf

from daeptr import rng
from daeptr.distribute import replica_rows


def multi_hot(ids, weights, depth):
    """Densify padded ids into ``[B, depth]``: ``out[b, ids[b, l]] += weights[b, l]``.

    Args:
        ids: int ``[B, L]``, padded with -1. Ids outside ``[0, depth)``
            (padding included) contribute nothing. Ids are expected to be
            unique within a row; a repeated id would add its weights.
        weights: float ``[B, L]``; the output has its dtype.
        depth: number of columns (|T|), a Python int for a static shape.

    Returns:
        ``[B, depth]`` tensor of ``weights.dtype``.
    """
    ids = tf.cast(ids, tf.int32)
    weights = tf.convert_to_tensor(weights)
    valid = (ids >= 0) & (ids < depth)
    batch = tf.shape(ids)[0]
    # Flat segment b·depth + id. Invalid ids are redirected to column 0 with a
    # weight of 0: a -1 (or an id >= depth) would otherwise land in the
    # neighbouring row's segment.
    segments = tf.range(batch)[:, None] * depth + tf.where(valid, ids, 0)
    values = tf.where(valid, weights, tf.zeros_like(weights))
    # unsorted_segment_sum rather than one_hot(ids, depth)-and-reduce: on CPU
    # (B=1024, L=30, |T|=3000) it took 2.4 ms (1.2 ms under XLA) against
    # 44 ms (25 ms) for one_hot, which materialises a [B, L, |T|] tensor;
    # tensor_scatter_nd_add / scatter_nd were in between (2.7–3.4 ms).
    flat = tf.math.unsorted_segment_sum(
        tf.reshape(values, [-1]), tf.reshape(segments, [-1]), batch * depth
    )
    return tf.reshape(flat, [batch, depth])


def weighted_row_sum(ids, weights, table, slots_per_row=4):
    """``out[b] = Σ_l weights[b, l] · table[ids[b, l]]``, the sparse product W·ỹ of Eq. 9.

    Args:
        ids: int ``[B, L]`` row ids, padded with -1 (padding must carry weight 0).
        weights: float ``[B, L]``, 0 at padding and at dropped ids.
        table: ``[N, K]`` rows to add up.
        slots_per_row: the compacted path keeps ``B · slots_per_row`` (id, weight) pairs;
            0 sums over every pair (no compaction).

    Returns:
        ``[B, K]``.

    Only the pairs with a nonzero weight count, and there are few: padding to the widest
    post makes L = 49 on Last.fm core-5 while a post has 2.9 tags on average, and mask-out
    drops most of those. Gathering all B·L rows (a [B, L, K] tensor) and scattering their
    gradient back into ``table`` made DAE-PTR's training step on a 2-core CPU 206.5 ms
    against 129.1 ms without (`python -m experiments.bench`, `reports/bench/`, under XLA).
    So the nonzero pairs are first compacted into ``B · slots_per_row`` slots, in the order
    they come (a running count gives each its slot), and only those rows are gathered and
    summed per post. The number
    of slots must be known when the step is compiled, so when a batch has more nonzero
    pairs than slots the sum is taken over all B·L pairs instead: the result is the same
    sum either way, only the order of the float additions differs.
    """
    if slots_per_row < 0:
        raise ValueError(f"slots_per_row must be >= 0, got {slots_per_row}")
    ids = tf.cast(ids, tf.int32)
    weights = tf.convert_to_tensor(weights)
    table = tf.convert_to_tensor(table)  # a variable is read (and autocast) once
    width = ids.shape[1]  # static under XLA; unknown in a graph traced for any width
    if slots_per_row == 0 or (width is not None and width <= slots_per_row):
        return _every_pair(ids, weights, table)
    if width is None:
        width = tf.shape(ids)[1]
    num_rows, dim = table.shape
    batch = tf.shape(ids)[0]
    capacity = batch * slots_per_row
    flat_ids, flat_weights = tf.reshape(ids, [-1]), tf.reshape(weights, [-1])
    nonzero = flat_weights != 0
    count = tf.reduce_sum(tf.cast(nonzero, tf.int32))
    fits = count <= capacity
    # Slot s receives the flat position of the s-th nonzero pair (a running count); the
    # other pairs all go to one extra slot, cut off after the scatter. Empty slots point at
    # position 0 and get weight 0.
    slot = tf.cumsum(tf.cast(nonzero, tf.int32)) - 1
    slot = tf.where(nonzero & (slot < capacity), slot, capacity)
    position = tf.math.unsorted_segment_sum(tf.range(tf.size(flat_ids)), slot,
                                            capacity + 1)[:capacity]
    slot_weights = tf.where(tf.range(capacity) < count, tf.gather(flat_weights, position),
                            tf.zeros([], weights.dtype))
    slot_ids = tf.maximum(tf.gather(flat_ids, position), 0)
    slot_posts = position // width

    # The gradient is written out because XLA needs the table's row count as a constant
    # where the gradient of a gather inside a tf.cond would compute it.
    @tf.custom_gradient
    def row_sum(table):
        out = tf.cond(fits, lambda: tf.math.unsorted_segment_sum(
            slot_weights[:, None] * tf.gather(table, slot_ids), slot_posts, batch),
            lambda: _every_pair(ids, weights, table))

        def gradient(upstream):  # ∂/∂table[t] = Σ over pairs (b, l) with id t of w·upstream[b]
            return tf.cond(fits, lambda: tf.math.unsorted_segment_sum(
                slot_weights[:, None] * tf.gather(upstream, slot_posts), slot_ids, num_rows),
                lambda: tf.math.unsorted_segment_sum(
                    tf.reshape(weights[..., None] * upstream[:, None, :], [-1, dim]),
                    tf.reshape(tf.maximum(ids, 0), [-1]), num_rows))

        return out, gradient

    return row_sum(table)


def known_rows(table, ids, fill=0):
    """``table[ids]`` for a post's user or item ids, with ``fill`` where an id is negative.

    A negative id is one the model never saw: a serving request for a new user or item
    (`daeptr.serving` maps such strings to -1). Its row is zeros, so that an unknown user or
    item contributes nothing to a post's scores, rather than some other user's preferences.

    Args:
        table: ``[N, ...]`` rows, or a callable (a Keras ``Embedding``) that looks them up.
        ids: int ``[B]``.
        fill: the value of an unknown id's row (0; -1 for tables of ids).
    """
    ids = tf.convert_to_tensor(ids)
    safe = tf.maximum(ids, 0)
    rows = table(safe) if callable(table) else tf.gather(table, safe)
    known = tf.reshape(ids >= 0, tf.concat([tf.shape(ids), tf.ones([rows.shape.rank - 1], tf.int32)], 0))
    return tf.where(known, rows, tf.cast(fill, rows.dtype))


def _every_pair(ids, weights, table):
    rows = tf.gather(table, tf.maximum(ids, 0))  # [B, L, K]; padding has weight 0
    return tf.einsum("bl,blk->bk", weights, rows)


@keras.saving.register_keras_serializable(package="daeptr")
class MaskOut(keras.layers.Layer):
    """Eq. 7: drop each present tag of the input with probability ``rate``.

    Args:
        num_tokens: |T|, the width of the dense output.
        rate: corruption level c in [0, 1]; 1 drops everything.
        rescale: multiply kept entries by 1/(1 − c), as CDAE does, so that
            E[ỹ] = y. The paper's Eq. 7 keeps them at y_t (``False``). With
            c = 1 there is nothing left to rescale and the output is all zeros.
        dense: return the corrupted multi-hot ``[B, num_tokens]`` (True) or the
            per-id weights ``[B, L]`` (False; 0 at padding and at dropped ids)
            for an encoder that gathers W's columns instead of a dense matmul.
        seed: seed of the layer's own ``keras.random.SeedGenerator``; two
            layers with the same seed draw the same sequence of masks; None
            draws a random seed (also when rebuilt from the config).

    Call args:
        inputs: int ``[B, L]`` tag ids, padded with -1.
        training: corrupt only when True; False/None give the clean input.
        rows: int ``[B]``, the posts' rows in the global batch under ``tf.distribute``
            (the batch's ``row``; None in one process).

    Output dtype is the layer's compute dtype (float32 unless a mixed
    precision policy is set).
    """

    def __init__(self, num_tokens, rate, rescale=False, dense=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, numbers.Integral) or num_tokens < 1:
            raise ValueError(
                f"MaskOut: `num_tokens` must be a positive int, got num_tokens={num_tokens!r}"
            )
        num_tokens = int(num_tokens)  # numpy ints would not serialise to JSON
        rate = float(rate)
        if not 0.0 <= rate <= 1.0:  # also rejects NaN
            raise ValueError(f"MaskOut: `rate` must be in [0, 1], got rate={rate!r}")
        self.num_tokens = num_tokens
        self.rate = rate
        self.rescale = bool(rescale)
        self.dense = bool(dense)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # rate == 1 keeps nothing, so the factor is never applied; 1.0 avoids
        # an inf in the graph (inf · 0 = NaN at padding).
        self._keep_scale = 1.0 / (1.0 - rate) if self.rescale and rate < 1.0 else 1.0

    def call(self, inputs, training=None, rows=None):
        ids = tf.cast(inputs, tf.int32)
        y = tf.cast(ids >= 0, self.compute_dtype)
        if training and self.rate > 0.0:
            # u ~ U[0, 1): P(u >= c) = 1 − c, and nothing survives at c = 1. Under
            # tf.distribute, `rows` picks this replica's posts from the global batch's draw.
            u = replica_rows(lambda shape: rng.uniform(shape, self.seed_generator),
                             tf.shape(ids), rows)
            keep = tf.cast(u >= self.rate, y.dtype)
            y = y * keep * tf.cast(self._keep_scale, y.dtype)
        if self.dense:
            return multi_hot(ids, y, self.num_tokens)
        return y

    def compute_output_shape(self, input_shape):
        if self.dense:
            return (input_shape[0], self.num_tokens)
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "num_tokens": self.num_tokens,
            "rate": self.rate,
            "rescale": self.rescale,
            "dense": self.dense,
            "seed": self.seed,
        }
