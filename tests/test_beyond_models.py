"""The models beyond the paper at the level of their equations, against NumPy: the multinomial
likelihood, stacked, contractive and variational DAE-PTR, and EASE with tag profiles."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from daeptr.data import splits
from daeptr.losses import summed_multinomial_from_logits
from daeptr.models import (EASE, ContractiveDAEPTR, DAEPTR, StackedDAEPTR, VariationalDAEPTR,
                           build, hyperparameters)
from daeptr.models.ease import solve
from daeptr.pipeline import post_dataset

TAGS = np.array([[0, 4, -1], [2, -1, -1], [-1, -1, -1]])
Y = np.zeros((3, 6))
Y[0, [0, 4]] = 1
Y[1, 2] = 1


def _batch():
    return {"user": tf.constant([0, 1, 2], tf.int32), "item": tf.constant([1, 0, 3], tf.int32),
            "tags": tf.constant(TAGS, tf.int32)}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _log_softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def _first_layer(model, activation=_sigmoid):
    P, Q = model.user_embedding.embeddings.numpy(), model.item_embedding.embeddings.numpy()
    return activation(Y @ model.W.numpy() + P[[0, 1, 2]] + Q[[1, 0, 3]] + model.b.numpy())


def _dense(layer, x, activation=lambda v: v):
    return activation(x @ layer.kernel.numpy() + layer.bias.numpy())


def test_multinomial_likelihood_matches_numpy():
    logits = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    expected = -(Y * _log_softmax(logits.astype(np.float64))).sum(axis=1)
    np.testing.assert_allclose(summed_multinomial_from_logits(TAGS, logits).numpy(), expected,
                               rtol=1e-5)
    model = DAEPTR(3, 4, 6, latent_dim=5, likelihood="multinomial", seed=0)
    logits = model(_batch()).numpy()
    np.testing.assert_allclose(model.compute_objective(_batch(), False).numpy(),
                               -(Y * _log_softmax(logits.astype(np.float64))).sum(), rtol=1e-5)
    entry = build("multinomial_dae_ptr", _posts(), num_users=2, num_items=2, num_tags=4,
                  latent_dim=3)
    assert entry.config["likelihood"] == "multinomial"
    assert "likelihood" not in hyperparameters("multinomial_dae_ptr")  # fixed, not searched
    with pytest.raises(ValueError, match="likelihood"):
        DAEPTR(3, 4, 6, likelihood="poisson")
    with pytest.raises(ValueError, match="sampled decoder"):
        DAEPTR(3, 4, 6, likelihood="multinomial", decoder="sampled")


@pytest.mark.parametrize("encoder", ["sparse", "dense"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "multinomial"])
def test_reconstructing_the_dropped_tags_matches_numpy(encoder, likelihood):
    """Eq. 11 over the tags Eq. 7 did not keep: post 0 keeps tag 0 (neither positive nor
    negative) and drops 4 (its positive); post 1 drops its tag 2; post 2 has none."""
    model = DAEPTR(3, 4, 6, latent_dim=5, corruption=0.5, encoder=encoder,
                   likelihood=likelihood, reconstruct="dropped", seed=0)
    kept_ids = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0]], np.float32)  # per padded slot
    kept = np.zeros((3, 6), np.float32)
    kept[0, 0] = 1
    draw = kept if encoder == "dense" else kept_ids
    model.mask_out = lambda tags, training=False, rows=None: tf.constant(draw)
    P, Q = model.user_embedding.embeddings.numpy(), model.item_embedding.embeddings.numpy()
    z = _sigmoid(kept @ model.W.numpy() + P[[0, 1, 2]] + Q[[1, 0, 3]] + model.b.numpy())
    logits = _dense(model.decoder, z).astype(np.float64)
    if likelihood == "bernoulli":
        terms = np.logaddexp(0, logits) - Y * logits
        expected = (terms * (1 - kept)).sum()
    else:
        masked = np.where(kept > 0, -np.inf, logits)
        expected = -_log_softmax(masked)[0, 4] - _log_softmax(masked)[1, 2]
    got = model.compute_objective(_batch(), training=True).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # Outside training nothing is dropped and it is Eq. 11 of the clean input.
    np.testing.assert_allclose(model.compute_objective(_batch(), training=False).numpy(),
                               DAEPTR.objective(model, _batch()["tags"], model(_batch())).numpy())


def test_at_c_1_reconstructing_the_dropped_tags_is_eq_11():
    batch, values = _batch(), []
    for reconstruct in ("all", "dropped"):
        keras.utils.set_random_seed(0)
        model = DAEPTR(3, 4, 6, latent_dim=5, corruption=1.0, reconstruct=reconstruct, seed=0)
        values.append(model.compute_objective(batch, training=True).numpy())
    np.testing.assert_allclose(values[0], values[1], rtol=1e-6)
    with pytest.raises(ValueError, match="reconstruct must be one of"):
        DAEPTR(3, 4, 6, reconstruct="kept")
    with pytest.raises(ValueError, match="sampled decoder reconstructs every tag"):
        DAEPTR(3, 4, 6, decoder="sampled", reconstruct="dropped")
    with pytest.raises(ValueError, match="VariationalDAEPTR's reconstruct must be one of"):
        VariationalDAEPTR(3, 4, 6, reconstruct="dropped")


def test_stacked_dae_ptr_is_its_equations_and_depth_one_is_dae_ptr():
    model = StackedDAEPTR(3, 4, 6, latent_dim=5, depth=3, inner_dim=2, l2=0.1, seed=0)
    z = _first_layer(model)
    for layer in model.encoder_layers:  # 5 → 2 → 2
        z = _dense(layer, z, _sigmoid)
    for layer in model.decoder_layers:  # 2 → 2 → 5
        z = _dense(layer, z, _sigmoid)
    assert [l.kernel.shape for l in model.encoder_layers + model.decoder_layers] == [
        (5, 2), (2, 2), (2, 2), (2, 5)]
    np.testing.assert_allclose(model(_batch()).numpy(), _dense(model.decoder, z),
                               rtol=1e-5, atol=1e-6)
    weights = [model.W, model.b, model.decoder.kernel, model.decoder.bias,
               model.user_embedding.embeddings, model.item_embedding.embeddings]
    weights += [w for l in model.encoder_layers + model.decoder_layers for w in l.weights]
    _, regularization = model.objective_terms(_batch(), training=False)
    np.testing.assert_allclose(regularization.numpy(),
                               0.05 * sum(np.sum(w.numpy() ** 2) for w in weights), rtol=1e-5)

    one = StackedDAEPTR(3, 4, 6, latent_dim=5, depth=1, seed=0)
    plain = DAEPTR(3, 4, 6, latent_dim=5, seed=0)
    plain.set_weights(one.get_weights())
    np.testing.assert_allclose(one(_batch()).numpy(), plain(_batch()).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="depth"):
        StackedDAEPTR(3, 4, 6, depth=0)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_contractive_penalty_is_the_frobenius_norm_of_the_encoders_jacobian(activation):
    model = ContractiveDAEPTR(3, 4, 6, latent_dim=5, contraction=0.7, corruption=0.0,
                              encoder="dense", hidden_activation=activation, seed=0)
    batch = _batch()
    g = keras.activations.get(activation)
    P = model.user_embedding(batch["user"])
    Q = model.item_embedding(batch["item"])
    y = tf.constant(Y, tf.float32)
    with tf.GradientTape() as tape:  # J by automatic differentiation, post by post
        tape.watch(y)
        z = g(tf.matmul(y, model.W) + P + Q + model.b)
    jacobian = tape.batch_jacobian(z, y).numpy()  # [B, K, |T|]
    frobenius = (jacobian ** 2).sum(axis=(1, 2))
    logits = model(batch).numpy()
    bce = -np.sum(Y * np.log(_sigmoid(logits)) + (1 - Y) * np.log(1 - _sigmoid(logits)))
    np.testing.assert_allclose(model.compute_objective(batch, False).numpy(),
                               bce + 0.7 * frobenius.sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="hidden_activation"):
        ContractiveDAEPTR(3, 4, 6, hidden_activation="relu")


def test_variational_dae_ptr_ranks_from_the_mean_and_its_objective_is_the_annealed_elbo():
    model = VariationalDAEPTR(3, 4, 6, latent_dim=5, code_dim=2, beta=0.4, anneal_steps=10,
                              seed=0)
    h = _first_layer(model, np.tanh)
    mu, log_var = _dense(model.mean_layer, h), _dense(model.log_var_layer, h)
    logits = _dense(model.decoder, _dense(model.expand, mu, np.tanh))
    np.testing.assert_allclose(model(_batch()).numpy(), logits, rtol=1e-5, atol=1e-6)
    nll = -(Y * _log_softmax(logits)).sum()
    kl = 0.5 * (np.exp(log_var) + mu ** 2 - 1 - log_var).sum()
    np.testing.assert_allclose(model.compute_objective(_batch(), False).numpy(),
                               nll + 0.4 * kl, rtol=1e-5)
    # In training z is drawn around μ, and β rises with the optimizer's steps.
    assert not np.allclose(model(_batch(), training=True).numpy(), logits, atol=1e-4)
    model.compile(keras.optimizers.Adam(0.01))
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(5)
    np.testing.assert_allclose(model.kl_weight(training=True).numpy(), 0.2, rtol=1e-6)
    model.optimizer.iterations.assign(50)
    np.testing.assert_allclose(model.kl_weight(training=True).numpy(), 0.4, rtol=1e-6)


def _posts():
    # Users 0, 0, 1, 1 and items 0, 1, 0, 1 over 4 tags; post 3 has no input tags.
    return splits.Posts(user=np.array([0, 0, 1, 1], np.int32), item=np.array([0, 1, 0, 1], np.int32),
                        indptr=np.array([0, 2, 3, 5, 5]), tags=np.array([0, 1, 1, 2, 3], np.int32))


def test_ease_inputs_leave_the_posts_own_tags_out_of_its_profiles():
    model = EASE.from_posts(_posts(), num_users=2, num_items=2, num_tags=4, l2=1.0,
                            user_weight=2.0, item_weight=0.5)
    np.testing.assert_array_equal(model.counts["user"].numpy(), [[1, 2, 0, 0], [0, 0, 1, 1]])
    x = model.features(next(iter(post_dataset(_posts(), 4)))).numpy()
    y = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]], np.float32)
    np.testing.assert_array_equal(x[:, :4], y)
    # User 0's post 0 sees post 1's tag 1, post 1 sees post 0's tags 0, 1; user 1's post 2
    # sees the empty post 3 (nothing), post 3 sees post 2's tags 2, 3.
    np.testing.assert_allclose(x[:, 4:8], 2.0 * np.array(
        [[0, 1, 0, 0], [.5, .5, 0, 0], [0, 0, 0, 0], [0, 0, .5, .5]]))
    # Item 0 (posts 0, 2): post 0 sees post 2's tags 2, 3; post 2 sees post 0's tags 0, 1.
    np.testing.assert_allclose(x[:, 8:12], 0.5 * np.array(
        [[0, 0, .5, .5], [0, 0, 0, 0], [.5, .5, 0, 0], [0, 1, 0, 0]]))
    np.testing.assert_array_equal(x[:, 12], 1.0)


def test_ease_solution_is_the_column_wise_ridge_regression_without_the_tag_itself():
    rng = np.random.default_rng(0)
    x = rng.random((30, 7))
    x[:, :3] = rng.random((30, 3)) < 0.4  # the first 3 columns are the tags (the targets)
    b = solve(x.T @ x, 0.5, 3)
    for t in range(3):  # min ‖x_t − X_{−t} β‖² + λ‖β‖², then β_t = 0
        rest = np.delete(x, t, axis=1)
        beta = np.linalg.solve(rest.T @ rest + 0.5 * np.eye(6), rest.T @ x[:, t])
        np.testing.assert_allclose(b[:, t], np.insert(beta, t, 0.0), rtol=1e-4, atol=1e-6)


def test_ease_scores_are_x_times_b_for_known_and_unknown_users():
    model = build("ease", _posts(), num_users=2, num_items=2, num_tags=4, l2=1.0)
    x = model.features(next(iter(post_dataset(_posts(), 4)))).numpy()
    batch = {"user": tf.constant([0, 0, 1, 1]), "item": tf.constant([0, 1, 0, 1]),
             "tags": tf.constant([[0, 1], [1, -1], [2, 3], [-1, -1]])}
    np.testing.assert_allclose(model(batch).numpy(), x @ model.B.numpy(), rtol=1e-5, atol=1e-6)
    unknown = dict(batch, user=tf.constant([-1, -1, -1, -1]))
    x[:, 4:8] = 0.0  # an unknown user has no profile
    np.testing.assert_allclose(model(unknown).numpy(), x @ model.B.numpy(), rtol=1e-5, atol=1e-6)
    assert model.deterministic and not model.trainable_weights
    assert set(hyperparameters("ease")) == {"l2", "user_weight", "item_weight"}
    with pytest.raises(ValueError, match="l2"):
        EASE(2, 2, 4, l2=0.0)


@pytest.mark.parametrize("name", ["multinomial_dae_ptr", "stacked_dae_ptr", "contractive_dae_ptr",
                                  "variational_dae_ptr", "ease"])
def test_every_variant_saves_and_reloads_with_the_same_scores(name, tmp_path):
    model = build(name, _posts(), num_users=2, num_items=2, num_tags=4,
                  **({} if name == "ease" else {"latent_dim": 3}))
    batch = {"user": tf.constant([0, 1]), "item": tf.constant([1, 0]),
             "tags": tf.constant([[0, -1], [-1, -1]])}
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(loaded(batch).numpy(), model(batch).numpy(), rtol=1e-6)
