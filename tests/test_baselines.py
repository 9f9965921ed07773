"""Baselines at the level of their equations, the floors on hand-computed cases, and
training on planted data."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from daeptr import models
from daeptr.data import pcore, splits, synthetic
from daeptr.data.splits import Posts
from daeptr.evaluate import evaluate
from daeptr.models import ABNT, NLTF, PITF, Popularity
from daeptr.models.abnt import frequent_tags
from daeptr.pipeline import post_dataset

BATCH = {
    "user": tf.constant([0, 1, 2], tf.int32),
    "item": tf.constant([1, 0, 3], tf.int32),
    "tags": tf.constant([[0, 4, -1], [2, -1, -1], [-1, -1, -1]], tf.int32),
}
SIZES = dict(num_users=3, num_items=4, num_tags=6)


def test_pitf_scores_are_the_two_pairwise_dot_products():
    model = PITF(**SIZES, latent_dim=5, init_stddev=0.5, seed=0)
    U, I = model.user_factors.numpy(), model.item_factors.numpy()
    TU, TI = model.tag_user_factors.numpy(), model.tag_item_factors.numpy()
    expected = U[[0, 1, 2]] @ TU.T + I[[1, 0, 3]] @ TI.T
    np.testing.assert_allclose(model(BATCH).numpy(), expected, rtol=1e-5, atol=1e-6)
    ids = tf.constant([[5, 1], [0, 0], [3, 2]])
    np.testing.assert_allclose(model.tag_scores(BATCH, ids).numpy(),
                               np.take_along_axis(expected, ids.numpy(), 1), rtol=1e-5, atol=1e-6)


def test_nltf_scores_are_sums_of_per_dimension_gaussian_kernels():
    model = NLTF(**SIZES, latent_dim=4, gamma=0.7, init_stddev=0.5, seed=0)
    U, I = model.user_factors.numpy(), model.item_factors.numpy()
    TU, TI = model.tag_user_factors.numpy(), model.tag_item_factors.numpy()
    kernel = lambda a, b: np.exp(-0.7 * (a[:, None, :] - b[None]) ** 2).sum(-1)
    expected = kernel(U[[0, 1, 2]], TU) + kernel(I[[1, 0, 3]], TI)
    np.testing.assert_allclose(model(BATCH).numpy(), expected, rtol=1e-5)
    ids = tf.constant([[5, 1], [0, 0], [3, 2]])
    np.testing.assert_allclose(model.tag_scores(BATCH, ids).numpy(),
                               np.take_along_axis(expected, ids.numpy(), 1), rtol=1e-5)


def test_abnt_scores_equal_the_concatenation_mlp_with_attention():
    posts = Posts(np.array([0, 0, 1]), np.array([0, 1, 2]), np.array([0, 2, 3, 4]),
                  np.array([3, 1, 3, 5]))
    model = ABNT.from_posts(posts, **SIZES, latent_dim=4, hidden_dim=5, history_length=2,
                            init_stddev=0.5, seed=0)
    np.testing.assert_array_equal(model.user_history.numpy(), [[3, 1], [5, -1], [-1, -1]])
    Eu, Ei, Et = (w.numpy() for w in (model.user_embedding, model.item_embedding, model.tag_embedding))
    Wq = model.query.kernel.numpy()
    W1 = np.concatenate([model.post_layer.kernel.numpy(), model.tag_layer.kernel.numpy()])
    b1 = model.post_layer.bias.numpy()
    W2, b2 = model.hidden.kernel.numpy(), model.hidden.bias.numpy()
    w3, b3 = model.out.kernel.numpy(), model.out.bias.numpy()
    relu = lambda x: np.maximum(x, 0)
    expected = np.zeros((3, 6))
    for b, (u, i) in enumerate(zip([0, 1, 2], [1, 0, 3])):
        history = [t for t in model.user_history.numpy()[u] if t >= 0]
        if history:
            logits = Et[history] @ (np.concatenate([Eu[u], Ei[i]]) @ Wq) / 2.0
            weights = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
            pooled = weights @ Et[history]
        else:
            pooled = np.zeros(4)  # a user without history attends to nothing
        for t in range(6):
            x = np.concatenate([Eu[u], Ei[i], pooled, Et[t]])
            expected[b, t] = (relu(relu(x @ W1 + b1) @ W2 + b2) @ w3 + b3)[0]
    np.testing.assert_allclose(model(BATCH).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_bpr_objective_and_per_example_penalty_match_numpy():
    model = PITF(**SIZES, latent_dim=3, l2=0.2, num_negatives=2, init_stddev=0.5, seed=0)
    negatives = np.array([[1, 5], [0, 0], [3, 4]], np.int32)
    model.negatives = lambda batch: tf.constant(negatives)
    loss, penalty = model.objective_terms(BATCH, training=True)
    scores = model(BATCH).numpy()
    pairs = [scores[b, p] - scores[b, n] for b, row in enumerate(BATCH["tags"].numpy())
             for p in row if p >= 0 for n in negatives[b]]
    np.testing.assert_allclose(loss.numpy(), np.mean(np.log1p(np.exp(-np.array(pairs)))), rtol=1e-5)
    U, I = model.user_factors.numpy()[[0, 1, 2]], model.item_factors.numpy()[[1, 0, 3]]
    tag_rows = np.concatenate([model.tag_user_factors.numpy(), model.tag_item_factors.numpy()], 1)
    drawn = [t for row in BATCH["tags"].numpy() for t in row if t >= 0] + list(negatives.ravel())
    expected = 0.1 * ((U ** 2).sum(1).mean() + (I ** 2).sum(1).mean()
                      + np.mean([(tag_rows[t] ** 2).sum() for t in drawn]))
    np.testing.assert_allclose(penalty.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("cls", [PITF, NLTF, ABNT])
def test_the_pairwise_step_with_an_xla_update_trains_what_the_plain_step_trains(cls):
    """Scoring the batch's real positives in TensorFlow and updating in XLA (what training
    compiles with XLA asked for) against the same step without XLA: the same negatives are
    drawn, the same losses logged, the same weights reached, to rounding."""
    histories, weights = {}, {}
    for way in ("plain", "xla_update"):
        keras.utils.set_random_seed(0)
        model = cls(**SIZES, latent_dim=4, l2=0.05, num_negatives=3, init_stddev=0.3, seed=1)
        if way == "xla_update":
            model.compile_around_matmuls(keras.optimizers.Adam(0.05))
        else:
            model.compile(keras.optimizers.Adam(0.05), jit_compile=False)
        histories[way] = model.fit(tf.data.Dataset.from_tensors(BATCH).repeat(3), epochs=2,
                                   verbose=0, shuffle=False).history
        weights[way] = model.get_weights()
    for key in ("loss", "regularization_loss", "total_loss"):
        np.testing.assert_allclose(histories["xla_update"][key], histories["plain"][key], rtol=1e-5)
    assert histories["plain"]["loss"][1] < histories["plain"]["loss"][0]  # it trained
    for a, b in zip(weights["xla_update"], weights["plain"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls", [NLTF, ABNT])
def test_scores_compiled_by_xla_rank_as_the_plain_scores_do(cls, monkeypatch):
    from daeptr.evaluate import rank_targets

    posts = synthetic.scale_posts(300, 40, seed=3)  # 15 users, 30 items
    first = np.zeros(len(posts.tags), bool)
    first[posts.indptr[:-1]] = True  # each post's first tag is its target, the rest its input
    eval_posts = splits.Posts(user=posts.user, item=posts.item,
                              indptr=posts.indptr - np.arange(len(posts) + 1),
                              tags=posts.tags[~first], target=posts.tags[first])
    model = cls(int(posts.user.max()) + 1, int(posts.item.max()) + 1, 40, latent_dim=8,
                init_stddev=0.5, seed=0)
    compiled = rank_targets(model, eval_posts, batch_size=64)
    monkeypatch.setattr(cls, "xla_scores", False)
    model._daeptr_rank_fn = None
    np.testing.assert_array_equal(compiled, rank_targets(model, eval_posts, batch_size=64))


def test_adam_sees_a_gathered_rows_summed_gradient():
    """Tag 2 is a positive of two posts: its rows' second moment after one step is
    (1 − β₂)·(Σ g)², Adam's, not Keras 3's Σ g² over an IndexedSlices' rows."""
    model = PITF(**SIZES, latent_dim=3, l2=0.1, num_negatives=2, init_stddev=0.5, seed=0)
    model.negatives = lambda batch: tf.constant([[1, 5], [0, 3], [1, 4]])
    model.compile(keras.optimizers.Adam(0.1), jit_compile=False)
    batch = {**BATCH, "tags": tf.constant([[0, 2, -1], [2, -1, -1], [-1, -1, -1]])}
    with tf.GradientTape() as tape:
        total = tf.add_n(model.objective_terms(batch, training=True))
    gradient = tf.convert_to_tensor(tape.gradient(total, model.tag_user_factors)).numpy()
    model.train_step(batch)
    index = [v.path for v in model.trainable_variables].index(model.tag_user_factors.path)
    velocity = model.optimizer._velocities[index]
    np.testing.assert_allclose(velocity.numpy(), (1 - 0.999) * gradient ** 2, rtol=1e-5, atol=1e-12)
    assert np.abs(gradient[2]).sum() > 0


