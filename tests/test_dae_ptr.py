"""DAE-PTR at the level of its equations: Eq. 9–12 against NumPy, encoders, training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from daeptr.data import pcore, splits, synthetic
from daeptr.evaluate import evaluate
from daeptr.models import DAEPTR, get
from daeptr.pipeline import post_dataset


def _batch():
    return {
        "user": tf.constant([0, 1, 2], tf.int32),
        "item": tf.constant([1, 0, 3], tf.int32),
        "tags": tf.constant([[0, 4, -1], [2, -1, -1], [-1, -1, -1]], tf.int32),
    }


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# The batch is 3 tags wide with 3 present: 1 slot per post compacts (3 slots, all used),
# the default 4 slots >= the width and 0 sum over every position.
@pytest.mark.parametrize("encoder,slots", [("sparse", 1), ("sparse", 4), ("sparse", 0),
                                           ("dense", 4)])
def test_call_and_objective_match_numpy_equations(encoder, slots):
    model = DAEPTR(3, 4, 6, latent_dim=5, corruption=0.5, l2=0.3, encoder=encoder,
                   sparse_slots=slots, seed=1)
    batch = _batch()
    logits = model(batch, training=False).numpy()

    P = model.user_embedding.embeddings.numpy()
    Q = model.item_embedding.embeddings.numpy()
    W, b = model.W.numpy(), model.b.numpy()
    W2, b2 = model.decoder.kernel.numpy(), model.decoder.bias.numpy()
    y = np.zeros((3, 6))
    y[0, [0, 4]] = 1
    y[1, 2] = 1
    z = _sigmoid(y @ W + P[[0, 1, 2]] + Q[[1, 0, 3]] + b)  # Eq. 9 (W stored transposed)
    expected_logits = z @ W2 + b2  # Eq. 10 before f
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-5, atol=1e-6)

    y_hat = _sigmoid(expected_logits)
    eq11 = -np.sum(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
    eq12 = 0.3 / 2 * sum(np.sum(v ** 2) for v in (W, W2, b, b2, P, Q))
    loss, regularization, total = model._objective(batch, training=False)
    np.testing.assert_allclose(loss.numpy(), eq11, rtol=1e-5)
    np.testing.assert_allclose(regularization.numpy(), eq12, rtol=1e-5)
    np.testing.assert_allclose(total.numpy(), eq11 + eq12, rtol=1e-5)


def test_sparse_and_dense_encoders_compute_the_same_function():
    sparse = DAEPTR(3, 4, 6, latent_dim=5, encoder="sparse", seed=0)
    dense = DAEPTR(3, 4, 6, latent_dim=5, encoder="dense", seed=0)
    batch = _batch()
    sparse(batch), dense(batch)
    dense.set_weights(sparse.get_weights())
    np.testing.assert_allclose(sparse(batch).numpy(), dense(batch).numpy(), rtol=1e-5, atol=1e-6)


def test_mean_reduction_divides_the_data_term_by_the_batch_size():
    kw = dict(num_users=3, num_items=4, num_tags=6, latent_dim=5, seed=0)
    summed, mean = DAEPTR(**kw), DAEPTR(**kw, loss_reduction="mean")
    batch = _batch()
    summed(batch), mean(batch)
    mean.set_weights(summed.get_weights())
    np.testing.assert_allclose(
        summed.compute_objective(batch, False).numpy() / 3,
        mean.compute_objective(batch, False).numpy(), rtol=1e-6)


def test_get_config_round_trip_and_registry():
    model = DAEPTR(3, 4, 6, latent_dim=5, corruption=0.3, l2=0.02, encoder="dense",
                   hidden_activation="relu", seed=7)
    clone = DAEPTR.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.mask_out.rate == 0.3 and clone.config["encoder"] == "dense"
    assert get("dae_ptr") == (DAEPTR, {})
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        get("nope")


def test_saved_model_reloads_with_the_same_weights_and_scores(tmp_path):
    model = DAEPTR(3, 4, 6, latent_dim=5, corruption=0.3, seed=0)
    model.compile(keras.optimizers.Adam(0.1))
    batch = _batch()
    model.fit(tf.data.Dataset.from_tensors(batch), epochs=2, verbose=0, shuffle=False)
    model.save(tmp_path / "model.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(loaded(batch).numpy(), model(batch).numpy(), rtol=1e-6)
    fresh = DAEPTR(3, 4, 6, latent_dim=5, corruption=0.3, seed=0)
    fresh.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(fresh(batch).numpy(), model(batch).numpy(), rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"corruption": 1.5}, "rate"), ({"corruption": -0.1}, "rate"),
    ({"encoder": "magic"}, "encoder"), ({"loss_reduction": "max"}, "loss_reduction"),
    ({"latent_dim": 0}, "latent_dim"), ({"output_bias": "ones"}, "output_bias"),
])
def test_bad_hyper_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DAEPTR(3, 4, 6, **kwargs)


def test_log_odds_output_bias_starts_at_each_tags_share_of_training_posts():
    # 4 training posts over 3 tags, {0, 1}, {0}, {0}, {1}: tag 0 in 3, tag 1 in 2, tag 2 in none.
    posts = splits.Posts(user=np.array([0, 1, 2, 0], np.int32), item=np.zeros(4, np.int32),
                         indptr=np.array([0, 2, 3, 4, 5]), tags=np.array([0, 1, 0, 0, 1], np.int32))
    model = DAEPTR.from_posts(posts, num_users=3, num_items=1, num_tags=3, latent_dim=2,
                              output_bias="log_odds")
    share = (np.array([3, 2, 0]) + 0.5) / 5
    np.testing.assert_allclose(model.decoder.bias.numpy(), np.log(share / (1 - share)), rtol=1e-6)
    zeros = DAEPTR.from_posts(posts, num_users=3, num_items=1, num_tags=3, latent_dim=2)
    np.testing.assert_array_equal(zeros.decoder.bias.numpy(), 0.0)


def test_corruption_one_is_legal_and_ignores_the_input():
    model = DAEPTR(3, 4, 6, latent_dim=5, corruption=1.0, seed=0)
    batch = _batch()
    empty = dict(batch, tags=tf.fill(tf.shape(batch["tags"]), -1))
    np.testing.assert_allclose(model(batch, training=True).numpy(),
                               model(empty, training=False).numpy(), rtol=1e-6)


def _planted_split():
    core, _ = pcore.p_core(synthetic.planted_folksonomy(seed=3), 2)
    return splits.leave_last_tag_out(core, seed=0)


def test_training_lowers_the_loss_and_beats_chance_on_planted_data():
    split = _planted_split()
    keras.utils.set_random_seed(0)
    model = DAEPTR(split.num_users, split.num_items, split.num_tags, latent_dim=16,
                   corruption=0.5, l2=0.001, seed=0)
    model.compile(keras.optimizers.Adam(0.02))
    train = post_dataset(split.train_posts("test"), 64, shuffle=True, seed=0)
    history = model.fit(train, epochs=30, verbose=0, shuffle=False).history
    assert set(history) >= {"loss", "regularization_loss", "total_loss"}
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    np.testing.assert_allclose(np.array(history["total_loss"]),
                               np.array(history["loss"]) + np.array(history["regularization_loss"]),
                               rtol=1e-4)
    metrics, ranks = evaluate(model, split.eval_posts("test"))
    # 10 planted tags per topic out of ~40: chance Hit@5 is about 5/40.
    assert metrics["hit@5"] > 2.5 * 5 / split.num_tags
    assert ranks.shape == (len(split.eval_posts("test")),)


def test_training_is_deterministic_under_a_seed():
    split = _planted_split()

    def run():
        keras.utils.set_random_seed(0)
        model = DAEPTR(split.num_users, split.num_items, split.num_tags, latent_dim=8,
                       corruption=0.5, seed=0)
        model.compile(keras.optimizers.Adam(0.01))
        model.fit(post_dataset(split.train_posts("test"), 32, shuffle=True, seed=0),
                  epochs=3, verbose=0, shuffle=False)
        return model(next(iter(post_dataset(split.eval_posts("test"), 512))))

    np.testing.assert_allclose(run().numpy(), run().numpy(), rtol=1e-6, atol=1e-6)
