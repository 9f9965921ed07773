import keras
import numpy as np
import pytest
import tensorflow as tf

from daeptr.layers import MaskOut, multi_hot, weighted_row_sum

NUM_TAGS = 50


def _padded_ids(rng, batch, max_len, num_tags, min_len=1):
    ids = np.full((batch, max_len), -1, "int32")
    for b in range(batch):
        n = rng.integers(min_len, max_len + 1)
        ids[b, :n] = rng.choice(num_tags, n, replace=False)
    return ids


def _numpy_multi_hot(ids, weights, depth):
    out = np.zeros((ids.shape[0], depth), "float32")
    for b in range(ids.shape[0]):
        for i, w in zip(ids[b], weights[b]):
            if 0 <= i < depth:
                out[b, i] += w
    return out


@pytest.fixture
def ids():
    return _padded_ids(np.random.default_rng(0), batch=16, max_len=8, num_tags=NUM_TAGS)


# ---- multi_hot ---------------------------------------------------------------


def test_multi_hot_matches_numpy(ids):
    weights = np.random.default_rng(1).uniform(size=ids.shape).astype("float32")
    got = multi_hot(ids, weights, NUM_TAGS).numpy()
    np.testing.assert_allclose(got, _numpy_multi_hot(ids, weights, NUM_TAGS), rtol=1e-6)


def test_multi_hot_ignores_padding_and_out_of_range_ids():
    ids = np.array([[0, 5, -1], [3, -1, -1]], "int32")  # 5 >= depth
    got = multi_hot(ids, np.full((2, 3), 7.0, "float32"), 4).numpy()
    # Flattened, row 0's id 5 is row 1's column 1: it must be dropped, not spill.
    np.testing.assert_array_equal(got, [[7, 0, 0, 0], [0, 0, 0, 7]])


# ---- argument checks ------------------------------------------------------------


@pytest.mark.parametrize("rate", [-0.1, 1.01, float("nan")])
def test_rate_outside_unit_interval_raises(rate):
    with pytest.raises(ValueError, match="rate"):
        MaskOut(NUM_TAGS, rate)


@pytest.mark.parametrize("num_tokens", [0, -3, 2.5])
def test_bad_num_tokens_raises(num_tokens):
    with pytest.raises(ValueError, match="num_tokens"):
        MaskOut(num_tokens, 0.5)


# ---- Eq. 7 behaviour --------------------------------------------------------------


def test_kept_fraction_is_one_minus_rate():
    # 4000 x 30 = 120k present entries; the std of the kept fraction is
    # sqrt(0.2 * 0.8 / 120000) ~ 0.0012, so 0.01 is ~8 standard deviations.
    layer = MaskOut(3000, rate=0.8, dense=False, seed=3)
    ids = np.tile(np.arange(30, dtype="int32"), (4000, 1))
    weights = layer(ids, training=True).numpy()
    assert set(np.unique(weights)) <= {0.0, 1.0}
    assert abs(weights.mean() - 0.2) < 0.01


@pytest.mark.parametrize("training", [False, None])
def test_identity_outside_training(ids, training):
    layer = MaskOut(NUM_TAGS, rate=0.8, seed=0)
    expected = _numpy_multi_hot(ids, np.ones(ids.shape), NUM_TAGS)
    np.testing.assert_array_equal(layer(ids, training=training).numpy(), expected)
    np.testing.assert_array_equal(layer(ids).numpy(), expected)


def test_rate_zero_is_identity_even_in_training(ids):
    layer = MaskOut(NUM_TAGS, rate=0.0, rescale=True, seed=0)
    expected = _numpy_multi_hot(ids, np.ones(ids.shape), NUM_TAGS)
    np.testing.assert_array_equal(layer(ids, training=True).numpy(), expected)


@pytest.mark.parametrize("rescale", [False, True])
def test_rate_one_gives_all_zeros(ids, rescale):
    for dense in (True, False):
        out = MaskOut(NUM_TAGS, rate=1.0, rescale=rescale, dense=dense)(ids, training=True)
        np.testing.assert_array_equal(out.numpy(), np.zeros(out.shape))


def test_corruption_only_removes_present_tags(ids):
    clean = _numpy_multi_hot(ids, np.ones(ids.shape), NUM_TAGS)
    noisy = MaskOut(NUM_TAGS, rate=0.5, seed=1)(ids, training=True).numpy()
    assert np.all(noisy <= clean)
    assert 0 < noisy.sum() < clean.sum()


