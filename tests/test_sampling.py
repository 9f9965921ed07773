"""In-graph negative sampling: never a post's own tag, uniform over the rest, seeded."""

import keras
import numpy as np
import tensorflow as tf

from daeptr.losses import bpr_loss
from daeptr.sampling import complement_sample

TAGS = tf.constant([[1, 2, -1, -1], [0, 4, 3, 7], [-1, -1, -1, -1], [9, 0, 5, -1]], tf.int32)


def test_negatives_never_include_a_posts_own_tags_and_cover_the_rest():
    draws = complement_sample(TAGS, 10, 4000, keras.random.SeedGenerator(0)).numpy()
    for row, drawn in zip(TAGS.numpy(), draws):
        own = set(row[row >= 0])
        assert not own & set(drawn)
        assert set(drawn) == set(range(10)) - own  # every other tag can be drawn


def test_negatives_are_uniform_over_the_complement():
    draws = complement_sample(TAGS, 10, 20000, keras.random.SeedGenerator(1)).numpy()
    for row, drawn in zip(TAGS.numpy(), draws):
        free = sorted(set(range(10)) - set(row[row >= 0]))
        counts = np.bincount(drawn, minlength=10)[free]
        expected = len(drawn) / len(free)
        # 4 binomial standard deviations of one cell
        assert np.all(np.abs(counts - expected) < 4 * np.sqrt(expected)), (row, counts)


def test_sampling_repeats_under_a_seed_and_changes_across_calls():
    first = complement_sample(TAGS, 10, 50, keras.random.SeedGenerator(3))
    again = complement_sample(TAGS, 10, 50, keras.random.SeedGenerator(3))
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    generator = keras.random.SeedGenerator(3)
    a, b = (complement_sample(TAGS, 10, 50, generator).numpy() for _ in range(2))
    assert (a != b).any()


def test_sampling_compiles_with_xla():
    sample = tf.function(lambda t: complement_sample(t, 10, 8, 5), jit_compile=True)
    drawn = sample(TAGS).numpy()
    assert drawn.shape == (4, 8) and not np.isin(drawn[1], [0, 4, 3, 7]).any()


def test_bpr_loss_is_the_mean_of_minus_log_sigmoid_over_each_positives_pairs():
    positive = np.array([2.0, -1.0, 0.5], np.float32)  # post 0: 2, -1; post 1: 0.5
    post_of = np.array([0, 0, 1], np.int32)
    negative = np.array([[1.0, 3.0], [-2.0, 0.5]], np.float32)
    pairs = [(2.0 - 1.0), (2.0 - 3.0), (-1.0 - 1.0), (-1.0 - 3.0), (0.5 + 2.0), (0.5 - 0.5)]
    expected = np.mean([np.log1p(np.exp(-d)) for d in pairs])
    got = bpr_loss(tf.constant(positive), tf.constant(negative), tf.constant(post_of))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    assert bpr_loss(tf.zeros([0]), tf.constant(negative), tf.zeros([0], tf.int32)).numpy() == 0.0
