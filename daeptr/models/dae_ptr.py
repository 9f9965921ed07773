"""DAE-PTR: personalized tag recommendation with a denoising auto-encoder (Zhao et al. 2022).

For a post (u, i) with tag vector y ∈ {0,1}^|T|:

    ỹ ~ MaskOut_c(y)                           Eq. 7   drop each tag with probability c
    p_u = P·onehot(u),  q_i = Q·onehot(i)      Eq. 8   P ∈ R^{|U|×K}, Q ∈ R^{|I|×K}
    z = g(W·ỹ + p_u + q_i + b)                 Eq. 9   W ∈ R^{K×|T|}, b ∈ R^K
    ŷ = f(W′·z + b′)                           Eq. 10  W′ ∈ R^{|T|×K}, b′ ∈ R^|T|
    ℓ = −Σ_Ω Σ_t [y log ŷ + (1−y) log(1−ŷ)]    Eq. 11  (from logits, f = σ)
        + λ/2 (‖W‖² + ‖W′‖² + ‖b‖² + ‖b′‖² + ‖P‖² + ‖Q‖²)   Eq. 12

`call` returns the logits W′·z + b′; ŷ = σ(logits) and the ranking of tags is the same.

With `likelihood="multinomial"` (not in the paper; Mult-VAE's, Liang et al. 2018) f is the
softmax over tags and Eq. 11 becomes ℓ = −Σ_Ω Σ_{t∈y} log softmax(W′·z + b′)_t: the tags of a
post compete for one unit of probability mass instead of being |T| independent coins.

With `reconstruct="dropped"` (not in the paper) Eq. 11 is summed over the tags that Eq. 7
did not keep: a kept tag is neither a positive nor a negative, as an input tag is never
ranked at test time, and the positives are the dropped tags, as the held-out tag is at test
time,

    ℓ = −Σ_Ω Σ_{t ∉ kept} [y log ŷ + (1−y) log(1−ŷ)]   (multinomial: softmax over t ∉ kept).

At c = 1 nothing is kept and it is Eq. 11; at c < 1 the code must predict the dropped tags
from the kept ones, the task of the leave-last-tag-out test, instead of also copying its input.

With `decoder="sampled"` training computes Eq. 10–11 for the post's own tags and for n tags
drawn uniformly per mini-batch (`sampled_objective`): each drawn tag that is not the post's
stands for |T|/n of its absent tags,

    ℓ̂ = −Σ_Ω [ Σ_{t∈y} log ŷ_t + |T|/n Σ_{j≤n, t_j∉y} log(1 − ŷ_{t_j}) ],   E[ℓ̂] = ℓ of Eq. 11,

so a step costs O((|y| + n)·K) per post instead of O(|T|·K); Eq. 12 and the full ranking
at evaluation are unchanged.
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

from daeptr import distribute, rng
from daeptr.layers import MaskOut, known_rows, multi_hot, weighted_row_sum
from daeptr.losses import (SummedBinaryCrossentropy, summed_bce_from_logits,
                           summed_multinomial_from_logits)
from daeptr.models.base import TagRecommender
from daeptr.regularizers import HalfL2

ENCODERS = ("sparse", "dense")
DECODERS = ("full", "sampled")
OUTPUT_BIASES = ("zeros", "log_odds")
LIKELIHOODS = ("bernoulli", "multinomial")
RECONSTRUCT = ("all", "dropped")


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
      decoder: "full" (Eq. 10–11 over every tag) or "sampled" (the post's tags and
        `num_sampled` tags drawn per mini-batch, in training only; see the module docstring).
      num_sampled: n, the tags the sampled decoder draws per mini-batch.
      likelihood: "bernoulli" (Eq. 11, f = σ) or "multinomial" (f = softmax; see the module
        docstring). The full decoder only.
      reconstruct: "all" (Eq. 11 over every tag) or "dropped" (over the tags Eq. 7 did not
        keep; see the module docstring). The full decoder only.
      seed: seed of the corruption noise (and of the sampled decoder's draws).
    """

    splits_xla = True
    decoders = DECODERS  # the decoders a class trains with (the variants: "full" only)
    reconstructs = RECONSTRUCT  # what its Eq. 11 may sum over (the VAE: "all" only)

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
        decoder: str = "full",
        num_sampled: int = 1024,
        likelihood: str = "bernoulli",
        reconstruct: str = "all",
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if reconstruct not in RECONSTRUCT:
            raise ValueError(f"reconstruct must be one of {RECONSTRUCT}, got {reconstruct!r}")
        if reconstruct == "dropped" and decoder == "sampled":
            raise ValueError("the sampled decoder reconstructs every tag; it takes "
                             "reconstruct='all'")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if likelihood == "multinomial" and decoder == "sampled":
            raise ValueError("the sampled decoder estimates Eq. 11's Bernoulli sum; it takes "
                             "likelihood='bernoulli'")
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
        if reconstruct not in self.reconstructs:
            raise ValueError(f"{type(self).__name__}'s reconstruct must be one of "
                             f"{self.reconstructs}, got {reconstruct!r}")
        if decoder not in self.decoders:
            raise ValueError(f"{type(self).__name__}'s decoder must be one of "
                             f"{self.decoders}, got {decoder!r}")
        if num_sampled < 1:
            raise ValueError(f"num_sampled must be >= 1, got {num_sampled}")
        self.config = dict(
            num_users=num_users, num_items=num_items, num_tags=num_tags,
            latent_dim=latent_dim, corruption=corruption, l2=l2,
            hidden_activation=hidden_activation, loss_reduction=loss_reduction,
            rescale=rescale, encoder=encoder, sparse_slots=sparse_slots,
            output_bias=output_bias, decoder=decoder, num_sampled=num_sampled,
            likelihood=likelihood, reconstruct=reconstruct, seed=seed,
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
        # All variables exist from construction on, so a saved model loads its weights
        # without a trace of `call` (Keras rebuilds subclassed models only from __init__).
        self.decoder = self.dense(num_tags, latent_dim, "decoder")  # W′, b′
        self.user_embedding.build()
        self.item_embedding.build()
        self.built = True
        if decoder == "sampled":  # its own stream: the corruption's draws stay as they are
            self.sampler_seed = keras.random.SeedGenerator(None if seed is None else seed + 1)
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

    def dense(self, units, width_in, name, activation=None):
        """A built Dense layer whose kernel and bias carry Eq. 12's λ/2‖·‖² (the decoder,
        and the variants' further layers)."""
        regularizer = HalfL2(self.config["l2"])
        layer = keras.layers.Dense(units, activation=activation, name=name,
                                   kernel_regularizer=regularizer, bias_regularizer=regularizer)
        layer.build((None, width_in))
        return layer

    def reduce_posts(self, per_post):
        """A per-post term [B] summed over the mini-batch (`loss_reduction="sum"`) or
        averaged over the global batch's posts ("mean")."""
        if self.config["loss_reduction"] == "sum":
            return tf.reduce_sum(per_post)
        return distribute.mean(per_post)

    def encode(self, tags, y_tilde):
        """W·ỹ for the padded tag ids `tags` and their corrupted values `y_tilde`."""
        if self.config["encoder"] == "dense":
            return tf.matmul(y_tilde, self.W)  # y_tilde: [B, |T|]
        return weighted_row_sum(tags, y_tilde, self.W, self.config["sparse_slots"])

    def hidden(self, inputs, training=False):
        tags = inputs["tags"]
        y_tilde = inputs.get("kept")  # Eq. 7's draw, made by the objective that needs it
        if y_tilde is None:
            y_tilde = self.mask_out(tags, training=training, rows=inputs.get("row"))  # Eq. 7
        p_u = known_rows(self.user_embedding, inputs["user"])  # Eq. 8 (0: an unseen user)
        q_i = known_rows(self.item_embedding, inputs["item"])
        return self.g(self.encode(tags, y_tilde) + p_u + q_i + self.b)  # Eq. 9

    def call(self, inputs, training=False, decode=True):
        z = self.xla(self.hidden)(inputs, training=training)  # Eq. 7–9
        if not decode:  # z alone, for the sampled decoder (Keras casts the weights in `call`)
            return z
        return self.decoder(z)  # Eq. 10 before f = σ

    def compute_objective(self, batch, training):
        if training and self.config["decoder"] == "sampled":
            z = self(batch, training=True, decode=False)
            return self.xla(self.sampled_objective)(batch["tags"], z)
        batch, kept = self.with_draw(batch, training)
        return self.likelihood_term(batch["tags"], self(batch, training=training), kept)

    def with_draw(self, batch, training):
        """(batch, Eq. 7's draw): where the objective needs the draw (`reconstruct="dropped"`
        in training) it is made here and handed to `hidden` in the batch (`kept`); else
        (batch, None) and `hidden` draws."""
        if not (training and self.config["reconstruct"] == "dropped"):
            return batch, None
        kept = self.mask_out(batch["tags"], training=True, rows=batch.get("row"))
        return {**batch, "kept": kept}, kept

    def likelihood_term(self, tags, logits, kept=None):
        """Eq. 11 (or its multinomial form) of the decoder's `logits`, over every tag, or
        over the tags not kept when `with_draw` gave the draw."""
        if kept is None:
            return self.xla(self.objective)(tags, logits)
        return self.xla(self.dropped_objective)(tags, logits, kept)

    def dropped_objective(self, tags, logits, kept):
        """Eq. 11 over the tags not kept by Eq. 7's draw `kept` (the encoder's ỹ: [B, L]
        weights of the padded ids `tags`, or [B, |T|] for the dense encoder)."""
        logits = tf.cast(logits, tf.float32)
        tags = tf.cast(tags, tf.int32)
        if self.config["encoder"] == "dense":
            kept = tf.gather(kept, tf.maximum(tags, 0), batch_dims=1)
        kept = (kept > 0) & (tags >= 0)  # [B, L]
        dropped = tf.where(kept | (tags < 0), -1, tags)
        if self.config["likelihood"] == "multinomial":  # the softmax over the tags not kept
            excluded = multi_hot(tf.where(kept, tags, -1), tf.ones_like(tags, tf.float32),
                                 self.config["num_tags"])
            return self.reduce_posts(summed_multinomial_from_logits(
                dropped, tf.where(excluded > 0, tf.float32.min, logits)))
        kept_logits = tf.gather(logits, tf.maximum(tags, 0), batch_dims=1)
        kept_terms = tf.reduce_sum(tf.where(kept, tf.nn.softplus(kept_logits), 0.0), axis=1)
        return self.reduce_posts(summed_bce_from_logits(dropped, logits) - kept_terms)

    def objective(self, tags, logits):
        logits = tf.cast(logits, tf.float32)  # Eq. 11 in float32
        if self.config["likelihood"] == "multinomial":
            return self.reduce_posts(summed_multinomial_from_logits(tags, logits))
        if self.config["loss_reduction"] == "mean" and distribute.replicas() > 1:
            return distribute.mean(summed_bce_from_logits(tags, logits))  # over global posts
        return self.reconstruction(tags, logits)

    def sampled_objective(self, tags, z):
        """ℓ̂ of the module docstring for the padded tag ids `tags` [B, L] and hidden z."""
        num_tags, n = self.config["num_tags"], self.config["num_sampled"]
        drawn = tf.minimum(tf.cast(rng.uniform([n], self.sampler_seed) * num_tags, tf.int32),
                           num_tags - 1)
        present = tags >= 0
        kernel, bias = self.decoder.kernel, self.decoder.bias  # W′ as Keras keeps it, [K, |T|]; b′

        def logits(w, b, equation):  # the decoder for a few tags' columns, in float32
            return tf.cast(tf.einsum(equation, z, tf.cast(w, z.dtype)), tf.float32) + b

        own = logits(tf.gather(kernel, tf.maximum(tags, 0), axis=1),
                     tf.gather(bias, tf.maximum(tags, 0)), "bk,kbl->bl")  # [B, L]
        other = logits(tf.gather(kernel, drawn, axis=1), tf.gather(bias, drawn), "bk,kn->bn")
        # −log σ(x) = softplus(−x), −log(1 − σ(x)) = softplus(x)
        positive = tf.reduce_sum(tf.where(present, tf.nn.softplus(-own), 0.0), axis=1)
        absent = tf.logical_not(tf.reduce_any(drawn[None, :, None] == tags[:, None, :], axis=2))
        negative = tf.reduce_sum(tf.where(absent, tf.nn.softplus(other), 0.0), axis=1)
        return self.reduce_posts(positive + negative * (num_tags / n))

    def get_config(self):
        return {**super().get_config(), **self.config}
