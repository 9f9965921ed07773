"""Contractive DAE-PTR: DAE-PTR (Eq. 7–12) whose objective adds the squared Frobenius norm of
the encoder's Jacobian with respect to the tag input (Rifai et al., ICML 2011), the paper's
second future-work item (§6):

    z = g(a),  a = W·ỹ + p_u + q_i + b                  Eq. 9
    J = ∂z/∂ỹ = diag(g′(a))·W                           [K × |T|]
    ‖J‖²_F = Σ_k g′(a_k)² Σ_t W_kt²                     (Rifai et al., Eq. 4 for g = σ)
    ℓ_CAE = ℓ (Eq. 11) + γ Σ_Ω ‖J‖²_F  + Eq. 12

with g′(a) = z(1 − z) for the sigmoid and 1 − z² for tanh. The sum over Ω follows
`loss_reduction` as Eq. 11 does (a sum over the mini-batch's posts, or their mean).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from daeptr.models.dae_ptr import DAEPTR

DERIVATIVES = {"sigmoid": lambda z: z * (1.0 - z), "tanh": lambda z: 1.0 - tf.square(z)}


def jacobian_norm(slope, w):
    """Per-post ‖∂z/∂ỹ‖²_F [B] from the hidden layer's derivatives g′(a) [B, K] and W stored
    as Wᵀ [|T|, K]."""
    return tf.reduce_sum(tf.square(slope) * tf.reduce_sum(tf.square(w), axis=0), axis=1)


@keras.saving.register_keras_serializable(package="daeptr")
class ContractiveDAEPTR(DAEPTR):
    """DAE-PTR with the contractive penalty γ Σ_Ω ‖J‖²_F.

    Args (besides DAE-PTR's):
      contraction: γ (≥ 0; 0 is DAE-PTR).
    """

    decoders = ("full",)

    def __init__(self, num_users: int, num_items: int, num_tags: int,
                 contraction: float = 0.01, **kwargs):
        if contraction < 0:
            raise ValueError(f"contraction must be >= 0, got {contraction}")
        super().__init__(num_users, num_items, num_tags, **kwargs)
        if self.config["hidden_activation"] not in DERIVATIVES:
            raise ValueError(f"ContractiveDAEPTR's hidden_activation must be one of "
                             f"{sorted(DERIVATIVES)}, got {self.config['hidden_activation']!r}")
        self.config.update({"contraction": contraction})

    def compute_objective(self, batch, training):
        batch, kept = self.with_draw(batch, training)
        z = self(batch, training=training, decode=False)  # Eq. 7–9
        loss = self.likelihood_term(batch["tags"], self.decoder(z), kept)  # Eq. 10–11
        slope = DERIVATIVES[self.config["hidden_activation"]](tf.cast(z, tf.float32))
        penalty = self.reduce_posts(jacobian_norm(slope, tf.cast(self.W, tf.float32)))
        return loss + self.config["contraction"] * penalty
