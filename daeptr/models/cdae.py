"""DAE and CDAE for top-N item recommendation (Wu et al., WSDM 2016; CDDAE paper Eq. 1–4).

For user u with positive items y ∈ {0,1}^|I|:

    ỹ ~ MaskOut_q(y)   (optionally kept entries × 1/(1−q), CDAE's "scaled")
    z_u = h(Wᵀ ỹ + V_u + b)                                     Eq. 1  (DAE: no V_u)
    ŷ_u = f(W′ᵀ z_u + b′)                                        Eq. 2
    min Σ_u ℓ(ŷ_u, y_u) + λ/2 (‖W‖² + ‖W′‖² + ‖V‖² + ‖b‖² + ‖b′‖²)  Eq. 3–4

h = relu (the CDDAE paper, §3.3), f and ℓ from `losses.reconstruction_loss` (Experiment 1:
sigmoid + mean absolute error). With `negatives` = k > 0 the loss covers only the user's
positives and k·|positives| sampled non-positives, as CDAE's original code does; with 0 it
covers all items.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from daeptr import distribute
from daeptr.layers import MaskOut, multi_hot
from daeptr.losses import RECONSTRUCTIONS, reconstruction_loss
from daeptr.models.base import TagRecommender
from daeptr.regularizers import HalfL2
from daeptr.sampling import complement_sample


@keras.saving.register_keras_serializable(package="daeptr")
class CDAE(TagRecommender):
    """CDAE (`user_node=True`) or DAE (`user_node=False`) over a user's item vector."""

    def __init__(self, num_users: int, num_items: int, profile_dim: int = 0,
                 item_profile_dim: int = 0, latent_dim: int = 50, corruption: float = 0.5,
                 l2: float = 0.01, user_node: bool = True, output: str = "sigmoid_mae",
                 loss_reduction: str = "sum", rescale: bool = False, negatives: int = 0,
                 hidden_activation: str = "relu", seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if output not in RECONSTRUCTIONS:
            raise ValueError(f"output must be one of {RECONSTRUCTIONS}, got {output!r}")
        if negatives < 0:
            raise ValueError(f"negatives must be >= 0, got {negatives}")
        self.config = dict(num_users=num_users, num_items=num_items, profile_dim=profile_dim,
                           item_profile_dim=item_profile_dim, latent_dim=latent_dim,
                           corruption=corruption, l2=l2, user_node=user_node, output=output,
                           loss_reduction=loss_reduction, rescale=rescale, negatives=negatives,
                           hidden_activation=hidden_activation, seed=seed)
        reg = HalfL2(l2)
        self.num_items = num_items
        self.classes = 2 if output == "softmax_cce" else 1
        self.mask_out = MaskOut(num_items, corruption, rescale=rescale, dense=True, seed=seed)
        self.encoder = keras.layers.Dense(latent_dim, activation=hidden_activation,
                                          kernel_regularizer=reg, bias_regularizer=reg,
                                          name="W")  # W, b
        self.decoder = keras.layers.Dense(num_items * self.classes, kernel_regularizer=reg,
                                          bias_regularizer=reg, name="W_prime")  # W′, b′
        self.user_vectors = (keras.layers.Embedding(num_users, latent_dim,
                                                    embeddings_regularizer=reg, name="V")
                             if user_node else None)
        self.sampler_seed = keras.random.SeedGenerator(seed)
        self.encoder.build((None, num_items))
        self.decoder.build((None, latent_dim))
        if user_node:
            self.user_vectors.build()
        self.built = True

    def hidden(self, inputs, training):
        y_tilde = self.mask_out(inputs["tags"], training=training,
                                rows=inputs.get("row"))  # corrupted ratings
        # W and b are read here, not through the layer (V_u joins before the activation), and
        # also from `compute_objective`, outside Keras' autocasting: cast to the compute dtype.
        kernel, bias = (tf.cast(v, self.compute_dtype)
                        for v in (self.encoder.kernel, self.encoder.bias))
        pre = tf.matmul(y_tilde, kernel) + bias  # Wᵀỹ + b
        if self.user_vectors is not None:
            pre += self.user_vectors(inputs["user"])  # V_u, Eq. 1
        return self.encoder.activation(pre)

    def logits(self, inputs, training=False):
        out = self.decoder(self.hidden(inputs, training))
        return tf.reshape(out, [-1, self.num_items, 2]) if self.classes == 2 else out

    def call(self, inputs, training=False):
        logits = self.logits(inputs, training)
        return logits[..., 1] - logits[..., 0] if self.classes == 2 else logits

    def compute_objective(self, batch, training):
        logits = tf.cast(self.logits(batch, training), tf.float32)  # the loss in float32
        targets = multi_hot(batch["tags"], tf.ones_like(batch["tags"], tf.float32), self.num_items)
        k = self.config["negatives"]
        if not k:
            per_user = reconstruction_loss(targets, logits, self.config["output"],
                                           self.config["loss_reduction"])
            return distribute.mean(per_user)  # over the global batch's users
        # Positives plus k sampled non-positives per positive (CDAE's original objective).
        width = tf.shape(batch["tags"])[1]
        ids = tf.concat([tf.maximum(batch["tags"], 0),
                         complement_sample(batch["tags"], self.num_items, k * width,
                                           self.sampler_seed, rows=batch.get("row"))], axis=1)
        weight = tf.concat([tf.cast(batch["tags"] >= 0, tf.float32),
                            tf.repeat(tf.cast(batch["tags"] >= 0, tf.float32), k, axis=1)], axis=1)
        picked_logits = tf.gather(logits, ids, batch_dims=1)
        picked = reconstruction_loss(tf.gather(targets, ids, batch_dims=1)[..., None],
                                     picked_logits[:, :, None] if self.classes == 1 else picked_logits[:, :, None, :],
                                     self.config["output"], "sum")
        return distribute.mean(tf.reduce_sum(picked * weight, axis=1))

    def get_config(self):
        return {**super().get_config(), **self.config}
