import keras
import numpy as np
import pytest
import tensorflow as tf

from daeptr.losses import SummedBinaryCrossentropy, summed_bce_from_logits

NUM_TAGS = 12


def _dense_target(tag_ids, num_tags):
    y = np.zeros((tag_ids.shape[0], num_tags))
    for b, row in enumerate(tag_ids):
        y[b, row[row >= 0]] = 1.0
    return y


def _numpy_eq11(tag_ids, logits):
    """−Σ_t [y log σ(x) + (1 − y) log(1 − σ(x))], per post, in float64."""
    y = _dense_target(tag_ids, logits.shape[1])
    p = 1.0 / (1.0 + np.exp(-logits.astype("float64")))
    return -np.sum(y * np.log(p) + (1.0 - y) * np.log(1.0 - p), axis=1)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    tag_ids = np.full((5, 4), -1, "int32")
    for b, n in enumerate([1, 4, 2, 0, 3]):  # row 3: no tags at all
        tag_ids[b, :n] = rng.choice(NUM_TAGS, n, replace=False)
    logits = (3.0 * rng.normal(size=(5, NUM_TAGS))).astype("float32")
    return tag_ids, logits


def test_matches_numpy_cross_entropy(batch):
    tag_ids, logits = batch
    got = summed_bce_from_logits(tag_ids, logits).numpy()
    assert got.shape == (5,)
    np.testing.assert_allclose(got, _numpy_eq11(tag_ids, logits), rtol=1e-5, atol=1e-4)


def test_gradient_is_sigmoid_minus_target(batch):
    tag_ids, logits = batch
    x = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(summed_bce_from_logits(tag_ids, x))
    expected = 1.0 / (1.0 + np.exp(-logits.astype("float64"))) - _dense_target(tag_ids, NUM_TAGS)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), expected, atol=1e-5)


def test_stable_for_extreme_logits():
    tag_ids = np.array([[0, -1, -1]], "int32")
    logits = np.array([[100.0, -100.0, 100.0]], "float32")
    got = summed_bce_from_logits(tag_ids, logits).numpy()
    assert np.all(np.isfinite(got))
    # tag 0 present with logit +100 and tag 1 absent with logit -100 cost ~0;
    # tag 2 absent with logit +100 costs softplus(100) = 100.
    np.testing.assert_allclose(got, [100.0], rtol=1e-6)
    wrong = summed_bce_from_logits(np.array([[1, 0, 2]], "int32"), logits).numpy()
    assert np.all(np.isfinite(wrong))
    np.testing.assert_allclose(wrong, [100.0], rtol=1e-6)  # tag 1 present at -100


def test_default_reduction_is_sum_over_posts(batch):
    tag_ids, logits = batch
    per_post = summed_bce_from_logits(tag_ids, logits).numpy()
    loss = SummedBinaryCrossentropy()
    assert loss.reduction == "sum"
    np.testing.assert_allclose(float(loss(tag_ids, logits)), per_post.sum(), rtol=1e-5)


def test_other_reductions(batch):
    tag_ids, logits = batch
    per_post = summed_bce_from_logits(tag_ids, logits).numpy()
    mean = SummedBinaryCrossentropy(reduction="sum_over_batch_size")(tag_ids, logits)
    np.testing.assert_allclose(float(mean), per_post.mean(), rtol=1e-5)
    none = SummedBinaryCrossentropy(reduction="none")(tag_ids, logits)
    np.testing.assert_allclose(np.asarray(none), per_post, rtol=1e-5)


def test_large_tag_ids_survive_the_float_cast_of_y_true():
    num_tags = 5000
    tag_ids = np.array([[4999, 4097, -1]], "int32")
    logits = np.zeros((1, num_tags), "float32")
    logits[0, [4999, 4097]] = 50.0  # confident and right: only the rest cost
    got = float(SummedBinaryCrossentropy()(tag_ids, logits))
    np.testing.assert_allclose(got, (num_tags - 2) * np.log(2.0), rtol=1e-5)


def test_half_precision_dtype_rejected():
    with pytest.raises(ValueError, match="dtype"):
        SummedBinaryCrossentropy(dtype="float16")


def test_config_round_trip():
    loss = SummedBinaryCrossentropy(reduction="sum_over_batch_size", name="rec")
    config = loss.get_config()
    assert config == {"name": "rec", "reduction": "sum_over_batch_size", "dtype": "float32"}
    again = SummedBinaryCrossentropy.from_config(config)
    assert again.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(revived, SummedBinaryCrossentropy)
    assert revived.get_config() == config


def test_is_usable_as_compiled_loss_with_ragged_last_batch():
    # y_true [B, L] and y_pred [B, T] differ in shape: Keras must not object.
    keras.utils.set_random_seed(0)
    tag_ids = np.array([[0, 3, -1], [5, -1, -1], [1, 2, 4]] * 3, "int32")  # 9 = 4 + 4 + 1
    model = keras.Sequential([keras.Input((NUM_TAGS,)), keras.layers.Dense(NUM_TAGS)])
    model.compile("adam", SummedBinaryCrossentropy(), jit_compile=True)
    inputs = _dense_target(tag_ids, NUM_TAGS).astype("float32")
    history = model.fit(inputs, tag_ids, batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
