"""An id the model never saw (-1, what `daeptr.serving` maps an unknown user or item to)
contributes nothing to a post's scores: its row is zero, or its term is dropped."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from daeptr import models
from daeptr.data import pcore, splits, synthetic
from daeptr.layers import known_rows
from daeptr.pipeline import post_dataset


@pytest.fixture(scope="module")
def split():
    return splits.leave_last_tag_out(pcore.p_core(synthetic.planted_folksonomy(seed=4), 2)[0],
                                     seed=0)


def _build(name, split):
    keras.utils.set_random_seed(0)
    sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)
    extra = {} if name.startswith("mp") else {"latent_dim": 8, "seed": 0}
    return models.build(name, split.train_posts("test"), **sizes, **extra)


def _batch(split, **changes):
    batch = next(iter(post_dataset(split.eval_posts("test"), 16)))
    return {**batch, **{k: tf.constant(v, tf.int32) for k, v in changes.items()}}


def test_known_rows_gathers_and_fills_unknown_ids():
    table = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(known_rows(table, tf.constant([1, -1, 0])).numpy(),
                                  [[3, 4], [0, 0], [1, 2]])
    ids = tf.constant([[5, 6], [7, 8]])
    np.testing.assert_array_equal(known_rows(ids, tf.constant([-1, 1]), fill=-1).numpy(),
                                  [[-1, -1], [7, 8]])
    layer = keras.layers.Embedding(2, 3)
    out = known_rows(layer, tf.constant([-1, 1])).numpy()
    np.testing.assert_array_equal(out[0], 0)
    np.testing.assert_array_equal(out[1], layer.embeddings.numpy()[1])


# Each model's tables indexed by user and by item, and the value an unseen id's row takes.
TABLES = {"dae_ptr": (("user_embedding", "embeddings"), ("item_embedding", "embeddings")),
          "pitf": (("user_factors",), ("item_factors",)),
          "abnt": (("user_embedding",), ("item_embedding",))}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_an_unknown_user_or_item_scores_as_a_known_one_whose_row_is_zero(split, name):
    model = _build(name, split)
    batch = _batch(split)
    user, item = int(batch["user"][0]), int(batch["item"][0])
    unknown = model.score(_batch(split, user=[-1] * 16, item=[-1] * 16)).numpy()

    def table(path):
        obj = model
        for attribute in path:
            obj = getattr(obj, attribute)
        return obj

    user_table, item_table = (table(p) for p in TABLES[name])
    for variable, index in ((user_table, user), (item_table, item)):
        value = variable.numpy()
        value[index] = 0
        variable.assign(value)
    if name == "abnt":  # and no tagging history
        history = model.user_history.numpy()
        history[user] = -1
        model.user_history.assign(history)
    zeroed = model.score(_batch(split, user=[user] * 16, item=[item] * 16)).numpy()
    np.testing.assert_allclose(unknown, zeroed, rtol=1e-6, atol=1e-6)


def test_nltf_drops_the_term_of_an_unknown_user_or_item(split):
    model = _build("nltf", split)
    batch = _batch(split)
    both = model.score(batch).numpy()
    no_user = model.score({**batch, "user": -tf.ones_like(batch["user"])}).numpy()
    no_item = model.score({**batch, "item": -tf.ones_like(batch["item"])}).numpy()
    neither = model.score({**batch, "user": -tf.ones_like(batch["user"]),
                           "item": -tf.ones_like(batch["item"])}).numpy()
    np.testing.assert_array_equal(neither, 0)
    np.testing.assert_allclose(both, no_user + no_item, rtol=1e-5)


@pytest.mark.parametrize("name", ["mp_u", "mp_i", "mp_ui"])
def test_the_floors_rank_an_unknown_post_by_global_popularity(split, name):
    model = _build(name, split)
    unknown = model.score(_batch(split, user=[-1] * 16, item=[-1] * 16)).numpy()
    popular = _build("mp", split).score(_batch(split)).numpy()
    for row, expected in zip(unknown, popular):
        np.testing.assert_array_equal(np.argsort(-row, kind="stable"),
                                      np.argsort(-expected, kind="stable"))
