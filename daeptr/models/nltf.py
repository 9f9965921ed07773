"""NLTF: nonlinear tensor factorization with a Gaussian kernel (Fang et al., AAAI 2015).

NLTF generalises canonical decomposition, ŷ = Σ_k λ_k u_k i_k t_k, by replacing each latent
dimension's product with Gaussian radial basis functions of the distances between the
entities' coordinates. As in that paper the user–item relation is dropped and the topic
weights λ_k are fixed to 1:

    ŷ(u, i, t) = Σ_k [ exp(−γ (u_k − t^U_k)²) + exp(−γ (i_k − t^I_k)²) ]

Trained with BPR like PITF. The text of the NLTF paper was not available here; where the
summaries leave the form open (per-dimension kernels, one shared γ) the choice is ours
(BUILD_NOTES.md). Scoring all tags holds a [posts × |T| × K] tensor, hence `score_batch_size`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from daeptr.models.pitf import PITF


def gaussian_similarity(a, b, gamma):
    """Σ_k exp(−γ (a_k − b_k)²) over the last axis, broadcasting a and b."""
    return tf.reduce_sum(tf.exp(-gamma * tf.square(a - b)), axis=-1)


@keras.saving.register_keras_serializable(package="daeptr")
class NLTF(PITF):
    """NLTF with K latent dimensions and kernel width γ (`gamma`); PITF's factors and
    training, another interaction."""

    xla_scores = True  # evaluation's [B, |T|, K] pass, fused by XLA (`base.py`)

    def __init__(self, num_users: int, num_items: int, num_tags: int, latent_dim: int = 64,
                 l2: float = 0.01, num_negatives: int = 10, gamma: float = 1.0,
                 init_stddev: float = 0.1, seed: int | None = None, **kwargs):
        if not gamma > 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        super().__init__(num_users, num_items, num_tags, latent_dim=latent_dim, l2=l2,
                         num_negatives=num_negatives, init_stddev=init_stddev, seed=seed, **kwargs)
        self.config["gamma"] = self.gamma = gamma
        self.score_batch_size = max(1, 2**25 // (num_tags * latent_dim))

    def tag_scores(self, batch, tag_ids):
        u, i = self._posts(batch)
        return self._sum(batch,
                         gaussian_similarity(u[:, None, :], tf.gather(self.tag_user_factors, tag_ids), self.gamma),
                         gaussian_similarity(i[:, None, :], tf.gather(self.tag_item_factors, tag_ids), self.gamma))

    def all_scores(self, inputs):
        u, i = self._posts(inputs)
        return self._sum(inputs,
                         gaussian_similarity(u[:, None, :], self.tag_user_factors[None], self.gamma),
                         gaussian_similarity(i[:, None, :], self.tag_item_factors[None], self.gamma))

    @staticmethod
    def _sum(batch, user_term, item_term):
        """The two terms, each dropped for an unseen (negative) id: the similarity of a zero
        vector would still rank tags by their norm."""
        return (tf.where(batch["user"][:, None] >= 0, user_term, tf.zeros_like(user_term))
                + tf.where(batch["item"][:, None] >= 0, item_term, tf.zeros_like(item_term)))
