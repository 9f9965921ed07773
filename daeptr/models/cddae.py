"""CDDAE: collaborative deep denoising auto-encoder with embedded side information
(the CDDAE paper, Eq. 5–10).

For user u with positive items R_u, embedded user profile E_u and item profile E_i:

    R̃_u ~ MaskOut_q(R_u)
    x   = enc_L(… enc_1(R̃_u))                      optional extra encoder layers (relu)
    H   = relu(Wᵀ x + W_uᵀ E_u + W_iᵀ E_i + b)      Eq. 5: profiles mapped into the bottleneck
    [R̂_u, Ê_u, Ê_i] = f(W′ᵀ dec_M(… dec_1(H)) + b′) Eq. 6: ratings and profiles reconstructed
    ℓ = Σ reconstruction(f, loss)  +  λ/2 Σ ‖θ‖²     Eq. 7–10 with the Eq. 4 penalty

E_u is the one-hot user profile (`id` = the user node, `gender`, `age`, `occupation`); E_i
the genre profile of the user's items (optional). f and the loss are one of sigmoid + binary
cross-entropy, sigmoid + mean absolute error, softmax + categorical cross-entropy
(`losses.reconstruction_loss`). Items are ranked by their output logit (for the two-class
softmax by the difference of the two logits, monotone in the softmax probability).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from daeptr import distribute
from daeptr.layers import MaskOut, multi_hot
from daeptr.losses import RECONSTRUCTIONS, reconstruction_loss
from daeptr.models.base import TagRecommender
from daeptr.regularizers import HalfL2


@keras.saving.register_keras_serializable(package="daeptr")
class CDDAE(TagRecommender):
    """CDDAE with `encoder_units` / `decoder_units` extra relu layers around a bottleneck."""

    def __init__(self, num_users: int, num_items: int, profile_dim: int = 0,
                 item_profile_dim: int = 0, latent_dim: int = 50,
                 encoder_units: tuple[int, ...] = (), decoder_units: tuple[int, ...] = (),
                 corruption: float = 0.5, l2: float = 0.01, output: str = "sigmoid_mae",
                 loss_reduction: str = "sum", use_item_profile: bool = False,
                 rescale: bool = False, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if output not in RECONSTRUCTIONS:
            raise ValueError(f"output must be one of {RECONSTRUCTIONS}, got {output!r}")
        encoder_units, decoder_units = tuple(encoder_units), tuple(decoder_units)
        self.config = dict(num_users=num_users, num_items=num_items, profile_dim=profile_dim,
                           item_profile_dim=item_profile_dim, latent_dim=latent_dim,
                           encoder_units=encoder_units, decoder_units=decoder_units,
                           corruption=corruption, l2=l2, output=output,
                           loss_reduction=loss_reduction, use_item_profile=use_item_profile,
                           rescale=rescale, seed=seed)
        reg = dict(kernel_regularizer=HalfL2(l2), bias_regularizer=HalfL2(l2))
        self.num_items = num_items
        self.item_profile_dim = item_profile_dim if use_item_profile else 0
        self.width = num_items + profile_dim + self.item_profile_dim  # reconstructed outputs
        self.classes = 2 if output == "softmax_cce" else 1
        self.mask_out = MaskOut(num_items, corruption, rescale=rescale, dense=True, seed=seed)
        self.encoder_layers = [keras.layers.Dense(n, "relu", name=f"enc{k}", **reg)
                               for k, n in enumerate(encoder_units, 1)]
        self.W = keras.layers.Dense(latent_dim, name="W", **reg)  # W and b of Eq. 5
        self.W_u = (keras.layers.Dense(latent_dim, use_bias=False, name="W_u",
                                       kernel_regularizer=HalfL2(l2)) if profile_dim else None)
        self.W_i = (keras.layers.Dense(latent_dim, use_bias=False, name="W_i",
                                       kernel_regularizer=HalfL2(l2)) if self.item_profile_dim else None)
        self.decoder_layers = [keras.layers.Dense(n, "relu", name=f"dec{k}", **reg)
                               for k, n in enumerate(decoder_units, 1)]
        self.output_layer = keras.layers.Dense(self.width * self.classes, name="W_prime", **reg)
        width = num_items
        for layer in self.encoder_layers:
            layer.build((None, width))
            width = layer.units
        self.W.build((None, width))
        if self.W_u is not None:
            self.W_u.build((None, profile_dim))
        if self.W_i is not None:
            self.W_i.build((None, self.item_profile_dim))
        width = latent_dim
        for layer in self.decoder_layers:
            layer.build((None, width))
            width = layer.units
        self.output_layer.build((None, width))
        self.built = True

    def bottleneck(self, inputs, training=False):
        x = self.mask_out(inputs["tags"], training=training, rows=inputs.get("row"))  # R̃_u
        for layer in self.encoder_layers:
            x = layer(x)
        pre = self.W(x)
        if self.W_u is not None:
            pre += self.W_u(inputs["profile"])  # W_uᵀ E_u
        if self.W_i is not None:
            pre += self.W_i(inputs["item_profile"])  # W_iᵀ E_i
        return tf.nn.relu(pre)  # H, Eq. 5

    def logits(self, inputs, training=False):
        x = self.bottleneck(inputs, training)
        for layer in self.decoder_layers:
            x = layer(x)
        out = self.output_layer(x)  # Eq. 6 before f
        return tf.reshape(out, [-1, self.width, 2]) if self.classes == 2 else out

    def call(self, inputs, training=False):
        logits = self.logits(inputs, training)[:, : self.num_items]
        return logits[..., 1] - logits[..., 0] if self.classes == 2 else logits

    def targets(self, batch):
        """[R_u, E_u, E_i]: what the decoder reconstructs."""
        parts = [multi_hot(batch["tags"], tf.ones_like(batch["tags"], tf.float32), self.num_items)]
        if self.W_u is not None:
            parts.append(tf.cast(batch["profile"], tf.float32))
        if self.W_i is not None:
            parts.append(tf.cast(batch["item_profile"], tf.float32))
        return tf.concat(parts, axis=1)

    def compute_objective(self, batch, training):
        logits = tf.cast(self.logits(batch, training), tf.float32)  # the loss in float32
        per_user = reconstruction_loss(self.targets(batch), logits, self.config["output"],
                                       self.config["loss_reduction"])
        return distribute.mean(per_user)  # over the global batch's users

    def get_config(self):
        return {**super().get_config(), **self.config}
