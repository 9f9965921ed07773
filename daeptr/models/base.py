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

XLA around the matmuls. XLA's CPU backend computes a bfloat16 matmul no faster than a
float32 one, while TensorFlow's own (oneDNN) kernels run it 1.66x faster than float32 on a
CPU with AVX512-BF16 (`python -m experiments.bench`, reports/bench/). A model whose step is bound by a few large
matmuls (DAE-PTR's decoder) sets `splits_xla` and passes the rest of its computation
through `self.xla(fn)`; `daeptr.training` then compiles those parts, and the regularized
optimizer update, with XLA each on its own, and leaves the matmuls between them to
TensorFlow (`xla_around_matmuls`). A model whose step has shapes that follow the batch
(`dynamic_shapes`: the pairwise models score a batch's real positives) trains the same way
with its whole data term in TensorFlow: XLA compiles only what has fixed shapes, the
update. Elsewhere `self.xla(fn)` is `fn` and the whole step is one XLA program, as Keras'
`jit_compile=True` makes it.
"""

from __future__ import annotations

import contextlib
import weakref

import keras
import tensorflow as tf

from daeptr import distribute

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


def xla_around_matmuls(model: keras.Model, jit_compile) -> bool:
    """Whether `model`, compiled with `jit_compile`, should train with XLA around its large
    matmuls rather than over its whole step: with XLA asked for, a model whose step XLA
    cannot compile whole (`dynamic_shapes`), or one that supports the split (`splits_xla`),
    computing in bfloat16, on no GPU (whose XLA backend has fast bfloat16 matmuls of its
    own)."""
    if jit_compile is not True:
        return False
    return getattr(model, "dynamic_shapes", False) or (
        getattr(model, "splits_xla", False) and model.compute_dtype == "bfloat16"
        and not tf.config.list_physical_devices("GPU"))


_XLA_PARTS = weakref.WeakKeyDictionary()


def dense(gradients):
    """`gradients` with every `tf.IndexedSlices` (a gather's) made dense. Keras 3's Adam
    squares an IndexedSlices' rows one by one, so a row gathered k times got Σ g² in its
    second moment instead of (Σ g)² (tests/test_baselines.py); dense, it is Adam."""
    return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in gradients]


def _global(share):
    """The global batch's value of a term from a replica's share of it (the sum of the
    shares), the same on every replica, for the logs to show what one process shows."""
    if distribute.replicas() == 1:
        return share
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, share)


class TagRecommender(keras.Model):
    """A model that scores every tag for a batch of posts."""

    # Largest number of posts `score` should see at once (None: any). Models whose scoring
    # holds a [posts × |T| × K] tensor set it so that evaluation stays within memory.
    score_batch_size: int | None = None
    # Whether the model marks the parts of its step around its large matmuls (`xla`).
    splits_xla: bool = False
    # Whether the step's shapes follow the batch, so that XLA can compile only the update.
    dynamic_shapes: bool = False
    # Whether evaluation compiles `score` with XLA: for a scoring that is one large
    # element-wise pass over [B, |T|, K] (NLTF's kernels, ABNT's MLP), which XLA fuses
    # instead of materialising (`python -m experiments.bench --pairwise`, eval_s).
    xla_scores: bool = False
    # Bumped when a change alters what a class' training computes; part of a run's
    # identity (`experiments.runs`), so that no run of the earlier code is reused.
    revision: int = 0

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

    def compile_around_matmuls(self, optimizer):
        """Compiles the model for training with XLA around its matmuls (see the module
        docstring): Keras' step is a plain graph whose `xla` parts are XLA programs."""
        self.compile(optimizer=optimizer, jit_compile=False)
        _XLA_PARTS[self] = {}

    def xla(self, fn):
        """`fn` compiled by XLA on its own when the model trains around its matmuls, else
        `fn` itself; `fn` is a method of the model."""
        parts = _XLA_PARTS.get(self)
        if parts is None:
            return fn
        key = getattr(fn, "__func__", fn)
        if key not in parts:
            parts[key] = tf.function(fn, jit_compile=True)
        return parts[key]

    def compute_objective(self, batch, training: bool) -> tf.Tensor:
        """The data term of the objective for one mini-batch (a scalar)."""
        raise NotImplementedError

    def score(self, batch) -> tf.Tensor:
        """Scores [B, |T|] of every tag for every post of `batch` (higher is better), float32
        whatever the model's precision."""
        return tf.cast(self(batch, training=False), tf.float32)

    def objective_terms(self, batch, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
        """(data term, regularization) of one mini-batch; the regularization defaults to
        the penalties attached to the weights (`self.losses`).

        Under tf.distribute each is a replica's share of the global batch's, and Keras sums
        the replicas' gradients: a data term that sums over posts is a replica's sum, a
        mean is `distribute.mean` (the replica's sum over the global count), and a penalty
        on the weights is `distribute.penalty` (divided by the replicas)."""
        loss = self.compute_objective(batch, training=training)
        regularization = (distribute.penalty(tf.add_n(self.losses)) if self.losses
                          else tf.zeros_like(loss))
        return loss, regularization

    def _objective(self, batch, training):
        loss, regularization = self.objective_terms(batch, training)
        return loss, regularization, loss + regularization

    def _report(self, loss, regularization, total):
        self.loss_tracker.update_state(loss)
        self.regularization_tracker.update_state(regularization)
        self.total_tracker.update_state(total)
        results = {m.name: m.result() for m in self.metrics}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras averages a multi-worker step's logs over their axis 0, which a scalar
            # lacks ("Invalid reduction dimension 0"); it gives back a scalar from [1].
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    def train_step(self, batch):
        if self in _XLA_PARTS and self.splits_xla:
            return self._train_step_around_matmuls(batch)
        with tf.GradientTape() as tape:
            loss, regularization, total = self._objective(batch, training=True)
        # A model with `dynamic_shapes` trained in parts: the update alone is an XLA program.
        self.xla(self._apply)(dense(tape.gradient(total, self.trainable_variables)))
        loss, regularization = _global(loss), _global(regularization)
        return self._report(loss, regularization, loss + regularization)

    def _apply(self, gradients):
        self.optimizer.apply(gradients, self.trainable_variables)

    def _train_step_around_matmuls(self, batch):
        replicas = distribute.replicas()
        with tf.GradientTape() as tape:
            loss = self.compute_objective(batch, training=True)
        gradients = tape.gradient(loss, self.trainable_variables)
        # The penalty's value, for the logs, from TensorFlow's kernels: XLA's CPU reduction
        # over DAE-PTR's 6.4M weights took 7.23 ms against 1.51 ms (`penalty_ms` of the bench).
        # Read before the update below, which the graph orders after it.
        regularization = tf.add_n(self.losses) if self.losses else tf.zeros_like(loss)
        self.xla(self._regularized_update)(gradients, 1.0 / replicas)
        loss = _global(loss)
        return self._report(loss, regularization, loss + regularization)

    def _regularized_update(self, gradients, penalty_share=1.0):
        """Adds the penalties' gradients (Eq. 12: λθ, times `penalty_share`, a replica's
        part) to the data term's `gradients` and applies the optimizer, in one XLA program:
        the penalty's gradient is dense over every embedding row, and summed on the tape it
        would be one more pass over them outside XLA."""
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            penalty = tf.add_n(self.losses) if self.losses else tf.zeros([])
            if penalty_share != 1.0:
                penalty = penalty * penalty_share
        penalties = tape.gradient(penalty, variables,
                                  unconnected_gradients=tf.UnconnectedGradients.ZERO)
        self.optimizer.apply([tf.convert_to_tensor(g) + p for g, p in zip(gradients, penalties)],
                             variables)

    def test_step(self, batch):
        return self._report(*self._objective(batch, training=False))
