"""Uniform draws inside the training step (mask-out corruption, negative sampling).

`uniform` draws exactly the numbers `keras.random.uniform` draws from the same seed
generator: Keras asks TensorFlow for its automatic choice of generator ("auto_select"),
which is Philox. Naming Philox changes only the speed: XLA compiles the automatic choice on
a CPU to far slower code. On the 2-core AVX2 EPYC a [1024, 49] draw (DAE-PTR's mask on
Last.fm) took 24.6 ms against 1.1 ms, a [256, 343] one (CDAE's) 42.9 ms against 1.6 ms
(`python -m experiments.bench`, column "mask draw"; BUILD_NOTES.md, "Speed and memory").
"""

from __future__ import annotations

import keras
import tensorflow as tf


def uniform(shape, seed, dtype="float32") -> tf.Tensor:
    """U[0, 1) of `shape`, as `keras.random.uniform(shape, seed=seed, dtype=dtype)`.

    Args:
      shape: the output shape (a list or a 1-D int tensor).
      seed: a `keras.random.SeedGenerator`, advanced by one draw as `keras.random.uniform`
        advances it, or an int.
      dtype: a float dtype.
    """
    return tf.random.stateless_uniform(shape, seed=_key(seed), dtype=dtype, alg="philox")


def normal(shape, seed, dtype="float32") -> tf.Tensor:
    """N(0, 1) of `shape`, Philox as `uniform`, from the same kind of `seed` (the variational
    model's reparameterization noise)."""
    return tf.random.stateless_normal(shape, seed=_key(seed), dtype=dtype, alg="philox")


def _key(seed) -> tf.Tensor:
    """The stateless ops' key: the generator's next state (advancing it), or an int's."""
    if isinstance(seed, keras.random.SeedGenerator):
        key = seed.next()
    else:
        key = tf.constant([int(seed), 0], tf.int64)
    # As Keras does: stateless ops take an int32 pair under XLA; the generator's state is int64.
    return tf.cast(tf.math.floormod(tf.cast(key, tf.int64), tf.int32.max - 1), tf.int32)
