"""PITF: pairwise interaction tensor factorization (Rendle & Schmidt-Thieme, WSDM 2010).

    ŷ(u, i, t) = ⟨u_U, t_U⟩ + ⟨i_I, t_I⟩

u_U ∈ R^K (user), i_I ∈ R^K (item); each tag has two factors, t_U for the user–tag and t_I
for the item–tag interaction (the user–item term does not change the ranking of tags and is
dropped). Trained with BPR over negatives from outside the post's tags (`pairwise.py`).
Rendle's tool initialises factors from N(0, 0.01²); so do we.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from daeptr.layers import known_rows
from daeptr.models.pairwise import PairwiseTagModel


@keras.saving.register_keras_serializable(package="daeptr")
class PITF(PairwiseTagModel):
    """PITF with K factors per interaction; `l2` is λ of the BPR penalty."""

    def __init__(self, num_users: int, num_items: int, num_tags: int, latent_dim: int = 64,
                 l2: float = 0.01, num_negatives: int = 10, init_stddev: float = 0.01,
                 seed: int | None = None, **kwargs):
        super().__init__(num_tags, l2, num_negatives, seed, **kwargs)
        self.config = dict(num_users=num_users, num_items=num_items, num_tags=num_tags,
                           latent_dim=latent_dim, l2=l2, num_negatives=num_negatives,
                           init_stddev=init_stddev, seed=seed)
        init = keras.initializers.RandomNormal(stddev=init_stddev, seed=seed)
        self.user_factors = self.add_weight(shape=(num_users, latent_dim), initializer=init, name="u_U")
        self.item_factors = self.add_weight(shape=(num_items, latent_dim), initializer=init, name="i_I")
        self.tag_user_factors = self.add_weight(shape=(num_tags, latent_dim), initializer=init, name="t_U")
        self.tag_item_factors = self.add_weight(shape=(num_tags, latent_dim), initializer=init, name="t_I")
        self.built = True

    def _posts(self, batch):  # zeros for an unseen user or item: its term is 0
        return (known_rows(self.user_factors, batch["user"]),
                known_rows(self.item_factors, batch["item"]))

    def tag_scores(self, batch, tag_ids):
        u, i = self._posts(batch)
        return (tf.einsum("bk,bmk->bm", u, tf.gather(self.tag_user_factors, tag_ids))
                + tf.einsum("bk,bmk->bm", i, tf.gather(self.tag_item_factors, tag_ids)))

    def embeddings(self, batch, tag_ids):
        return list(self._posts(batch)), [tf.gather(self.tag_user_factors, tag_ids),
                                          tf.gather(self.tag_item_factors, tag_ids)]

    def all_scores(self, inputs):
        u, i = self._posts(inputs)
        return (tf.matmul(u, self.tag_user_factors, transpose_b=True)
                + tf.matmul(i, self.tag_item_factors, transpose_b=True))

    def get_config(self):
        return {**super().get_config(), **self.config}
