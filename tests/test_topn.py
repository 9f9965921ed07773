"""Top-N task of the CDDAE paper: metrics by hand, ML-100K folds, loss variants, models."""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from daeptr import models
from daeptr.data.datasets import ML100K_GENRES, MovieLens100K
from daeptr.data import ml100k
from daeptr.losses import reconstruction_loss
from daeptr.models import CDAE, CDDAE
from daeptr.topn import hits_at, topn_metrics


def test_hits_exclude_training_items_and_accumulate_over_n():
    scores = tf.constant([[0.9, 0.8, 0.7, 0.6, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5]])
    exclude = tf.constant([[0, -1], [4, 3]])  # item 0 (user 0) and items 3, 4 (user 1) known
    targets = tf.constant([[2, 4, -1], [0, -1, -1]])
    hits = hits_at(scores, exclude, targets, n_max=4).numpy()
    # user 0 ranks 1, 2, 3, 4 → hits at 2 and 4; user 1 ranks 2, 1, 0 → hit at 3
    np.testing.assert_array_equal(hits, [[0, 1, 1, 2], [0, 0, 1, 1]])


def test_topn_metrics_follow_equations_11_to_14():
    hits = np.array([[0, 1, 1, 2], [0, 0, 1, 1], [0, 0, 0, 0], [5, 5, 5, 5]])
    sizes = np.array([2, 1, 4, 0])  # the last user has no test items: not evaluated
    m = topn_metrics(hits, sizes, ns=(1, 2, 4))
    assert m["p@2"] == pytest.approx(np.mean([1 / 2, 0, 0]))
    assert m["r@2"] == pytest.approx(np.mean([1 / 2, 0, 0]))
    assert m["pu@4"] == pytest.approx(2 / 3)
    assert m["ru@4"] == pytest.approx((2 + 1 + 0) / (2 + 1 + 4))
    assert m["p@1"] == m["pu@1"] == 0.0
    assert m["p@4"] == pytest.approx(np.mean([2 / 4, 1 / 4, 0]))


def _movielens():
    users = pd.DataFrame({"user": [1, 2, 3], "age": [17, 30, 60], "gender": ["M", "F", "M"],
                          "occupation": ["writer", "artist", "writer"], "zip": ["1", "2", "3"]})
    items = pd.DataFrame({"item": [1, 2, 3, 4], "title": list("abcd"),
                          **{g: [int(i % 2 == k % 2) for i in range(4)] for k, g in enumerate(ML100K_GENRES)}})
    ratings = pd.DataFrame({"user": [1, 1, 1, 1, 2, 2, 3], "item": [1, 2, 3, 4, 1, 3, 2],
                            "rating": [5, 4, 3, 5, 4, 1, 5], "timestamp": 0})
    base, test = ratings.iloc[:6], ratings.iloc[6:]
    return MovieLens100K(ratings, users, items, {1: (base, test)})


def test_fold_split_binarizes_holds_out_validation_and_encodes_profiles():
    split = ml100k.fold_split(_movielens(), 1, user_features=("id", "gender", "age", "occupation"),
                              valid_fraction=0.5, seed=0)
    rows = lambda csr: [sorted(csr[1][csr[0][u]:csr[0][u + 1]].tolist()) for u in range(3)]
    fit, valid, test = rows(split.fit), rows(split.valid), rows(split.test)
    # user 1 (index 0) has positives {1, 2, 4} → items 0, 1, 3; rating 3 is a negative
    assert sorted(fit[0] + valid[0]) == [0, 1, 3] and len(valid[0]) == 2  # ceil(0.5 · 3)
    assert fit[1] == [0] and valid[1] == []  # one positive: below min_positives, kept
    assert test == [[], [], [1]] and fit[2] == []
    profile = split.user_profile
    assert profile.shape == (3, 3 + 2 + 7 + 2)
    np.testing.assert_array_equal(profile[:, :3], np.eye(3))
    np.testing.assert_array_equal(profile[:, 3:5], [[1, 0], [0, 1], [1, 0]])  # M, F, M
    np.testing.assert_array_equal(profile[:, 5:12].argmax(1), [0, 2, 6])  # <18, 25–34, 56+
    assert rows(split.inputs("test")) == [[0, 1, 3], [0], []]
    again = ml100k.fold_split(_movielens(), 1, user_features=("id",), valid_fraction=0.5, seed=0)
    assert rows(again.valid) == valid
    with pytest.raises(ValueError, match="unknown user features"):
        ml100k.fold_split(_movielens(), 1, user_features=("zip",))


