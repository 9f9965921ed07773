"""DAE-PTR: personalized tag recommendation with a denoising auto-encoder (Zhao et al. 2022).

For a post (u, i) with tag vector y ∈ {0,1}^|T|:

    ỹ ~ MaskOut_c(y)                           Eq. 7   drop each tag with probability c
    p_u = P·onehot(u),  q_i = Q·onehot(i)      Eq. 8   P ∈ R^{|U|×K}, Q ∈ R^{|I|×K}
    z = g(W·ỹ + p_u + q_i + b)                 Eq. 9   W ∈ R^{K×|T|}, b ∈ R^K
    ŷ = f(W′·z + b′)                           Eq. 10  W′ ∈ R^{|T|×K}, b′ ∈ R^|T|
    ℓ = −Σ_Ω Σ_t [y log ŷ + (1−y) log(1−ŷ)]    Eq. 11  (from logits, f = σ)
        + λ/2 (‖W‖² + ‖W′‖² + ‖b‖² + ‖b′‖² + ‖P‖² + ‖Q‖²)   Eq. 12

`call` returns the logits W′·z + b′; ŷ = σ(logits) and the ranking of tags is the same.
The decoder's matmul W′·z (and its two in the gradient) is most of a training step; the
rest, Eq. 7–9 and Eq. 11, goes through `self.xla`, so that in bfloat16 on a CPU those
matmuls can run outside XLA (`daeptr.models.base`, "XLA around the matmuls").
The paper does not say how the weights start; with `output_bias="log_odds"` b′ starts at each
tag's log-odds among the training posts instead of 0 (see `from_posts`).
W is stored transposed (|T|×K) so that W·ỹ can be a gather of the few present tags' rows
(`encoder="sparse"`) instead of a dense |T|×K product (`encoder="dense"`); both compute the
same function.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from daeptr.layers import MaskOut, known_rows, weighted_row_sum
from daeptr.losses import SummedBinaryCrossentropy
from daeptr.models.base import TagRecommender
from daeptr.regularizers import HalfL2

ENCODERS = ("sparse", "dense")
OUTPUT_BIASES = ("zeros", "log_odds")


@keras.saving.register_keras_serializable(package="daeptr")
class DAEPTR(TagRecommender):
    """DAE-PTR (Eq. 7–12).

    Args:
      num_users, num_items, num_tags: |U|, |I|, |T|.
      latent_dim: K.
      corruption: c of Eq. 7, in [0, 1].
      l2: λ of Eq. 12.
      hidden_activation: g (the paper: sigmoid). The output f is always the sigmoid,
        which the cross-entropy of Eq. 11 presumes.
      loss_reduction: "sum" — Eq. 11 summed over the posts of the mini-batch, with Eq. 12
        added once per mini-batch (a literal TensorFlow reading of the paper); "mean" — the
        per-post mean, which weighs Eq. 12 batch-size times more.
      rescale: scale kept inputs by 1/(1−c) (CDAE's variant; not in Eq. 7).
      encoder: "sparse" (gather W's rows of the kept tags) or "dense" (multi-hot matmul).
      sparse_slots: slots per post of the sparse encoder's compacted sum
        (`daeptr.layers.weighted_row_sum`; 0: sum over every padded position). A speed
        setting: the function is the same.
      output_bias: how b′ starts: "zeros", or "log_odds" — log(p_t / (1 − p_t)) with p_t the
        share of training posts tagged t, set by `from_posts`.
      seed: seed of the corruption noise.
    """

    splits_xla = True

    def __init__(
        self,
        num_users: int,
        num_items: int,
        num_tags: int,
        latent_dim: int = 512,
        corruption: float = 0.8,
        l2: float = 0.01,
        hidden_activation: str = "sigmoid",
        loss_reduction: str = "sum",
        rescale: bool = False,
        encoder: str = "sparse",
        sparse_slots: int = 4,
        output_bias: str = "zeros",
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
        if output_bias not in OUTPUT_BIASES:
            raise ValueError(f"output_bias must be one of {OUTPUT_BIASES}, got {output_bias!r}")
        if loss_reduction not in ("sum", "mean"):
            raise ValueError(f"loss_reduction must be 'sum' or 'mean', got {loss_reduction!r}")
        if sparse_slots < 0:
            raise ValueError(f"sparse_slots must be >= 0, got {sparse_slots}")
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        self.config = dict(
            num_users=num_users, num_items=num_items, num_tags=num_tags,
            latent_dim=latent_dim, corruption=corruption, l2=l2,
            hidden_activation=hidden_activation, loss_reduction=loss_reduction,
            rescale=rescale, encoder=encoder, sparse_slots=sparse_slots,
            output_bias=output_bias, seed=seed,
        )
        regularizer = HalfL2(l2)
        self.mask_out = MaskOut(num_tags, corruption, rescale=rescale,
                                dense=encoder == "dense", seed=seed)
        self.user_embedding = keras.layers.Embedding(  # P
            num_users, latent_dim, embeddings_regularizer=regularizer, name="P")
        self.item_embedding = keras.layers.Embedding(  # Q
            num_items, latent_dim, embeddings_regularizer=regularizer, name="Q")
        self.W = self.add_weight(  # stored as Wᵀ: one row per tag
            shape=(num_tags, latent_dim), initializer="glorot_uniform",
            regularizer=regularizer, name="W")
        self.b = self.add_weight(
            shape=(latent_dim,), initializer="zeros", regularizer=regularizer, name="b")
        self.g = keras.activations.get(hidden_activation)
        self.decoder = keras.layers.Dense(  # W′, b′
            num_tags, kernel_regularizer=regularizer, bias_regularizer=regularizer,
            name="decoder")
        # All variables exist from construction on, so a saved model loads its weights
        # without a trace of `call` (Keras rebuilds subclassed models only from __init__).
        self.user_embedding.build()
        self.item_embedding.build()
        self.decoder.build((None, latent_dim))
        self.built = True
        self.reconstruction = SummedBinaryCrossentropy(
            reduction="sum" if loss_reduction == "sum" else "sum_over_batch_size")

    @classmethod
    def from_posts(cls, posts, **arguments):
        model = cls(**arguments)
        if model.config["output_bias"] == "log_odds":
            # From b′ = 0 every tag starts at ŷ = 1/2 although a post carries a few of |T|
            # tags. At the paper's learning rate Adam moves b′ about 0.001 per step, so the
            # first hundreds of epochs go to pushing all outputs down, with the hidden units
            # all driven to one value and the ranking frozen at global popularity (measured
            # on ML10M core-10, BUILD_NOTES.md). Starting at the marginal skips that phase.
            share = (np.bincount(posts.tags, minlength=model.config["num_tags"]) + 0.5) / (
                len(posts) + 1.0)  # +1/2, +1: a tag no training post has stays finite
            model.decoder.bias.assign(np.log(share) - np.log1p(-share))
        return model

    def encode(self, tags, y_tilde):
        """W·ỹ for the padded tag ids `tags` and their corrupted values `y_tilde`."""
        if self.config["encoder"] == "dense":
            return tf.matmul(y_tilde, self.W)  # y_tilde: [B, |T|]
        return weighted_row_sum(tags, y_tilde, self.W, self.config["sparse_slots"])

    def hidden(self, inputs, training=False):
        tags = inputs["tags"]
        y_tilde = self.mask_out(tags, training=training)  # Eq. 7
        p_u = known_rows(self.user_embedding, inputs["user"])  # Eq. 8 (0: an unseen user)
        q_i = known_rows(self.item_embedding, inputs["item"])
        return self.g(self.encode(tags, y_tilde) + p_u + q_i + self.b)  # Eq. 9

    def call(self, inputs, training=False):
        z = self.xla(self.hidden)(inputs, training=training)  # Eq. 7–9
        return self.decoder(z)  # Eq. 10 before f = σ

    def compute_objective(self, batch, training):
        return self.xla(self.objective)(batch["tags"], self(batch, training=training))

    def objective(self, tags, logits):
        return self.reconstruction(tags, tf.cast(logits, tf.float32))  # Eq. 11 in float32

    def get_config(self):
        return {**super().get_config(), **self.config}