def test_consecutive_calls_draw_different_masks(ids):
    layer = MaskOut(NUM_TAGS, rate=0.5, seed=7)
    first = layer(ids, training=True).numpy()
    second = layer(ids, training=True).numpy()
    assert not np.array_equal(first, second)


def test_same_seed_gives_same_mask_sequence(ids):
    a, b = MaskOut(NUM_TAGS, rate=0.5, seed=11), MaskOut(NUM_TAGS, rate=0.5, seed=11)
    for _ in range(3):
        np.testing.assert_array_equal(
            a(ids, training=True).numpy(), b(ids, training=True).numpy()
        )
    other = MaskOut(NUM_TAGS, rate=0.5, seed=12)
    assert not np.array_equal(a(ids, training=True).numpy(), other(ids, training=True).numpy())


@pytest.mark.parametrize("rate", [0.5, 0.25])
def test_rescale_scales_kept_entries(ids, rate):
    weights = MaskOut(NUM_TAGS, rate=rate, rescale=True, dense=False, seed=2)(
        ids, training=True
    ).numpy()
    kept = weights[weights != 0]
    assert kept.size > 0
    np.testing.assert_allclose(kept, 1.0 / (1.0 - rate), rtol=1e-6)
    assert np.all(weights[ids < 0] == 0)


@pytest.mark.parametrize("training", [True, False])
def test_sparse_weights_are_zero_at_padding(ids, training):
    weights = MaskOut(NUM_TAGS, rate=0.3, dense=False, seed=4)(ids, training=training).numpy()
    assert weights.shape == ids.shape and weights.dtype == np.float32
    assert np.all(weights[ids < 0] == 0)
    if not training:
        np.testing.assert_array_equal(weights, (ids >= 0).astype("float32"))


