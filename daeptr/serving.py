"""Tag recommendations for raw string ids, as a SavedModel that needs only TensorFlow.

`export(model, vocabulary, directory, top_k)` writes `<directory>/<version>/` (TF Serving's
layout) with one signature, `serving_default`:

    inputs   user    string [B]      the post's user
             item    string [B]      the post's item
             tags    string [B, L]   the post's current tags, padded with ""
    outputs  tags    string [B, k]   the k best tags, best first, none of the current ones
             scores  float32 [B, k]  their scores (higher is better; DAE-PTR: the logits of
                                     Eq. 10, PITF: ⟨u, t_U⟩ + ⟨i, t_I⟩)

The string vocabularies are tables inside the SavedModel. An id the model never saw is not
an error: an unknown user or item maps to -1, whose row is zero (`daeptr.layers.known_rows`),
so it contributes nothing to the scores (a post with an unknown user is ranked from its item
and tags alone; with both unknown, from its tags, or by popularity for the floors). An
unknown tag among the current tags is ignored, like padding. When fewer than k tags are left
after the current ones, the rest of the row is "" with score -inf.

Scores come from a float32 copy of the model (`float32_scorer`), whatever precision it
trained in, as the package's evaluation ranks.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil

import numpy as np
import tensorflow as tf

from daeptr.layers import multi_hot
from daeptr.models.base import float32_scorer

SIGNATURE = [tf.TensorSpec([None], tf.string, name="user"),
             tf.TensorSpec([None], tf.string, name="item"),
             tf.TensorSpec([None, None], tf.string, name="tags")]


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """The raw strings of the model's ids: id k is `users[k]`, `items[k]`, `tags[k]`."""

    users: tuple[str, ...]
    items: tuple[str, ...]
    tags: tuple[str, ...]

    def __post_init__(self):
        for name in ("users", "items", "tags"):
            values = getattr(self, name)
            if not values:
                raise ValueError(f"the {name} vocabulary is empty")
            if len(set(values)) < len(values):
                raise ValueError(f"the {name} vocabulary repeats a value")
            if "" in values:
                raise ValueError(f'the {name} vocabulary holds "", which pads the input tags')

    def save(self, path: str | os.PathLike) -> None:
        pathlib.Path(path).write_text(json.dumps(dataclasses.asdict(self), ensure_ascii=False))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        data = json.loads(pathlib.Path(path).read_text())
        return cls(*(tuple(data[k]) for k in ("users", "items", "tags")))


def _table(values) -> tf.lookup.StaticHashTable:
    """string → int32 id, -1 for a string not in `values`."""
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(list(values), tf.string),
                                            tf.range(len(values), dtype=tf.int32)),
        default_value=-1)


class TagServer(tf.Module):
    """`serve(user, item, tags)`: the k best tags for each post, from raw string ids."""

    def __init__(self, model, vocabulary: Vocabulary, top_k: int):
        super().__init__(name="tag_server")
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        num_tags = model.get_config()["num_tags"]
        if num_tags != len(vocabulary.tags):
            raise ValueError(f"the model ranks {num_tags} tags, the vocabulary has "
                             f"{len(vocabulary.tags)}")
        self.scorer = float32_scorer(model)
        self.k = min(top_k, num_tags)
        self.num_tags = num_tags
        self.user_ids, self.item_ids = _table(vocabulary.users), _table(vocabulary.items)
        self.tag_ids = _table(vocabulary.tags)
        self.tag_names = tf.constant(list(vocabulary.tags), tf.string)

    @tf.function(input_signature=SIGNATURE)
    def serve(self, user, item, tags):
        tf.debugging.assert_equal(tf.shape(user)[0], tf.shape(item)[0],
                                  "user and item need one entry per post")
        tf.debugging.assert_equal(tf.shape(user)[0], tf.shape(tags)[0],
                                  "tags need one row per post")
        ids = self.tag_ids.lookup(tags)  # "" and unknown tags: -1, i.e. padding
        batch = {"user": self.user_ids.lookup(user), "item": self.item_ids.lookup(item),
                 "tags": ids}
        scores = self.scorer.score(batch)
        current = multi_hot(ids, tf.ones_like(ids, tf.float32), self.num_tags) > 0
        scores = tf.where(current, -np.inf, scores)
        best = tf.math.top_k(scores, self.k)
        names = tf.gather(self.tag_names, best.indices)
        return {"tags": tf.where(tf.math.is_inf(best.values), "", names),
                "scores": best.values}


def export(model, vocabulary: Vocabulary, directory: str | os.PathLike, top_k: int,
           version: int = 1) -> pathlib.Path:
    """Writes the SavedModel to `<directory>/<version>/` (written beside and renamed into
    place: an interrupted export leaves no half model) and returns that path."""
    final = pathlib.Path(directory) / str(version)
    if final.exists():
        raise FileExistsError(f"{final} exists; export to another directory or version")
    server = TagServer(model, vocabulary, top_k)
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    tf.saved_model.save(server, str(partial), signatures={"serving_default": server.serve})
    os.replace(partial, final)
    return final
