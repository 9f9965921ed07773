"""ABNT: attention-based neural tag recommendation (Yuan et al., DASFAA 2019).

An MLP scores a (user, item, tag) triple from the embeddings of the three and an attention
pooling of the user's tagging history:

    a_j = softmax_j( ⟨W_q [e_u; e_i], e_{h_j}⟩ / √K )        attention over history tags h_j
    h   = Σ_j a_j e_{h_j}
    ŷ(u, i, t) = w₃ᵀ relu(W₂ relu(W₁ [e_u; e_i; h; e_t] + b₁) + b₂) + b₃

Trained with BPR like PITF (`pairwise.py`); two hidden layers as DAE-PTR §5.3 sets them.
Only the abstract of the ABNT paper was available here. Our choices (BUILD_NOTES.md): the
history of a user is their `history_length` most frequent training tags (the split keeps no
cross-post order, and the frequency profile is what the history summarises for ranking); the
attention query is the post (user, item), not the candidate tag, so that the history is pooled
once per post. W₁ acts on a concatenation, so it splits into a post part and a tag part and
all |T| candidates are scored with one [B, |T|, H] pass (`score_batch_size` bounds B).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from daeptr.layers import known_rows
from daeptr.models.pairwise import PairwiseTagModel
from daeptr.regularizers import HalfL2


def frequent_tags(posts, num_users: int, num_tags: int, length: int) -> np.ndarray:
    """Each user's `length` most frequent tags in `posts` (ties: lower id), -1 padded."""
    post_of = np.repeat(np.arange(len(posts)), posts.lengths)
    counts = np.bincount(posts.user[post_of].astype(np.int64) * num_tags + posts.tags,
                         minlength=num_users * num_tags).reshape(num_users, num_tags)
    order = np.argsort(-counts, axis=1, kind="stable")[:, :length]
    top = np.take_along_axis(counts, order, axis=1)
    history = np.full((num_users, length), -1, np.int32)  # also when |T| < length
    history[:, :order.shape[1]] = np.where(top > 0, order, -1)
    return history


@keras.saving.register_keras_serializable(package="daeptr")
class ABNT(PairwiseTagModel):
    """ABNT with embedding size K, hidden width `hidden_dim` (default K)."""

    xla_scores = True  # evaluation's [B, |T|, K] pass, fused by XLA (`base.py`)

    def __init__(self, num_users: int, num_items: int, num_tags: int, latent_dim: int = 64,
                 hidden_dim: int | None = None, history_length: int = 10, l2: float = 0.01,
                 num_negatives: int = 10, init_stddev: float = 0.01, seed: int | None = None,
                 **kwargs):
        super().__init__(num_tags, l2, num_negatives, seed, **kwargs)
        hidden_dim = hidden_dim or latent_dim
        self.config = dict(num_users=num_users, num_items=num_items, num_tags=num_tags,
                           latent_dim=latent_dim, hidden_dim=hidden_dim,
                           history_length=history_length, l2=l2, num_negatives=num_negatives,
                           init_stddev=init_stddev, seed=seed)
        self.score_batch_size = max(1, 2**25 // (num_tags * hidden_dim))
        init = keras.initializers.RandomNormal(stddev=init_stddev, seed=seed)
        self.user_embedding = self.add_weight(shape=(num_users, latent_dim), initializer=init, name="e_u")
        self.item_embedding = self.add_weight(shape=(num_items, latent_dim), initializer=init, name="e_i")
        self.tag_embedding = self.add_weight(shape=(num_tags, latent_dim), initializer=init, name="e_t")
        self.user_history = self.add_weight(  # filled by from_posts; saved with the model
            shape=(num_users, history_length), dtype="int32", trainable=False,
            initializer=keras.initializers.Constant(-1), name="history")
        dense = dict(kernel_regularizer=HalfL2(l2), kernel_initializer=keras.initializers.GlorotUniform(seed))
        self.query = keras.layers.Dense(latent_dim, use_bias=False, name="W_q", **dense)
        self.post_layer = keras.layers.Dense(hidden_dim, name="W1_post", **dense)
        self.tag_layer = keras.layers.Dense(hidden_dim, use_bias=False, name="W1_tag", **dense)
        self.hidden = keras.layers.Dense(hidden_dim, activation="relu", name="W2", **dense)
        self.out = keras.layers.Dense(1, name="w3", **dense)
        self.query.build((None, 2 * latent_dim))
        self.post_layer.build((None, 3 * latent_dim))
        self.tag_layer.build((None, latent_dim))
        self.hidden.build((None, hidden_dim))
        self.out.build((None, hidden_dim))
        self.built = True

    @classmethod
    def from_posts(cls, posts, *, num_users, num_items, num_tags, **hparams):
        model = cls(num_users=num_users, num_items=num_items, num_tags=num_tags, **hparams)
        model.user_history.assign(frequent_tags(posts, num_users, num_tags,
                                           model.config["history_length"]))
        return model

    def _posts(self, batch):  # zeros for an unseen user or item
        return (known_rows(self.user_embedding, batch["user"]),
                known_rows(self.item_embedding, batch["item"]))

    def post_hidden(self, batch):
        """W₁'s post part: W₁_post [e_u; e_i; h] + b₁, [B, H]."""
        e_u, e_i = self._posts(batch)
        history = known_rows(self.user_history, batch["user"], fill=-1)  # [B, m]; none if unseen
        keys = tf.gather(self.tag_embedding, tf.maximum(history, 0))  # [B, m, K]
        query = self.query(tf.concat([e_u, e_i], -1))
        logits = tf.einsum("bk,bmk->bm", query, keys) / tf.sqrt(tf.cast(keys.shape[-1], keys.dtype))
        logits = tf.where(history >= 0, logits, -1e9)
        weights = tf.nn.softmax(logits) * tf.cast(history >= 0, logits.dtype)  # 0 if no history
        pooled = tf.einsum("bm,bmk->bk", weights, keys)
        return self.post_layer(tf.concat([e_u, e_i, pooled], -1))

    def _head(self, first):
        return tf.squeeze(self.out(self.hidden(tf.nn.relu(first))), -1)

    def tag_scores(self, batch, tag_ids):
        first = self.post_hidden(batch)[:, None, :] + self.tag_layer(tf.gather(self.tag_embedding, tag_ids))
        return self._head(first)

    def embeddings(self, batch, tag_ids):
        return list(self._posts(batch)), [tf.gather(self.tag_embedding, tag_ids)]

    def all_scores(self, inputs):
        first = self.post_hidden(inputs)[:, None, :] + self.tag_layer(self.tag_embedding)[None]
        return self._head(first)

    def get_config(self):
        return {**super().get_config(), **self.config}
