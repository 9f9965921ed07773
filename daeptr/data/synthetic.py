"""Small data sets with planted structure, for tests and the drivers' `--smoke` runs.

Folksonomies: tags fall into `num_groups` topics; every item belongs to one topic and every
user prefers one. A post draws its tags from the item's topic, and with probability
`user_share` from the user's topic instead, so both the item and the user carry signal a
model can learn.

`synthetic_ml100k` is a MovieLens 100K look-alike of the loader's own type, with planted
tastes, so that the ML-100K code path runs with no data folder.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from daeptr.data.datasets import ML100K_GENRES, MovieLens100K


def planted_folksonomy(
    num_users: int = 60,
    num_items: int = 80,
    num_tags: int = 40,
    num_groups: int = 4,
    posts_per_user: int = 12,
    tags_per_post: tuple[int, int] = (1, 5),
    user_share: float = 0.3,
    seed: int = 0,
) -> pd.DataFrame:
    """Tag assignments (user, item, tag, timestamp) with planted user and item topics."""
    rng = np.random.default_rng(seed)
    tag_group = np.arange(num_tags) % num_groups
    item_group = rng.integers(num_groups, size=num_items)
    user_group = rng.integers(num_groups, size=num_users)
    rows = []
    for user in range(num_users):
        items = rng.choice(num_items, size=min(posts_per_user, num_items), replace=False)
        for item in items:
            size = rng.integers(tags_per_post[0], tags_per_post[1] + 1)
            groups = np.where(rng.random(size) < user_share, user_group[user], item_group[item])
            tags = {int(rng.choice(np.flatnonzero(tag_group == g))) for g in groups}
            for step, tag in enumerate(sorted(tags, key=lambda _: rng.random())):
                rows.append((user, int(item), tag, int(rng.integers(3)) + step))
    return pd.DataFrame(rows, columns=["user", "item", "tag", "timestamp"])


def scale_posts(num_posts: int, num_tags: int, *, posts_per_user: int = 20,
                posts_per_item: int = 10, tags_per_post: tuple[int, int] = (1, 5),
                seed: int = 0):
    """`num_posts` training posts over `num_tags` tags, made without a Python loop, for
    measuring how the cost grows (`experiments.bench --scale`): each post has a uniform
    number of distinct tags in `tags_per_post`, drawn from a Zipf-like popularity
    (p_t ∝ 1/(t + 10)), and a user and an item drawn uniformly among num_posts /
    `posts_per_user` users and num_posts / `posts_per_item` items.

    Returns a `daeptr.data.splits.Posts` without targets.
    """
    from daeptr.data.splits import Posts

    if num_posts < 1 or num_tags < tags_per_post[1]:
        raise ValueError(f"need num_posts >= 1 and num_tags >= {tags_per_post[1]}, got "
                         f"{num_posts} and {num_tags}")
    rng = np.random.default_rng(seed)
    weights = 1.0 / (np.arange(num_tags) + 10.0)
    cdf = np.cumsum(weights / weights.sum())
    # Draw more than needed per post, keep each post's first distinct ones.
    wanted = rng.integers(tags_per_post[0], tags_per_post[1] + 1, size=num_posts)
    draws = np.minimum(np.searchsorted(cdf, rng.random((num_posts, 3 * tags_per_post[1]))),
                       num_tags - 1)
    order = np.argsort(draws, axis=1, kind="stable")
    ranked = np.take_along_axis(draws, order, axis=1)
    first = np.ones_like(ranked, dtype=bool)
    first[:, 1:] = ranked[:, 1:] != ranked[:, :-1]  # the first of each value in the row
    distinct = np.zeros_like(first)
    np.put_along_axis(distinct, order, first, axis=1)  # back in the drawing order
    keep = distinct & (np.cumsum(distinct, axis=1) <= wanted[:, None])
    lengths = keep.sum(axis=1)
    return Posts(user=rng.integers(max(1, num_posts // posts_per_user), size=num_posts,
                                   dtype=np.int32),
                 item=rng.integers(max(1, num_posts // posts_per_item), size=num_posts,
                                   dtype=np.int32),
                 indptr=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                 tags=draws[keep].astype(np.int32))


def smoke_tags(seed: int = 0) -> pd.DataFrame:
    """The folksonomy of the drivers' `--smoke` runs: about 1,000 assignments.

    40 users × 10 posts over 60 items and 24 tags in 4 topics: a few epochs of any model take
    seconds, yet every user, item and tag is frequent enough for the drivers' cores. For
    seeds 0–9 the 5-core keeps ≥ 98% of the assignments and the 10-core ≥ 90% (it drops
    a few rare items); the largest non-empty core is 13 to 15, so a core of 16 or more is
    empty. The leave-last-tag-out split of the 5- and 10-core has about 200 validation posts.
    """
    return planted_folksonomy(num_users=40, num_items=60, num_tags=24, num_groups=4,
                              posts_per_user=10, seed=seed)


# --------------------------------------------------------------------------------------
# A synthetic MovieLens 100K: the loader's type, with planted tastes.
# --------------------------------------------------------------------------------------

ML100K_OCCUPATIONS = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other",
    "programmer", "retired", "salesman", "scientist", "student", "technician", "writer",
)
_ML100K_TIME = (874_724_710, 893_286_638)  # the span of u.data's timestamps
_NUM_FOLDS = 5


def synthetic_ml100k(num_users: int = 60, num_items: int = 80, seed: int = 0, *,
                     num_groups: int = 4, ratings_per_user: tuple[int, int] = (20, 40)) -> MovieLens100K:
    """A small ML-100K look-alike, of the type `datasets.load_ml100k` returns.

    Lets the ML-100K drivers run (`--smoke`) with no data folder: user ids 1..num_users with
    age, gender, occupation and zip; item ids 1..num_items with a title and the 19 genre
    flags; ratings 1–5 with timestamps; and five folds whose test sets partition the ratings
    (each user's ratings dealt round-robin over the folds), base = the other ratings, as in
    the official u1–u5.

    Planted structure, so that a model has something to learn: users and items fall into
    `num_groups` tastes. Users rate mostly items of their own taste and rate those high
    (positives, ≥ 4) and other items low; an item's genres come from its taste's genres;
    gender leans with the taste. Every user rates at least `ratings_per_user[0]` items (20,
    like ML-100K), so every fold has test ratings.
    """
    if not 1 <= num_groups <= len(ML100K_GENRES) - 1:
        raise ValueError(f"num_groups must lie in 1..{len(ML100K_GENRES) - 1} (each taste needs "
                         f"a genre of its own), got {num_groups}")
    rng = np.random.default_rng(seed)
    user_group = rng.integers(num_groups, size=num_users)
    item_group = rng.integers(num_groups, size=num_items)
    ratings = _synthetic_ratings(user_group, item_group, ratings_per_user, rng)
    return MovieLens100K(
        ratings=ratings,
        users=_synthetic_users(user_group, rng),
        items=_synthetic_items(item_group, num_groups, rng),
        folds=_five_folds(ratings, rng),
    )


def _synthetic_ratings(user_group: np.ndarray, item_group: np.ndarray,
                       ratings_per_user: tuple[int, int], rng: np.random.Generator) -> pd.DataFrame:
    """Who rates what (taste-biased, popularity-skewed) and how (high within one's taste)."""
    num_users, num_items = len(user_group), len(item_group)
    match = user_group[:, None] == item_group[None, :]  # [U, I]
    # Gumbel top-k: each user rates a random subset, drawn with weight ∝ popularity·e^(1.5·match).
    popularity = rng.normal(0.0, 0.5, size=num_items)
    keys = popularity[None, :] + 1.5 * match + rng.gumbel(size=(num_users, num_items))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    count = rng.integers(ratings_per_user[0], ratings_per_user[1] + 1, size=num_users)
    user, item = np.nonzero(rank < np.minimum(count, num_items)[:, None])
    mean = np.where(match[user, item], 4.3, 2.3) + 0.4 * popularity[item]
    rating = np.clip(np.rint(mean + rng.normal(0.0, 0.7, size=len(user))), 1, 5)
    return pd.DataFrame({
        "user": user + 1,
        "item": item + 1,
        "rating": rating.astype(np.int64),
        "timestamp": rng.integers(*_ML100K_TIME, size=len(user)),
    }).astype(np.int64)


def _synthetic_users(user_group: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """`u.user`'s columns; gender leans with the taste so that a gender feature helps."""
    num_users = len(user_group)
    female = rng.random(num_users) < np.where(user_group % 2 == 0, 0.8, 0.2)
    return pd.DataFrame({
        "user": np.arange(1, num_users + 1, dtype=np.int64),
        "age": rng.integers(7, 74, size=num_users).astype(np.int64),
        # Text columns as object, as `read_table` gives them.
        "gender": pd.Series(np.where(female, "F", "M"), dtype=object),
        "occupation": pd.Series(rng.choice(ML100K_OCCUPATIONS, size=num_users), dtype=object),
        "zip": pd.Series([f"{z:05d}" for z in rng.integers(100_000, size=num_users)], dtype=object),
    })


def _synthetic_items(item_group: np.ndarray, num_groups: int, rng: np.random.Generator) -> pd.DataFrame:
    """`u.item`'s columns as `read_ml100k_items` keeps them: id, title, 19 genre flags.

    Genre j ≥ 1 belongs to taste (j - 1) mod num_groups; every item has one genre of its
    taste and, one time in four, one more genre drawn at random ("unknown", genre 0, unused).
    """
    num_items = len(item_group)
    num_genres = len(ML100K_GENRES) - 1
    per_group = -(-(num_genres - np.arange(num_groups)) // num_groups)  # genres of each taste
    own = 1 + item_group + num_groups * (rng.random(num_items) * per_group[item_group]).astype(int)
    flags = np.zeros((num_items, len(ML100K_GENRES)), np.int64)
    flags[np.arange(num_items), own] = 1
    extra = rng.random(num_items) < 0.25
    flags[np.flatnonzero(extra), rng.integers(1, num_genres + 1, size=int(extra.sum()))] = 1
    items = pd.DataFrame(flags, columns=list(ML100K_GENRES))
    items.insert(0, "title", pd.Series([f"Synthetic movie {i} (1995)" for i in range(1, num_items + 1)],
                                       dtype=object))
    items.insert(0, "item", np.arange(1, num_items + 1, dtype=np.int64))
    return items


def _five_folds(ratings: pd.DataFrame, rng: np.random.Generator) -> dict[int, tuple[pd.DataFrame, pd.DataFrame]]:
    """Folds 1–5 whose test sets partition `ratings`; base k = every rating not in test k.

    Each user's ratings, in random order, are dealt round-robin over the folds from a random
    first fold, so every test set holds about a fifth of every user's ratings and the folds'
    sizes differ by at most one rating per user.
    """
    user = ratings["user"].to_numpy()
    order = np.lexsort((rng.random(len(ratings)), user))
    first = np.searchsorted(user[order], user[order])  # position of the user's first rating
    start = rng.integers(_NUM_FOLDS, size=user.max() + 1)
    fold = np.empty(len(ratings), np.int64)
    fold[order] = (np.arange(len(ratings)) - first + start[user[order]]) % _NUM_FOLDS + 1
    return {
        k: (ratings[fold != k].reset_index(drop=True), ratings[fold == k].reset_index(drop=True))
        for k in range(1, _NUM_FOLDS + 1)
    }