@pytest.mark.parametrize("kind", ["sigmoid_bce", "sigmoid_mae", "softmax_cce"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_reconstruction_losses_match_numpy(kind, reduction):
    rng = np.random.default_rng(0)
    t = (rng.random((3, 5)) < 0.4).astype(np.float32)
    x = rng.normal(size=(3, 5, 2) if kind == "softmax_cce" else (3, 5)).astype(np.float32)
    s = 1 / (1 + np.exp(-x))
    if kind == "sigmoid_bce":
        entry = -(t * np.log(s) + (1 - t) * np.log(1 - s))
    elif kind == "sigmoid_mae":
        entry = np.abs(t - s)
    else:
        soft = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
        entry = -np.log(np.where(t == 1, soft[..., 1], soft[..., 0]))
    expected = entry.sum(-1) if reduction == "sum" else entry.mean(-1)
    got = reconstruction_loss(tf.constant(t), tf.constant(x), kind, reduction)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)


BATCH = {"user": tf.constant([0, 2]), "item": tf.constant([0, 0]),
         "tags": tf.constant([[1, 3, -1], [-1, -1, -1]]),
         "profile": tf.constant([[1, 0, 0, 1, 0], [0, 0, 1, 0, 1]], tf.float32),
         "item_profile": tf.constant([[0.5, 0.5], [0, 0]], tf.float32)}


def test_cdae_is_equations_1_to_4():
    model = CDAE(3, 6, latent_dim=4, l2=0.2, output="sigmoid_bce", seed=0)
    W, b = model.encoder.kernel.numpy(), model.encoder.bias.numpy()
    W2, b2 = model.decoder.kernel.numpy(), model.decoder.bias.numpy()
    V = model.user_vectors.embeddings.numpy()
    y = np.zeros((2, 6)); y[0, [1, 3]] = 1
    z = np.maximum(y @ W + V[[0, 2]] + b, 0)  # Eq. 1 with h = relu
    np.testing.assert_allclose(model(BATCH).numpy(), z @ W2 + b2, rtol=1e-5, atol=1e-6)  # Eq. 2
    loss, reg, _ = model._objective(BATCH, training=False)
    s = 1 / (1 + np.exp(-(z @ W2 + b2)))
    bce = -(y * np.log(s) + (1 - y) * np.log(1 - s)).sum(1).mean()
    np.testing.assert_allclose(loss.numpy(), bce, rtol=1e-5)
    np.testing.assert_allclose(reg.numpy(), 0.1 * sum((a ** 2).sum() for a in (W, W2, V, b, b2)), rtol=1e-5)
    dae = models.build("dae", None, num_users=3, num_items=6, latent_dim=4, seed=0)
    assert dae.user_vectors is None and len(dae.trainable_weights) == 4


def test_cdae_negative_sampling_objective_runs_and_differs_from_the_full_one():
    full = CDAE(3, 6, latent_dim=4, output="sigmoid_bce", seed=0)
    sampled = CDAE(3, 6, latent_dim=4, output="sigmoid_bce", negatives=2, seed=0)
    sampled.set_weights(full.get_weights())
    a, b = full.compute_objective(BATCH, False), sampled.compute_objective(BATCH, False)
    assert np.isfinite(b.numpy()) and b.numpy() < a.numpy()  # fewer terms summed


def test_cddae_embeds_profiles_into_the_bottleneck_and_reconstructs_them():
    model = CDDAE(3, 6, profile_dim=5, item_profile_dim=2, latent_dim=4, encoder_units=(7,),
                  decoder_units=(8,), use_item_profile=True, output="softmax_cce", seed=0)
    assert model.W_u.kernel.shape == (5, 4) and model.W_i.kernel.shape == (2, 4)
    assert model.W.kernel.shape == (7, 4) and model.output_layer.kernel.shape == (8, (6 + 5 + 2) * 2)
    targets = model.targets(BATCH).numpy()
    np.testing.assert_array_equal(targets[:, :6], [[0, 1, 0, 1, 0, 0], [0] * 6])
    np.testing.assert_array_equal(targets[:, 6:11], BATCH["profile"].numpy())
    np.testing.assert_array_equal(targets[:, 11:], BATCH["item_profile"].numpy())
    assert model.logits(BATCH).shape == (2, 13, 2) and model(BATCH).shape == (2, 6)
    # the profile moves the bottleneck: same ratings, different profile
    other = dict(BATCH, profile=tf.zeros_like(BATCH["profile"]))
    assert not np.allclose(model.bottleneck(BATCH).numpy(), model.bottleneck(other).numpy())
    plain = CDDAE(3, 6, latent_dim=4, seed=0)
    assert plain.W_u is None and plain.targets(BATCH).shape == (2, 6)


@pytest.mark.parametrize("name", ["dae", "cdae", "cddae"])
def test_topn_models_reload_and_round_trip_their_config(name, tmp_path):
    model = models.build(name, None, num_users=3, num_items=6, profile_dim=5, item_profile_dim=2,
                         latent_dim=4, seed=0, **({"decoder_units": (3,)} if name == "cddae" else {}))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(BATCH).numpy(), model(BATCH).numpy(), rtol=1e-6)
    assert type(model).from_config(model.get_config()).get_config() == model.get_config()
