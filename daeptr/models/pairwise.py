"""Pairwise (BPR) training shared by the factorization and neural tag baselines.

For a training post (u, i) with tag set S, every tag t⁺ ∈ S is paired with `num_negatives`
tags t⁻ drawn uniformly from the tags not in S (`daeptr.sampling`, in the compiled step):

    ℓ = mean over pairs  −ln σ(ŷ(u,i,t⁺) − ŷ(u,i,t⁻))                     BPR
      + λ/2 · (mean_b ‖e_u‖² + ‖e_i‖²  +  mean over drawn tags ‖e_t‖²)

The penalty is on the embedding rows the batch touches — Rendle's SGD update for PITF — and
not on whole tables: a rare user's row would otherwise be shrunk at every step it is absent.
Dense weights of a subclass (ABNT's MLP) carry their own `HalfL2` regularizers.

Only the batch's real positives are scored: a batch arrives padded to the widest post
(Last.fm core-5: 49 tag slots for 2.9 tags on average), and scoring every slot made a PITF
step 2.7x slower (`python -m experiments.bench --pairwise`). Their number changes from
batch to batch, which XLA cannot compile; so the data term runs in TensorFlow's kernels and
XLA compiles the optimizer update (`dynamic_shapes`, `TagRecommender.train_step`).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from daeptr import distribute
from daeptr.losses import bpr_loss
from daeptr.models.base import TagRecommender
from daeptr.sampling import complement_sample


class PairwiseTagModel(TagRecommender):
    """A tag model ŷ(u, i, t) trained with BPR over sampled negative tags.

    Subclasses implement `tag_scores(batch, tag_ids)` → [B, M] for tag ids [B, M],
    `all_scores(batch)` → [B, |T|], and `embeddings(batch, tag_ids)` → the embedding rows to
    penalise. Both kinds of score go through `call`, so that Keras autocasts the variables
    they read under mixed precision; the penalty reads them outside it, in float32.
    """

    dynamic_shapes = True  # the positives' count follows the batch (module docstring)
    revision = 1  # 1: Adam on dense gradients (`base.dense`); 0 squared a gather's rows

    def __init__(self, num_tags: int, l2: float, num_negatives: int, seed: int | None, **kwargs):
        super().__init__(**kwargs)
        if num_negatives < 1:
            raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2}")
        self.num_tags, self.l2, self.num_negatives = num_tags, l2, num_negatives
        self.sampler_seed = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False, tag_ids=None):
        """ŷ(u, i, t) of the tags `tag_ids` [B, M], or of every tag (None) [B, |T|]."""
        return self.all_scores(inputs) if tag_ids is None else self.tag_scores(inputs, tag_ids)

    def tag_scores(self, batch, tag_ids) -> tf.Tensor:
        raise NotImplementedError

    def all_scores(self, batch) -> tf.Tensor:
        raise NotImplementedError

    def embeddings(self, batch, tag_ids) -> tuple[list[tf.Tensor], list[tf.Tensor]]:
        """(post-side rows [B, ·], tag-side rows [B, M, ·]) that the scores used."""
        raise NotImplementedError

    def negatives(self, batch) -> tf.Tensor:
        return complement_sample(batch["tags"], self.num_tags, self.num_negatives,
                                 self.sampler_seed, rows=batch.get("row"))

    def objective_terms(self, batch, training):
        tags = batch["tags"]
        negatives = self.negatives(batch)  # [B, n]
        where = tf.where(tags >= 0)  # the real positives, [P, 2]
        post_of = tf.cast(where[:, 0], tf.int32)
        positives = tf.cast(tf.gather_nd(tags, where), tf.int32)[:, None]  # [P, 1]
        pairs = {name: tf.gather(value, post_of) for name, value in batch.items()}  # a post per positive
        positive = tf.cast(self(pairs, training=training, tag_ids=positives), tf.float32)[:, 0]
        negative = tf.cast(self(batch, training=training, tag_ids=negatives), tf.float32)  # BPR: float32
        loss = bpr_loss(positive, negative, post_of)

        post_rows, negative_rows = self.embeddings(batch, negatives)
        _, positive_rows = self.embeddings(pairs, positives)
        # Means over the global batch's rows (`distribute.mean`: a replica's share); a tag
        # row counts once per positive and once per draw.
        squared = lambda e: tf.reshape(tf.reduce_sum(tf.square(e), -1), [-1])
        post_norm = tf.add_n([distribute.mean(squared(e)) for e in post_rows])
        tag_norm = tf.add_n([distribute.mean(tf.concat([squared(p), squared(n)], 0))
                             for p, n in zip(positive_rows, negative_rows)])
        regularization = 0.5 * self.l2 * (post_norm + tag_norm)
        if self.losses:
            regularization += distribute.penalty(tf.add_n(self.losses))
        return loss, regularization