@pytest.mark.parametrize("dense", [True, False])
def test_compiled_step_with_dynamic_batch(dense):
    layer = MaskOut(NUM_TAGS, rate=0.5, dense=dense, seed=5)
    kernel = tf.Variable(tf.ones([NUM_TAGS, 3]))

    @tf.function(jit_compile=True, input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def step(ids):
        with tf.GradientTape() as tape:
            y = layer(ids, training=True)
            if dense:
                h = tf.matmul(y, kernel)
            else:  # the gather encoder MaskOut(dense=False) is meant for
                h = tf.reduce_sum(tf.gather(kernel, tf.maximum(ids, 0)) * y[..., None], 1)
            loss = tf.reduce_sum(h)
        return y, tf.convert_to_tensor(tape.gradient(loss, kernel))

    rng = np.random.default_rng(6)
    for batch in (16, 16, 5):  # the last batch is smaller
        ids = _padded_ids(rng, batch, 8, NUM_TAGS)
        y, grad = step(tf.constant(ids))
        y = y.numpy()
        width = NUM_TAGS if dense else 8
        assert y.shape == (batch, width)
        clean = _numpy_multi_hot(ids, np.ones(ids.shape), NUM_TAGS)
        dense_y = y if dense else _numpy_multi_hot(ids, y, NUM_TAGS)
        assert np.all(dense_y <= clean)
        # d loss / d kernel[t, :] is how often t survived the mask.
        np.testing.assert_allclose(grad.numpy()[:, 0], dense_y.sum(0), rtol=1e-6)
    same_ids = _padded_ids(np.random.default_rng(0), 16, 8, NUM_TAGS)
    first = step(tf.constant(same_ids))[0].numpy()
    second = step(tf.constant(same_ids))[0].numpy()
    assert not np.array_equal(first, second)  # the seed state advances in XLA too


def test_output_shape_in_functional_model():
    inputs = keras.Input(shape=(8,), dtype="int32")
    assert MaskOut(NUM_TAGS, 0.2)(inputs).shape == (None, NUM_TAGS)
    assert MaskOut(NUM_TAGS, 0.2, dense=False)(inputs).shape == (None, 8)


def test_config_round_trip(ids):
    layer = MaskOut(NUM_TAGS, rate=0.4, rescale=True, dense=False, seed=9, name="corrupt")
    config = layer.get_config()
    for key, value in dict(num_tokens=NUM_TAGS, rate=0.4, rescale=True, dense=False, seed=9).items():
        assert config[key] == value
    again = MaskOut.from_config(config)
    assert again.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(revived, MaskOut) and revived.get_config() == config
    # A revived layer restarts the same seed stream as a fresh one.
    np.testing.assert_array_equal(
        revived(ids, training=True).numpy(),
        MaskOut.from_config(config)(ids, training=True).numpy(),
    )


# ---- weighted_row_sum (W·ỹ of the sparse encoder) -----------------------------


def _numpy_row_sum(ids, weights, table):
    out = np.zeros((ids.shape[0], table.shape[1]), "float64")
    for b, l in zip(*np.nonzero(ids >= 0)):
        out[b] += weights[b, l] * table[ids[b, l]]
    return out


def _row_sum_case(keep, seed=0):
    """8 posts of up to 6 tags of 10, padded with -1; each present tag kept with
    probability `keep` (weight 1.5) or dropped (weight 0)."""
    rng = np.random.default_rng(seed)
    ids = np.full((8, 6), -1, "int32")
    for b, n in enumerate([0, 1, 2, 6, 3, 1, 5, 2]):
        ids[b, :n] = rng.choice(10, n, replace=False)
    weights = np.where((ids >= 0) & (rng.random(ids.shape) < keep), 1.5, 0.0).astype("float32")
    table = rng.standard_normal((10, 3)).astype("float32")
    return ids, weights, table


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("keep,slots", [(0.3, 2), (1.0, 2), (1.0, 6), (0.0, 2)])
def test_weighted_row_sum_and_its_gradient_match_numpy(jit, keep, slots):
    # keep 1.0 with 2 slots per post: 20 nonzero pairs > 16 slots, the every-pair path;
    # slots >= width: no compaction at all; keep 0: nothing to add.
    ids, weights, table = _row_sum_case(keep)
    upstream = np.random.default_rng(1).standard_normal((8, 3)).astype("float32")
    variable = tf.Variable(table)

    @tf.function(jit_compile=jit)
    def forward_backward(ids, weights):
        with tf.GradientTape() as tape:
            out = weighted_row_sum(ids, weights, variable, slots_per_row=slots)
            loss = tf.reduce_sum(out * upstream)
        return out, tape.gradient(loss, variable)

    out, grad = forward_backward(tf.constant(ids), tf.constant(weights))
    np.testing.assert_allclose(out.numpy(), _numpy_row_sum(ids, weights, table), atol=1e-5)
    # ∂/∂table[t] = Σ over pairs with id t of weight · upstream[post]
    expected = np.zeros_like(table, "float64")
    for b, l in zip(*np.nonzero(ids >= 0)):
        expected[ids[b, l]] += weights[b, l] * upstream[b]
    np.testing.assert_allclose(tf.convert_to_tensor(grad).numpy(), expected, atol=1e-5)


def test_weighted_row_sum_compacted_and_every_pair_paths_agree():
    ids, weights, table = _row_sum_case(0.5, seed=3)
    compact = weighted_row_sum(ids, weights, table, slots_per_row=2)  # fits: 16 slots
    every = weighted_row_sum(ids, weights, table, slots_per_row=6)  # 6 >= width 6
    assert int(np.count_nonzero(weights)) <= 16
    np.testing.assert_allclose(compact.numpy(), every.numpy(), atol=1e-6)


@pytest.mark.parametrize("keep", [0.3, 1.0])
def test_weighted_row_sum_in_a_graph_traced_for_any_width(keep):
    # Evaluation traces its scoring once for every batch size and padding width, so the
    # width is unknown when the sum is built (without XLA).
    ids, weights, table = _row_sum_case(keep)
    row_sum = tf.function(lambda i, w: weighted_row_sum(i, w, table, slots_per_row=2),
                          input_signature=[tf.TensorSpec([None, None], tf.int32),
                                           tf.TensorSpec([None, None], tf.float32)])
    for width in (6, 9):  # the same posts padded wider
        wide_ids = np.pad(ids, ((0, 0), (0, width - 6)), constant_values=-1)
        wide_weights = np.pad(weights, ((0, 0), (0, width - 6)))
        np.testing.assert_allclose(row_sum(wide_ids, wide_weights).numpy(),
                                   _numpy_row_sum(ids, weights, table), atol=1e-5)
