"""The synthetic data of `--smoke` runs: the loaders' types, the folds' rules, learnable."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from daeptr.data import ml100k
from daeptr.data.datasets import ML100K_GENRES, SOURCES, MovieLens100K, load_ml100k
from daeptr.data.pcore import EmptyCoreError, p_core
from daeptr.data.splits import TEST, VALID, leave_last_tag_out
from daeptr.data.synthetic import planted_folksonomy, smoke_tags, synthetic_ml100k

KEY = ["user", "item"]


# ---- synthetic ML-100K ----------------------------------------------------------------


def write_official_files(data: MovieLens100K, folder):
    """Writes `data` in the official ML-100K file formats (u.data, u.user, u.item, uK.*)."""
    folder.mkdir(parents=True)

    def tsv(frame, name):
        frame.to_csv(folder / name, sep="\t", header=False, index=False)

    tsv(data.ratings, "u.data")
    for k, (base, test) in data.folds.items():
        tsv(base, f"u{k}.base")
        tsv(test, f"u{k}.test")
    data.users.to_csv(folder / "u.user", sep="|", header=False, index=False)
    items = data.items.assign(release="01-Jan-1995", video_release="", url="http://x")
    items = items[["item", "title", "release", "video_release", "url", *ML100K_GENRES]]
    items.to_csv(folder / "u.item", sep="|", header=False, index=False, encoding="latin-1")


def test_synthetic_ml100k_is_what_the_loader_gives(monkeypatch, isolated_env, tmp_path):
    """Written out as the official files and read back by `load_ml100k`: the same object."""
    data = synthetic_ml100k()
    write_official_files(data, tmp_path / "ml-100k")
    monkeypatch.setitem(SOURCES, "ml100k", dataclasses.replace(SOURCES["ml100k"], file_sha256={}))
    loaded = load_ml100k(tmp_path, download=False)
    for name in ("ratings", "users", "items"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(data, name))
    assert sorted(loaded.folds) == sorted(data.folds) == [1, 2, 3, 4, 5]
    for k in range(1, 6):
        for got, made in zip(loaded.folds[k], data.folds[k]):
            pd.testing.assert_frame_equal(got, made)


def test_synthetic_ml100k_shape_and_values():
    data = synthetic_ml100k(num_users=30, num_items=50, seed=3)
    assert isinstance(data, MovieLens100K)
    assert data.users["user"].tolist() == list(range(1, 31))
    assert data.items["item"].tolist() == list(range(1, 51))
    assert list(data.items.columns) == ["item", "title", *ML100K_GENRES]
    assert data.ratings["rating"].between(1, 5).all()
    assert set(data.ratings["rating"]) == {1, 2, 3, 4, 5}
    assert not data.ratings.duplicated(KEY).any()
    assert data.ratings.groupby("user").size().min() >= 20  # as in ML-100K
    assert set(data.users["gender"]) == {"F", "M"}
    assert (data.items[list(ML100K_GENRES)].sum(axis=1) >= 1).all()


def test_synthetic_ml100k_is_seeded():
    a, b, c = synthetic_ml100k(seed=1), synthetic_ml100k(seed=1), synthetic_ml100k(seed=2)
    pd.testing.assert_frame_equal(a.ratings, b.ratings)
    pd.testing.assert_frame_equal(a.folds[3][1], b.folds[3][1])
    assert not a.ratings.equals(c.ratings)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_synthetic_ml100k_folds_partition_the_ratings(seed):
    data = synthetic_ml100k(seed=seed)
    ratings = data.ratings.sort_values(KEY, ignore_index=True)
    tests = pd.concat([data.folds[k][1] for k in range(1, 6)])
    # every rating is in exactly one fold's test set
    pd.testing.assert_frame_equal(tests.sort_values(KEY, ignore_index=True), ratings)
    for k in range(1, 6):
        base, test = data.folds[k]
        assert len(base) + len(test) == len(ratings)
        assert base.merge(test, on=KEY).empty
        pd.testing.assert_frame_equal(
            pd.concat([base, test]).sort_values(KEY, ignore_index=True), ratings)
        # about a fifth of every user's ratings, like the official 80/20 folds
        share = test.groupby("user").size() / ratings.groupby("user").size()
        assert share.between(0.1, 0.3).all()


@pytest.mark.parametrize("fold", [1, 2, 3, 4, 5])
def test_synthetic_ml100k_fold_split(fold):
    split = ml100k.fold_split(synthetic_ml100k(), fold, user_features=("id", "gender"),
                              valid_fraction=0.1, seed=0)
    stats = split.statistics()
    assert stats["users"] == 60 and stats["items"] == 80
    assert stats["fit"] > 0 and stats["valid"] > 0 and stats["test"] > 0
    assert stats["test_users"] > 0.8 * 60 and stats["valid_users"] > 0.8 * 60
    assert split.user_profile.shape == (60, 60 + 2)
    assert split.item_genres.shape == (80, 19)


def _auc(scores: np.ndarray, positives: np.ndarray, seen: np.ndarray) -> float:
    """Mean per-user AUC of test positives against unseen non-positives."""
    values = []
    for s, pos, done in zip(scores, positives, seen):
        hit, miss = s[pos], s[~pos & ~done]
        if len(hit) and len(miss):
            values.append((hit[:, None] > miss).mean() + 0.5 * (hit[:, None] == miss).mean())
    return float(np.mean(values))


def _dense(csr, num_users, num_items) -> np.ndarray:
    indptr, items = csr
    out = np.zeros((num_users, num_items), bool)
    out[np.repeat(np.arange(num_users), np.diff(indptr)), items] = True
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_synthetic_ml100k_has_something_to_learn(seed):
    """Personal tastes: item co-occurrence and genre profiles beat popularity by far."""
    split = ml100k.fold_split(synthetic_ml100k(seed=seed), 1)
    shape = (split.num_users, split.num_items)
    seen = _dense(split.inputs("test"), *shape).astype(float)
    test = _dense(split.test, *shape)
    popularity = np.tile(seen.sum(0), (shape[0], 1))
    cooccurrence = seen @ (seen.T @ seen)
    genres = split.genre_profile("test") @ split.item_genres.T
    base = _auc(popularity, test, seen > 0)
    assert _auc(cooccurrence, test, seen > 0) > max(0.8, base + 0.2)
    assert _auc(genres, test, seen > 0) > max(0.75, base + 0.15)


# ---- smoke folksonomy -----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("core", [5, 10])
def test_smoke_tags_survive_the_drivers_cores(seed, core):
    tags = smoke_tags(seed=seed)
    assert list(tags.columns) == ["user", "item", "tag", "timestamp"]
    assert len(tags) < 2000  # small: a few epochs take seconds
    kept, _ = p_core(tags, core)
    assert len(kept) > 0.85 * len(tags)
    stats = leave_last_tag_out(kept).statistics()
    assert stats["valid_posts"] > 100 and stats["test_posts"] == stats["posts"]


@pytest.mark.parametrize("seed", [0, 1])
def test_smoke_tags_large_cores_are_empty(seed):
    """As documented: no core of 16 or more."""
    with pytest.raises(EmptyCoreError):
        p_core(smoke_tags(seed=seed), 16)


def test_smoke_tags_is_a_seeded_planted_folksonomy():
    pd.testing.assert_frame_equal(smoke_tags(seed=1), smoke_tags(seed=1))
    assert not smoke_tags(seed=0).equals(smoke_tags(seed=1))
    pd.testing.assert_frame_equal(
        smoke_tags(seed=2),
        planted_folksonomy(num_users=40, num_items=60, num_tags=24, num_groups=4,
                           posts_per_user=10, seed=2))
    split = leave_last_tag_out(p_core(smoke_tags(), 5)[0])
    assert (split.role == VALID).sum() > 0 and (split.role == TEST).sum() == split.num_posts
