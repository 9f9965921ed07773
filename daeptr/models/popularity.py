"""Popularity and co-occurrence floors: no training, counts from the training posts only.

With relative frequencies (counts divided by their row's total) of the training tags,

    global     ŷ(t) = P(t)
    user       ŷ(t) = P(t | u)                                 MP_u
    item       ŷ(t) = P(t | i)                                 MP_i
    user_item  ŷ(t) = α P(t | u) + (1 − α) P(t | i)            MP_u,i (α tuned on validation)
    cooc       ŷ(t) = Σ_{s ∈ post's input tags} P(t | s)       co-occurrence within posts

and every kind adds ε·P(t), ε = 1e-6, so that tags unseen for a user/item/input fall back
to global popularity instead of an arbitrary order. The tables are non-trainable weights:
`model.keras` holds them, and `fit` has nothing to do.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from daeptr.layers import known_rows
from daeptr.models.base import TagRecommender

KINDS = ("global", "user", "item", "user_item", "cooc")
EPSILON = 1e-6


def relative(counts: np.ndarray) -> np.ndarray:
    """Rows divided by their sums (zero rows stay zero), float32."""
    totals = counts.sum(axis=-1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros(counts.shape, np.float32),
                     where=totals > 0).astype(np.float32)


def cooccurrence(posts, num_tags: int) -> np.ndarray:
    """[T, T] number of posts that carry both tags (diagonal: posts that carry the tag)."""
    lengths = posts.lengths
    post_of = np.repeat(np.arange(len(posts)), lengths)
    # Pair every tag entry with every entry of its post.
    repeats = lengths[post_of]
    left = np.repeat(posts.tags, repeats)
    starts = np.repeat(posts.indptr[:-1][post_of], repeats)
    within = np.arange(len(left)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    right = posts.tags[starts + within]
    return np.bincount(left.astype(np.int64) * num_tags + right,
                       minlength=num_tags * num_tags).reshape(num_tags, num_tags)


@keras.saving.register_keras_serializable(package="daeptr")
class Popularity(TagRecommender):
    """A count-based floor of the given `kind` (see the module docstring)."""

    deterministic = True  # no training, no noise: one run stands for every seed

    def __init__(self, num_users: int, num_items: int, num_tags: int, kind: str = "user_item",
                 alpha: float = 0.5, seed: int | None = None, **kwargs):
        # Relative frequencies stay float32 under any dtype policy: bfloat16 (8 bits of
        # mantissa) would round close frequencies to ties, which count against the target.
        super().__init__(**{**kwargs, "dtype": "float32"})
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        self.config = dict(num_users=num_users, num_items=num_items, num_tags=num_tags,
                           kind=kind, alpha=alpha, seed=seed)
        shapes = {"global": (num_tags,)}
        if kind in ("user", "user_item"):
            shapes["user"] = (num_users, num_tags)
        if kind in ("item", "user_item"):
            shapes["item"] = (num_items, num_tags)
        if kind == "cooc":
            shapes["cooc"] = (num_tags, num_tags)
        self.tables = {name: self.add_weight(shape=shape, initializer="zeros", trainable=False,
                                             name=name) for name, shape in shapes.items()}
        self.built = True

    @classmethod
    def from_posts(cls, posts, *, num_users, num_items, num_tags, **hparams):
        model = cls(num_users=num_users, num_items=num_items, num_tags=num_tags, **hparams)
        post_of = np.repeat(np.arange(len(posts)), posts.lengths)

        def by(owner, size):
            flat = owner[post_of].astype(np.int64) * num_tags + posts.tags
            return np.bincount(flat, minlength=size * num_tags).reshape(size, num_tags)

        values = {"global": relative(np.bincount(posts.tags, minlength=num_tags))}
        if "user" in model.tables:
            values["user"] = relative(by(posts.user, num_users))
        if "item" in model.tables:
            values["item"] = relative(by(posts.item, num_items))
        if "cooc" in model.tables:
            pairs = cooccurrence(posts, num_tags).astype(np.float64)
            np.fill_diagonal(pairs, 0)  # a post's own tags are never candidates
            values["cooc"] = relative(pairs)
        for name, value in values.items():
            model.tables[name].assign(value)
        return model

    def call(self, inputs, training=False):
        kind, alpha, t = self.config["kind"], self.config["alpha"], self.tables
        fallback = EPSILON * t["global"][None, :] * tf.ones_like(inputs["user"], tf.float32)[:, None]
        if kind == "global":
            return fallback / EPSILON
        # An unseen (negative) user or item has no counts: the global fallback ranks.
        if kind == "user":
            return known_rows(t["user"], inputs["user"]) + fallback
        if kind == "item":
            return known_rows(t["item"], inputs["item"]) + fallback
        if kind == "user_item":
            return (alpha * known_rows(t["user"], inputs["user"])
                    + (1 - alpha) * known_rows(t["item"], inputs["item"]) + fallback)
        # Σ_{s ∈ input} P(· | s) as a sparse [B, T] × dense [T, T] product: a gather of
        # [B, L, T] rows would hold L times the scores.
        tags = tf.cast(inputs["tags"], tf.int64)
        where = tf.where(tags >= 0)
        inputs_sparse = tf.sparse.SparseTensor(
            tf.stack([where[:, 0], tf.gather_nd(tags, where)], axis=1),
            tf.ones(tf.shape(where)[:1], tf.float32),
            tf.stack([tf.shape(tags, out_type=tf.int64)[0], self.config["num_tags"]]))
        return tf.sparse.sparse_dense_matmul(inputs_sparse, t["cooc"]) + fallback

    def get_config(self):
        return {**super().get_config(), **self.config}
