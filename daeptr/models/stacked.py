"""Stacked DAE-PTR: DAE-PTR (Eq. 7–12) with more hidden layers, the paper's first future-work
item (§6). The user and item embeddings enter the first hidden layer, as in Eq. 9:

    z₁ = g(W·ỹ + p_u + q_i + b)                        Eq. 9 (width K = latent_dim)
    z_l = g(W_l·z_{l−1} + b_l),  l = 2 … L              deeper encoder layers (width `inner_dim`)
    d_L = z_L,  d_{l−1} = g(V_l·d_l + c_l),  l = L … 2  the decoder mirrors the encoder
    ŷ = f(W′·d₁ + b′)                                   Eq. 10

with L = `depth` (1: DAE-PTR itself) and Eq. 11–12 unchanged, λ/2‖·‖² covering the new W_l,
b_l, V_l, c_l too.
"""

from __future__ import annotations

import keras

from daeptr.models.dae_ptr import DAEPTR


@keras.saving.register_keras_serializable(package="daeptr")
class StackedDAEPTR(DAEPTR):
    """DAE-PTR with `depth` hidden layers in the encoder and their mirror in the decoder.

    Args (besides DAE-PTR's):
      depth: L, the encoder's hidden layers (≥ 1; 1 is DAE-PTR).
      inner_dim: the width of the encoder's layers 2 … L (and of the decoder's mirror).
    """

    decoders = ("full",)

    def __init__(self, num_users: int, num_items: int, num_tags: int, depth: int = 2,
                 inner_dim: int = 256, **kwargs):
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if inner_dim < 1:
            raise ValueError(f"inner_dim must be >= 1, got {inner_dim}")
        super().__init__(num_users, num_items, num_tags, **kwargs)
        self.config.update({"depth": depth, "inner_dim": inner_dim})
        g = self.config["hidden_activation"]
        widths = [self.config["latent_dim"]] + [inner_dim] * (depth - 1)
        self.encoder_layers = [self.dense(widths[l], widths[l - 1], f"W_{l + 1}", g)
                               for l in range(1, depth)]
        self.decoder_layers = [self.dense(widths[l - 1], widths[l], f"V_{l + 1}", g)
                               for l in reversed(range(1, depth))]

    def hidden(self, inputs, training=False):
        z = super().hidden(inputs, training=training)  # Eq. 7–9: z₁
        for layer in self.encoder_layers:  # z₂ … z_L
            z = layer(z)
        for layer in self.decoder_layers:  # d_{L−1} … d₁
            z = layer(z)
        return z