# ---- floors --------------------------------------------------------------------------

FLOOR_POSTS = Posts(  # (user, item): tags
    user=np.array([0, 0, 1, 1]), item=np.array([0, 1, 0, 2]),
    indptr=np.array([0, 2, 3, 6, 7]), tags=np.array([0, 1, 1, 1, 2, 3, 3]))
FLOOR_BATCH = {"user": tf.constant([0, 1]), "item": tf.constant([0, 3]),
               "tags": tf.constant([[1, -1], [-1, -1]])}
FLOOR_SIZES = dict(num_users=2, num_items=4, num_tags=5)


def _floor(kind, **kw):
    return Popularity.from_posts(FLOOR_POSTS, **FLOOR_SIZES, kind=kind, **kw)


def test_popularity_floors_on_a_hand_computed_case():
    glob = np.array([1, 3, 1, 2, 0]) / 7
    np.testing.assert_allclose(_floor("global")(FLOOR_BATCH).numpy(), [glob, glob], rtol=1e-6)
    user = _floor("user")(FLOOR_BATCH).numpy() - 1e-6 * glob
    np.testing.assert_allclose(user, [[1 / 3, 2 / 3, 0, 0, 0], [0, 1 / 4, 1 / 4, 2 / 4, 0]], atol=1e-7)
    item = _floor("item")(FLOOR_BATCH).numpy() - 1e-6 * glob
    # item 0 has tags {0, 1} (post 0) and {1, 2, 3} (post 2); item 3 has no posts: zeros
    np.testing.assert_allclose(item, [[1 / 5, 2 / 5, 1 / 5, 1 / 5, 0], [0] * 5], atol=1e-7)
    mixed = _floor("user_item", alpha=0.25)(FLOOR_BATCH).numpy() - 1e-6 * glob
    np.testing.assert_allclose(mixed, 0.25 * user + 0.75 * item, atol=1e-7)


