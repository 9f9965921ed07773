"""Reconstruction term of the DAE-PTR objective, Eq. 11.

    ℓ = − Σ_{(u,i)∈Ω} Σ_{t=1}^{|T|} [ y_t log ŷ_t + (1 − y_t) log(1 − ŷ_t) ],
    ŷ = σ(logits)                                                (Eq. 10, f = σ)

The target y is a post's tag set, i.e. a multi-hot vector over |T| tags with a
handful of ones. Instead of densifying it we use the stable logit form of the
binary cross-entropy, BCE(y, σ(x)) = softplus(x) − x·y, and sum it over t:

    Σ_t BCE(y_t, σ(x_t)) = Σ_t softplus(x_t) − Σ_{t ∈ y} x_t .

The first sum is over all tags, the second is a gather of the few positive
logits, so the target never costs O(|T|) memory.
"""

import keras
import tensorflow as tf

from daeptr import distribute


def summed_bce_from_logits(tag_ids, logits):
    """Per-post Σ_t BCE(y_t, σ(logits_t)) for a sparse multi-hot target.

    Args:
        tag_ids: int ``[B, L]`` tag ids of each post, padded with -1. Ids must
            be unique within a row (a tag set); a duplicated id would count
            its logit twice.
        logits: float ``[B, T]`` pre-sigmoid decoder outputs.

    Returns:
        float ``[B]``, the reconstruction loss of each post.
    """
    logits = tf.convert_to_tensor(logits)
    tag_ids = tf.cast(tag_ids, tf.int32)
    present = tag_ids >= 0
    # tf.gather rejects -1 on CPU, so padding reads the (always valid) id 0
    # and is zeroed afterwards.
    positive_logits = tf.gather(logits, tf.where(present, tag_ids, 0), batch_dims=1)
    positive_logits = tf.where(present, positive_logits, tf.zeros_like(positive_logits))
    return tf.reduce_sum(tf.math.softplus(logits), axis=-1) - tf.reduce_sum(
        positive_logits, axis=-1
    )


def summed_multinomial_from_logits(tag_ids, logits):
    """Per-post multinomial negative log-likelihood of the post's tags (Mult-VAE's, Liang et
    al. 2018, Eq. 3), −Σ_{t ∈ y} log softmax(logits)_t = |y|·logsumexp(logits) − Σ_{t ∈ y} logits_t.

    Args and result as `summed_bce_from_logits`: padded ids ``[B, L]``, logits ``[B, T]``,
    float ``[B]``. A post without tags costs 0.
    """
    logits = tf.convert_to_tensor(logits)
    tag_ids = tf.cast(tag_ids, tf.int32)
    present = tag_ids >= 0
    positive_logits = tf.gather(logits, tf.where(present, tag_ids, 0), batch_dims=1)
    positive_logits = tf.where(present, positive_logits, tf.zeros_like(positive_logits))
    count = tf.reduce_sum(tf.cast(present, logits.dtype), axis=-1)
    return count * tf.reduce_logsumexp(logits, axis=-1) - tf.reduce_sum(positive_logits, axis=-1)


@keras.saving.register_keras_serializable(package="daeptr")
class SummedBinaryCrossentropy(keras.losses.Loss):
    """Eq. 11 reconstruction loss, from logits, with padded tag ids as target.

    ``y_true`` is the post's tag ids, int ``[B, L]`` padded with -1 (the only
    accepted target form: a dense multi-hot ``[B, T]`` target is *not*
    accepted). ``y_pred`` is the decoder's LOGITS ``[B, T]`` (apply the
    paper's output sigmoid only at prediction time).

    Reductions:
        ``"sum"`` (default): sum over the posts of the batch, literally Eq. 11
            (Σ over Ω, restricted to the mini-batch).
        ``"sum_over_batch_size"``: the mean per post (the Eq. 11 sum divided by
            the batch size), which keeps the gradient scale independent of B.
        ``"none"``: the per-post vector ``[B]``.
    """

    def __init__(self, reduction="sum", name="summed_binary_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        # Loss.__call__ casts y_true (the tag ids) to this dtype before call();
        # half-precision floats cannot hold ids above 2048 (float16) or 256
        # (bfloat16) exactly and would silently point at the wrong tags.
        if self.dtype not in ("float32", "float64"):
            raise ValueError(
                "SummedBinaryCrossentropy: `dtype` must be float32 or float64 "
                f"(the tag ids travel through it), got dtype={self.dtype!r}"
            )

    def call(self, y_true, y_pred):
        # Loss.__call__ has already cast y_true to the loss dtype (float32);
        # tag ids < 2**24 survive that round trip exactly.
        return summed_bce_from_logits(tf.cast(y_true, tf.int32), y_pred)

    def get_config(self):
        # Loss.get_config leaves out dtype, which this loss validates.
        return {**super().get_config(), "dtype": self.dtype}


def bpr_loss(positive, negative, post_of):
    """BPR (Rendle et al. 2009): mean over pairs of −ln σ(ŷ⁺ − ŷ⁻).

    Every positive of a post is paired with every sampled negative of that post.

    Args:
        positive: float ``[P]`` scores of the batch's positive (post, tag) pairs.
        negative: float ``[B, n]`` scores of each post's sampled negative tags.
        post_of: int ``[P]``, the post of each positive (a row of ``negative``).

    Returns:
        The mean over the ``P · n`` pairs (0 if there are none).
    """
    difference = positive[:, None] - tf.gather(negative, post_of)  # [P, n]
    pair_loss = -tf.math.log_sigmoid(difference)
    return distribute.mean(pair_loss, tf.ones_like(pair_loss))  # over the global batch's pairs


# ---- CDDAE (Zhao et al.), Eq. 7–10: output activation and loss ------------------------------

RECONSTRUCTIONS = ("sigmoid_bce", "sigmoid_mae", "softmax_cce")


def reconstruction_loss(targets, logits, kind: str = "sigmoid_bce", reduction: str = "sum"):
    """Per-row reconstruction loss of a binary target vector, [B].

    Args:
        targets: float ``[B, D]`` in {0, 1} (ratings, then the embedded profile).
        logits: ``[B, D]`` pre-activation outputs, or ``[B, D, 2]`` for ``softmax_cce``.
        kind: ``sigmoid_bce`` — σ output, binary cross-entropy (Eq. 7–8);
            ``sigmoid_mae`` — σ output, mean absolute error |t − σ(s)|;
            ``softmax_cce`` — a two-class softmax per entry, categorical cross-entropy
            −log softmax(s)[t] (Eq. 9–10, C = 2).
        reduction: ``sum`` over the D outputs, or ``mean`` (Keras' losses average them).
    """
    if kind not in RECONSTRUCTIONS:
        raise ValueError(f"kind must be one of {RECONSTRUCTIONS}, got {kind!r}")
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    targets = tf.cast(targets, logits.dtype)
    if kind == "sigmoid_bce":
        per_entry = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    elif kind == "sigmoid_mae":
        per_entry = tf.abs(targets - tf.sigmoid(logits))
    else:
        per_entry = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(targets, tf.int32), logits=logits)
    reduce = tf.reduce_sum if reduction == "sum" else tf.reduce_mean
    return reduce(per_entry, axis=-1)
