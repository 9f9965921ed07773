"""Base class of the tag recommenders: a Keras model whose objective is its own.

Like TFRS' `tfrs.Model`, a subclass writes `compute_objective(batch, training)` — the
paper's data term — and the base `train_step` adds the regularizers attached to its
weights (`self.losses`) and reports `loss`, `regularization_loss` and `total_loss`
separately, so that TensorBoard shows Eq. 11's two parts apart.

Precision. A model built inside `dtype_policy("mixed_bfloat16")` computes in bfloat16 with
float32 variables, sublayers included; its objective and its scores (`score`) are float32.
Its own scores are the bfloat16 outputs widened (8 bits of mantissa: many of |T| tags tie,
and ties count against the target), so evaluation ranks with `float32_scorer(model)`, a
float32 copy that holds the trained weights.
"""

from __future__ import annotations

import contextlib
import weakref

import keras
import tensorflow as tf

PRECISIONS = ("float32", "mixed_bfloat16")


@contextlib.contextmanager
def dtype_policy(policy):
    """Layers made inside take the Keras dtype policy `policy` (a name, a `DTypePolicy` or
    its config; None: the current one), which is then restored.

    A Keras 3 layer made without a `dtype` takes the global policy of the moment, and the
    models make their sublayers without one; a `dtype=` given to the model alone would
    leave them at float32. Raw TensorFlow ops on a model's own variables inside `call`
    (`tf.gather(self.W, …)`) follow the model's policy through Keras' autocasting.
    """
    previous = keras.config.dtype_policy()
    if policy is not None:
        keras.config.set_dtype_policy(keras.dtype_policies.get(policy))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


_FLOAT32_TWINS = weakref.WeakKeyDictionary()


def float32_scorer(model: keras.Model) -> keras.Model:
    """`model` if it computes in float32; else a float32 model of the same class and
    configuration holding `model`'s current weights (made once and kept on `model`, its
    weights refreshed at every call), so that rankings are computed in float32 whatever
    precision trained the weights."""
    if model.compute_dtype == "float32":
        return model
    twin = _FLOAT32_TWINS.get(model)
    if twin is None:
        twin = type(model).from_config({**model.get_config(), "dtype": "float32"})
        if len(twin.weights) != len(model.weights):
            raise ValueError(f"{type(model).__name__} makes weights on its first call; a "
                             "float32 copy cannot take its weights")
        _FLOAT32_TWINS[model] = twin  # not an attribute: Keras would track it as a sublayer
    for target, source in zip(twin.weights, model.weights):
        target.assign(source)
    return twin


class TagRecommender(keras.Model):
    """A model that scores every tag for a batch of posts."""

    # Largest number of posts `score` should see at once (None: any). Models whose scoring
    # holds a [posts × |T| × K] tensor set it so that evaluation stays within memory.
    score_batch_size: int | None = None

    @classmethod
    def from_posts(cls, posts, **arguments):
        """Builds the model for training on `posts` (a `Posts` of training tags).

        Most models need only the sizes; models with data-derived state (popularity counts,
        tagging histories) override this and fill that state from `posts` alone, so the
        state of the validation phase never contains a validation tag.
        """
        del posts
        return cls(**arguments)

    @classmethod
    def from_config(cls, config):
        # Loading rebuilds the model from its arguments: its sublayers get its saved policy
        # only if they are made under it (see `dtype_policy`).
        with dtype_policy(config.get("dtype")):
            return super().from_config(config)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.regularization_tracker = keras.metrics.Mean(name="regularization_loss")
        self.total_tracker = keras.metrics.Mean(name="total_loss")

    @property
    def metrics(self):
        return [self.loss_tracker, self.regularization_tracker, self.total_tracker]

    def compute_objective(self, batch, training: bool) -> tf.Tensor:
        """The data term of the objective for one mini-batch (a scalar)."""
        raise NotImplementedError

    def score(self, batch) -> tf.Tensor:
        """Scores [B, |T|] of every tag for every post of `batch` (higher is better), float32
        whatever the model's precision."""
        return tf.cast(self(batch, training=False), tf.float32)

    def objective_terms(self, batch, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
        """(data term, regularization) of one mini-batch; the regularization defaults to
        the penalties attached to the weights (`self.losses`)."""
        loss = self.compute_objective(batch, training=training)
        regularization = tf.add_n(self.losses) if self.losses else tf.zeros_like(loss)
        return loss, regularization

    def _objective(self, batch, training):
        loss, regularization = self.objective_terms(batch, training)
        return loss, regularization, loss + regularization

    def _report(self, loss, regularization, total):
        self.loss_tracker.update_state(loss)
        self.regularization_tracker.update_state(regularization)
        self.total_tracker.update_state(total)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, batch):
        with tf.GradientTape() as tape:
            loss, regularization, total = self._objective(batch, training=True)
        gradients = tape.gradient(total, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        return self._report(loss, regularization, total)

    def test_step(self, batch):
        return self._report(*self._objective(batch, training=False))
