"""DAE-PTR's sampled decoder (`decoder="sampled"`): ℓ̂ against NumPy for the same draw, its
mean over draws against Eq. 11, evaluation unchanged, and training through both step paths."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from daeptr import rng
from daeptr.data import pcore, splits, synthetic
from daeptr.models import DAEPTR
from daeptr.training import TrainConfig, train_and_evaluate

TAGS = np.array([[0, 4, -1], [2, -1, -1], [-1, -1, -1], [1, 2, 3]], np.int32)


def _model(**kwargs):
    model = DAEPTR(3, 4, 7, latent_dim=5, corruption=0.0, l2=0.0, decoder="sampled", seed=1,
                   **kwargs)
    model.decoder.bias.assign(np.linspace(-1, 1, 7, dtype=np.float32))
    return model


def _z(seed=0):
    return tf.constant(np.random.default_rng(seed).normal(size=(len(TAGS), 5)), tf.float32)


def _softplus(x):
    return np.log1p(np.exp(x))


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_sampled_objective_matches_numpy_for_the_same_draw(reduction):
    model = _model(num_sampled=5, loss_reduction=reduction)
    # the draw the objective makes next, from a copy of its seed state
    twin = keras.random.SeedGenerator(0)
    twin.state.assign(model.sampler_seed.state)
    drawn = np.minimum((rng.uniform([5], twin).numpy() * 7).astype(int), 6)
    z = _z()
    value = model.sampled_objective(tf.constant(TAGS), z).numpy()

    logits = z.numpy() @ model.decoder.kernel.numpy() + model.decoder.bias.numpy()  # [B, |T|]
    per_post = []
    for b, row in enumerate(TAGS):
        own = row[row >= 0]
        positive = _softplus(-logits[b, own]).sum()
        negative = sum(_softplus(logits[b, t]) for t in drawn if t not in own)
        per_post.append(positive + 7 / 5 * negative)
    expected = np.sum(per_post) if reduction == "sum" else np.mean(per_post)
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_its_mean_over_draws_is_eq_11():
    model = _model(num_sampled=3)
    z, tags = _z(1), tf.constant(TAGS)
    draw = tf.function(lambda: model.sampled_objective(tags, z))  # a new draw each call
    draws = np.array([draw().numpy() for _ in range(3000)])
    full = model.objective(tags, model.decoder(z)).numpy()  # Eq. 11 over every tag
    assert abs(draws.mean() - full) < 4 * draws.std() / np.sqrt(len(draws))
    assert draws.std() > 0  # the draws differ: each step samples anew


def test_evaluation_scores_every_tag_as_the_full_decoder_does():
    sampled, full = _model(), DAEPTR(3, 4, 7, latent_dim=5, seed=1)
    full.set_weights(sampled.get_weights()[:len(full.get_weights())])
    batch = {"user": tf.constant([0, 1, 2, 0]), "item": tf.constant([1, 0, 3, 2]),
             "tags": tf.constant(TAGS)}
    np.testing.assert_array_equal(sampled.score(batch).numpy(), full.score(batch).numpy())
    # and the objective outside training is the full Eq. 11
    np.testing.assert_array_equal(sampled.compute_objective(batch, training=False).numpy(),
                                  full.compute_objective(batch, training=False).numpy())


def test_bad_settings_name_themselves():
    with pytest.raises(ValueError, match="decoder must be one of"):
        DAEPTR(3, 4, 7, decoder="partial")
    with pytest.raises(ValueError, match="num_sampled must be >= 1"):
        DAEPTR(3, 4, 7, decoder="sampled", num_sampled=0)


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_it_trains_through_the_run_loop(tmp_path, precision):
    split = splits.leave_last_tag_out(
        pcore.p_core(synthetic.planted_folksonomy(seed=3), 2)[0], seed=0)
    sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)

    def build(posts):
        return DAEPTR.from_posts(posts, **sizes, latent_dim=16, corruption=0.5, seed=0,
                                 decoder="sampled", num_sampled=8, output_bias="log_odds")

    config = TrainConfig(epochs=6, eval_every=3, batch_size=64, learning_rate=0.01,
                         precision=precision, seed=0)
    metrics = train_and_evaluate(build, split, config, tmp_path)
    assert np.isfinite(metrics["valid"]["ndcg@3"]) and metrics["test"]["hit@10"] > 0
