"""EASE-PTR: a closed-form linear tag auto-encoder (Steck, "Embarrassingly Shallow
Autoencoders", WWW 2019) whose input also holds the user's and the item's tag profiles.

For a post (u, i) with input tags y ∈ {0,1}^|T| the input is

    x = [ y,  β_u·h_u,  β_i·h_i,  1 ] ∈ R^D,   D = 3|T| + 1
    h_u = (C_u − y)⁺ / Σ_t (C_u − y)⁺_t                       the user's other posts' tags
    h_i = (C_i − y)⁺ / Σ_t (C_i − y)⁺_t                       the item's other posts' tags

with C_u, C_i ∈ N^|T| the user's and item's tag counts over the training posts, so that a
post never sees its own tags through its profiles (in training as at test time), and the
constant 1 gives each tag an intercept. The scores are ŷ = x·B, with B ∈ R^{D×|T|} from

    min_B ‖Y − X B‖²_F + λ‖B‖²_F   s.t.  B_tt = 0 for every tag t          Eq. (EASE)

over the training posts' rows X (Y, the tag block of X, is the target). With
P = (XᵀX + λI)⁻¹ its solution, by the Lagrangian as in Steck's Eq. 4, is

    B = I_{:, :|T|} − P_{:, :|T|} · diag(P_tt)⁻¹                         Eq. (closed form)

(the column of tag t is e_t − P_{:,t} / P_tt), since XᵀY is the first |T| columns of XᵀX.
With β_u = β_i = 0 and no intercept this is Steck's EASE over post tag vectors. No
gradient training: `from_posts` solves for B, which is a non-trainable weight.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from daeptr.layers import known_rows, multi_hot
from daeptr.models.base import TagRecommender
from daeptr.pipeline import post_dataset

CHUNK = 4096  # posts per block of the Gram matrix: a [CHUNK, D] float32 block at a time


def owner_counts(owner: np.ndarray, posts, size: int, num_tags: int) -> np.ndarray:
    """[size, T] float32 tag counts of each user (or item) `owner[p]` over `posts`."""
    post_of = np.repeat(np.arange(len(posts)), posts.lengths)
    flat = owner[post_of].astype(np.int64) * num_tags + posts.tags
    return np.bincount(flat, minlength=size * num_tags).reshape(size, num_tags).astype(np.float32)


def solve(gram: np.ndarray, l2: float, num_tags: int) -> np.ndarray:
    """B of the closed form from XᵀX [D, D]: float64 inverse, float32 result [D, T]."""
    p = np.linalg.inv(gram + l2 * np.eye(len(gram)))
    b = -p[:, :num_tags] / np.diag(p)[:num_tags]
    b[np.arange(num_tags), np.arange(num_tags)] = 0.0  # e_t − P_tt / P_tt
    return b.astype(np.float32)


@keras.saving.register_keras_serializable(package="daeptr")
class EASE(TagRecommender):
    """EASE over post tag vectors with the user's and item's tag profiles as extra inputs.

    Args:
      num_users, num_items, num_tags: |U|, |I|, |T|.
      l2: λ of Eq. (EASE), on the scale of XᵀX (a count of posts).
      user_weight, item_weight: β_u, β_i (0: leave that profile out of x).
      seed: unused (the solution is deterministic); kept for the drivers' common signature.
    """

    deterministic = True  # a closed form: one run stands for every seed

    def __init__(self, num_users: int, num_items: int, num_tags: int, l2: float = 100.0,
                 user_weight: float = 1.0, item_weight: float = 1.0, seed: int | None = None,
                 **kwargs):
        # The scores stay float32 whatever the policy: bfloat16 would tie close scores.
        super().__init__(**{**kwargs, "dtype": "float32"})
        if l2 <= 0:
            raise ValueError(f"l2 must be > 0 (λ makes XᵀX + λI invertible), got {l2}")
        if user_weight < 0 or item_weight < 0:
            raise ValueError(f"user_weight and item_weight must be >= 0, got "
                             f"{user_weight} and {item_weight}")
        self.config = dict(num_users=num_users, num_items=num_items, num_tags=num_tags, l2=l2,
                           user_weight=user_weight, item_weight=item_weight, seed=seed)
        self.blocks = [b for b, w in (("user", user_weight), ("item", item_weight)) if w > 0]
        size = {"user": num_users, "item": num_items}
        self.counts = {b: self.add_weight(shape=(size[b], num_tags), initializer="zeros",
                                          trainable=False, name=f"C_{b}") for b in self.blocks}
        self.B = self.add_weight(shape=(self.input_dim, num_tags), initializer="zeros",
                                 trainable=False, name="B")
        self.built = True

    @property
    def input_dim(self) -> int:
        return self.config["num_tags"] * (1 + len(self.blocks)) + 1

    @classmethod
    def from_posts(cls, posts, *, num_users, num_items, num_tags, **hparams):
        model = cls(num_users=num_users, num_items=num_items, num_tags=num_tags, **hparams)
        owners = {"user": (posts.user, num_users), "item": (posts.item, num_items)}
        for b in model.blocks:
            model.counts[b].assign(owner_counts(owners[b][0], posts, owners[b][1], num_tags))
        # XᵀX block by block, from the same `features` that score (float32 products, a
        # float64 sum of the blocks).
        gram = np.zeros((model.input_dim,) * 2)
        for batch in post_dataset(posts, CHUNK):
            x = model.features(batch)
            gram += tf.matmul(x, x, transpose_a=True).numpy()
        model.B.assign(solve(gram, model.config["l2"], num_tags))
        return model

    @tf.function
    def features(self, inputs):
        """x of the module docstring for a batch of posts, [B, D]."""
        tags = inputs["tags"]
        y = multi_hot(tags, tf.cast(tags >= 0, tf.float32), self.config["num_tags"])
        parts = [y]
        for b in self.blocks:
            rest = tf.maximum(known_rows(self.counts[b], inputs[b]) - y, 0.0)
            total = tf.reduce_sum(rest, axis=1, keepdims=True)
            parts.append(self.config[f"{b}_weight"] * tf.math.divide_no_nan(rest, total))
        parts.append(tf.ones_like(y[:, :1]))
        return tf.concat(parts, axis=1)

    def call(self, inputs, training=False):
        return tf.matmul(self.features(inputs), self.B)  # ŷ = x·B

    def get_config(self):
        return {**super().get_config(), **self.config}
