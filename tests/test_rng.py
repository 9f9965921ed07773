"""daeptr.rng: the training step's uniform draws, Keras' numbers drawn fast under XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from daeptr import rng


def _draws(seed, jit, count=3, shape=(64, 50)):
    generator = keras.random.SeedGenerator(seed)
    draw = tf.function(lambda: rng.uniform(shape, generator), jit_compile=jit)
    return [draw().numpy() for _ in range(count)]


@pytest.mark.parametrize("jit", [False, True])
def test_draws_are_uniform_on_the_unit_interval(jit):
    u = np.concatenate([d.ravel() for d in _draws(0, jit, count=4, shape=(200, 100))])
    assert u.dtype == np.float32 and u.min() >= 0.0 and u.max() < 1.0
    # 80,000 draws: the mean's standard error is 0.001, a decile's share's 0.001.
    assert abs(u.mean() - 0.5) < 0.005
    shares = np.histogram(u, bins=10, range=(0, 1))[0] / u.size
    assert np.abs(shares - 0.1).max() < 0.005


@pytest.mark.parametrize("jit", [False, True])
def test_a_generator_advances_and_a_seed_repeats_its_sequence(jit):
    first, again = _draws(7, jit), _draws(7, jit)
    assert not np.array_equal(first[0], first[1])  # each call draws anew
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], _draws(8, jit)[0])


@pytest.mark.parametrize("jit", [False, True])
def test_the_draws_are_the_numbers_keras_random_uniform_draws(jit):
    # The committed run records were drawn with keras.random.uniform: the same numbers keep
    # them reproducible.
    ours, theirs = keras.random.SeedGenerator(5), keras.random.SeedGenerator(5)
    draw = tf.function(lambda: rng.uniform([48, 49], ours), jit_compile=jit)
    keras_draw = tf.function(lambda: keras.random.uniform([48, 49], seed=theirs), jit_compile=jit)
    for _ in range(3):
        np.testing.assert_array_equal(draw().numpy(), keras_draw().numpy())


def test_an_int_seed_draws_the_same_numbers_each_time():
    np.testing.assert_array_equal(rng.uniform([5, 6], 11).numpy(), rng.uniform([5, 6], 11).numpy())
    assert not np.array_equal(rng.uniform([5, 6], 11).numpy(), rng.uniform([5, 6], 12).numpy())