def test_floors_fall_back_to_global_popularity_for_unseen_items():
    scores = _floor("item")(FLOOR_BATCH).numpy()[1]  # item 3 was never tagged
    assert list(np.argsort(-scores, kind="stable")[:4]) == [1, 3, 0, 2]


def test_cooccurrence_floor_sums_conditional_frequencies_of_the_input_tags():
    scores = _floor("cooc")(FLOOR_BATCH).numpy() - 1e-6 * np.array([1, 3, 1, 2, 0]) / 7
    # posts with tag 1: {0,1}, {1}, {1,2,3} → co-occurring 0, 2, 3 once each
    np.testing.assert_allclose(scores[0], [1 / 3, 0, 1 / 3, 1 / 3, 0], atol=1e-7)
    np.testing.assert_allclose(scores[1], 0, atol=1e-6)  # empty input: the fallback only


def test_frequent_tags_orders_by_count_then_id():
    np.testing.assert_array_equal(frequent_tags(FLOOR_POSTS, 2, 5, 3), [[1, 0, -1], [3, 1, 2]])


# ---- construction, saving ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["pitf", "nltf", "abnt", "mp_ui", "cooc"])
def test_saved_models_reload_with_their_state(name, tmp_path):
    model = models.build(name, FLOOR_POSTS, **FLOOR_SIZES, seed=0,
                         **({"latent_dim": 3} if name in ("pitf", "nltf", "abnt") else {}))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(FLOOR_BATCH).numpy(), model(FLOOR_BATCH).numpy(), rtol=1e-6)
    assert type(loaded).from_config(model.get_config()).get_config() == model.get_config()


def test_build_rejects_unknown_hyper_parameters():
    with pytest.raises(ValueError, match=r"model 'pitf' takes no \['corruption'\]"):
        models.build("pitf", FLOOR_POSTS, **FLOOR_SIZES, corruption=0.5)
    assert "alpha" in models.hyperparameters("mp_ui") and "kind" not in models.hyperparameters("mp_ui")


# ---- learning on planted data ------------------------------------------------------------

def _planted_split():
    core, _ = pcore.p_core(synthetic.planted_folksonomy(seed=3), 2)
    return splits.leave_last_tag_out(core, seed=0)


@pytest.mark.parametrize("name, learning_rate", [("pitf", 0.01), ("nltf", 0.01), ("abnt", 0.003)])
def test_baselines_beat_chance_clearly_on_planted_data(name, learning_rate):
    split = _planted_split()
    keras.utils.set_random_seed(0)
    model = models.build(name, split.train_posts("test"), num_users=split.num_users,
                         num_items=split.num_items, num_tags=split.num_tags, latent_dim=16,
                         l2=0.001, seed=0)
    model.compile(keras.optimizers.Adam(learning_rate))
    history = model.fit(post_dataset(split.train_posts("test"), 64, shuffle=True, seed=0),
                        epochs=20, verbose=0, shuffle=False).history
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    metrics, _ = evaluate(model, split.eval_posts("test"))
    assert metrics["hit@5"] > 2.5 * 5 / split.num_tags  # chance is about 5/40


def test_floors_beat_chance_on_planted_data():
    split = _planted_split()
    sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)
    chance = 5 / split.num_tags
    # Items carry most of the planted signal (user_share=0.3), users a little.
    for name, factor in (("mp_u", 1.1), ("mp_i", 2), ("mp_ui", 2), ("cooc", 1.5)):
        model = models.build(name, split.train_posts("test"), **sizes)
        metrics, _ = evaluate(model, split.eval_posts("test"))
        assert metrics["hit@5"] > factor * chance, name
