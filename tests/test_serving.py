"""`daeptr.serving`: a SavedModel that ranks tags for raw string ids, loaded by TensorFlow
alone, with the same top-k as the Keras model it was exported from."""

import json
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from daeptr import models, serving
from daeptr.data import pcore, splits, synthetic
from daeptr.models import dtype_policy
from daeptr.pipeline import post_dataset
from daeptr.training import TrainConfig, compiled, _fit

TAG_MODELS = ["dae_ptr", "pitf", "nltf", "abnt", "mp", "mp_u", "mp_i", "mp_ui", "cooc"]


@pytest.fixture(scope="module")
def split():
    return splits.leave_last_tag_out(pcore.p_core(synthetic.planted_folksonomy(seed=6), 2)[0],
                                     seed=0)


def _vocabulary(split):
    return serving.Vocabulary(tuple(f"user {k}" for k in range(split.num_users)),
                              tuple(f"item/{k}" for k in range(split.num_items)),
                              tuple(f"tag-{k}" for k in range(split.num_tags)))


def _trained(name, split, precision="float32"):
    sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)
    extra = {} if name.startswith(("mp", "cooc")) else {"latent_dim": 8, "seed": 0}
    config = TrainConfig(epochs=1, eval_every=1, batch_size=64, precision=precision,
                         jit_compile=False)
    posts = split.train_posts("test")
    model = compiled(lambda p: models.build(name, p, **sizes, **extra), posts, config)
    if model.trainable_weights:
        _fit(model, post_dataset(posts, 64, shuffle=True, seed=0), 1, [])
    return model


def _keras_top_k(model, batch, k):
    """The model's own ranking: scores in float32, the current tags left out, ties to the
    lower id (as tf.math.top_k breaks them)."""
    from daeptr.models.base import float32_scorer

    scores = float32_scorer(model).score(batch).numpy()
    for row, tags in zip(scores, batch["tags"].numpy()):
        row[tags[tags >= 0]] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :k], np.sort(-scores, axis=1)[:, :k]


def _strings(vocab, batch):
    tags = batch["tags"].numpy()
    return (tf.constant([vocab.users[u] for u in batch["user"].numpy()]),
            tf.constant([vocab.items[i] for i in batch["item"].numpy()]),
            tf.constant([[vocab.tags[t] if t >= 0 else "" for t in row] for row in tags]))


@pytest.mark.parametrize("name", TAG_MODELS)
def test_every_tag_model_exports_and_serves_the_keras_models_top_k(split, tmp_path, name):
    model = _trained(name, split)
    vocab = _vocabulary(split)
    path = serving.export(model, vocab, tmp_path / "exported", top_k=5)
    assert path == tmp_path / "exported" / "1" and (path / "saved_model.pb").exists()
    batch = next(iter(post_dataset(split.eval_posts("test"), 32)))
    out = tf.saved_model.load(str(path)).signatures["serving_default"](
        **dict(zip(("user", "item", "tags"), _strings(vocab, batch))))
    ids, negated = _keras_top_k(model, batch, 5)
    assert out["tags"].shape == (32, 5) and out["scores"].dtype == tf.float32
    expected = np.array([[vocab.tags[t] for t in row] for row in ids])
    np.testing.assert_array_equal(out["tags"].numpy().astype(str), expected)
    np.testing.assert_allclose(out["scores"].numpy(), -negated, rtol=1e-5, atol=1e-6)


def test_a_fresh_tensorflow_process_serves_raw_ids_without_the_package(split, tmp_path):
    model = _trained("dae_ptr", split, precision="mixed_bfloat16")
    vocab = _vocabulary(split)
    path = serving.export(model, vocab, tmp_path / "exported", top_k=4)
    batch = next(iter(post_dataset(split.eval_posts("test"), 16)))
    users, items, tags = (t.numpy().astype(str).tolist() for t in _strings(vocab, batch))
    request = {"user": users + ["a new user"], "item": items + ["a new item"],
               "tags": tags + [["a new tag"] + [""] * (len(tags[0]) - 1)]}
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf
        request = json.loads(sys.stdin.read())
        serve = tf.saved_model.load({str(path)!r}).signatures["serving_default"]
        out = serve(user=tf.constant(request["user"]), item=tf.constant(request["item"]),
                    tags=tf.constant(request["tags"]))
        print(json.dumps({{"tags": out["tags"].numpy().astype(str).tolist(),
                          "scores": out["scores"].numpy().tolist(),
                          "daeptr_imported": any(m.split(".")[0] == "daeptr"
                                                 for m in sys.modules)}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], input=json.dumps(request),
                          capture_output=True, text=True, timeout=240, cwd=tmp_path,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not answer["daeptr_imported"]
    ids, _ = _keras_top_k(model, batch, 4)
    assert answer["tags"][:16] == [[vocab.tags[t] for t in row] for row in ids]
    # unknown user, item and tag: a ranking of known tags, not an error
    unknown = answer["tags"][16]
    assert len(unknown) == 4 and set(unknown) <= set(vocab.tags)
    assert np.isfinite(answer["scores"][16]).all()


def test_fewer_candidates_than_k_leave_empty_tags_with_minus_infinity(split, tmp_path):
    model = _trained("mp", split)
    vocab = _vocabulary(split)
    path = serving.export(model, vocab, tmp_path / "exported", top_k=split.num_tags + 5)
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = serve(user=tf.constant(["user 0"]), item=tf.constant(["item/0"]),
                tags=tf.constant([list(vocab.tags[:3])]))
    names, scores = out["tags"].numpy()[0].astype(str), out["scores"].numpy()[0]
    assert len(names) == split.num_tags  # k is capped at |T|
    assert list(names[-3:]) == ["", "", ""] and np.isneginf(scores[-3:]).all()
    assert not set(names[:-3]) & set(vocab.tags[:3])


def test_export_refuses_an_existing_version_and_a_wrong_vocabulary(split, tmp_path):
    model = _trained("mp", split)
    vocab = _vocabulary(split)
    serving.export(model, vocab, tmp_path / "exported", top_k=3)
    with pytest.raises(FileExistsError):
        serving.export(model, vocab, tmp_path / "exported", top_k=3)
    with pytest.raises(ValueError, match="the model ranks"):
        serving.export(model, serving.Vocabulary(vocab.users, vocab.items, vocab.tags[:-1]),
                       tmp_path / "other", top_k=3)
    with pytest.raises(ValueError, match='holds ""'):
        serving.Vocabulary(("",), ("i",), ("t",))
    vocab.save(tmp_path / "vocabulary.json")
    assert serving.Vocabulary.load(tmp_path / "vocabulary.json") == vocab
