"""ML-100K for top-N item recommendation (the CDDAE paper, §3.1): binarized folds and profiles.

Ratings ≥ 4 become positives (1); ratings ≤ 3 and unrated items are 0. A fold `uK` of the
official five-fold split gives the training positives (`uK.base`) and the test positives
(`uK.test`). A validation part is carved from each base: every user with at least
`min_positives` base positives gives a seeded `valid_fraction` of them (at least one). A user
row is a `Posts` whose "tags" are the user's positive items, so that the package's pipeline,
corruption layer and losses serve both tasks.

User profile features (one-hot, concatenated in the order asked): `id` (the user node of
CDAE/CDDAE), `gender`, `age` (the seven MovieLens-1M age groups), `occupation` (the 21 of
`u.occupation`). Item features of a user row: `genres`, the genre histogram of the user's
training positives (relative frequencies over the 19 genres).
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pandas as pd

from daeptr.data.datasets import ML100K_GENRES, MovieLens100K
from daeptr.data.splits import Posts

USER_FEATURES = ("id", "gender", "age", "occupation")
ITEM_FEATURES = ("genres",)
AGE_BOUNDS = (18, 25, 35, 45, 50, 56)  # → 7 groups: <18, 18–24, …, 56+
POSITIVE = 4


def _csr(user: np.ndarray, item: np.ndarray, num_users: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((item, user))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(user, minlength=num_users))])
    return indptr.astype(np.int64), item[order].astype(np.int32)


@dataclasses.dataclass(frozen=True)
class ItemSplit:
    """Binarized positives of one fold: fit (base without validation), valid, test."""

    num_users: int
    num_items: int
    fit: tuple[np.ndarray, np.ndarray]  # CSR (indptr, items) per user
    valid: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    user_profile: np.ndarray  # float32 [U, F]
    item_genres: np.ndarray  # float32 [I, 19]
    fold: int
    seed: int

    @staticmethod
    def _union(a, b, num_users):
        user = np.concatenate([np.repeat(np.arange(num_users), np.diff(a[0])),
                               np.repeat(np.arange(num_users), np.diff(b[0]))])
        return _csr(user, np.concatenate([a[1], b[1]]), num_users)

    def inputs(self, phase: str) -> tuple[np.ndarray, np.ndarray]:
        """The positives a model sees in `phase`: fit for 'valid', fit + valid for 'test'."""
        if phase == "valid":
            return self.fit
        if phase == "test":
            return self._union(self.fit, self.valid, self.num_users)
        raise ValueError(f"phase must be 'valid' or 'test', got {phase!r}")

    def targets(self, phase: str) -> tuple[np.ndarray, np.ndarray]:
        return {"valid": self.valid, "test": self.test}[phase]

    def rows(self, phase: str) -> Posts:
        """Every user as a row whose input "tags" are the phase's training positives."""
        indptr, items = self.inputs(phase)
        return Posts(np.arange(self.num_users, dtype=np.int32),
                     np.zeros(self.num_users, np.int32), indptr, items)

    def genre_profile(self, phase: str) -> np.ndarray:
        """[U, 19] relative genre frequencies of each user's training positives."""
        indptr, items = self.inputs(phase)
        user = np.repeat(np.arange(self.num_users), np.diff(indptr))
        counts = np.zeros((self.num_users, self.item_genres.shape[1]), np.float64)
        np.add.at(counts, user, self.item_genres[items])
        totals = counts.sum(1, keepdims=True)
        return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0).astype(np.float32)

    def statistics(self) -> dict[str, int]:
        sizes = {name: int(len(getattr(self, name)[1])) for name in ("fit", "valid", "test")}
        return {"users": self.num_users, "items": self.num_items, **sizes,
                "test_users": int((np.diff(self.test[0]) > 0).sum()),
                "valid_users": int((np.diff(self.valid[0]) > 0).sum())}

    def fingerprint(self) -> str:
        digest = hashlib.sha256(f"{self.num_users},{self.num_items},{self.fold},{self.seed}".encode())
        for array in (*self.fit, *self.valid, *self.test, self.user_profile):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def user_profile(users: pd.DataFrame, features, user_ids: np.ndarray) -> np.ndarray:
    """One-hot profile [len(user_ids), F] of the requested features, in their order."""
    unknown = [f for f in features if f not in USER_FEATURES]
    if unknown:
        raise ValueError(f"unknown user features {unknown}; choose from {USER_FEATURES}")
    table = users.set_index("user").loc[user_ids]
    blocks = []
    for feature in features:
        if feature == "id":
            codes, width = np.arange(len(user_ids)), len(user_ids)
        elif feature == "gender":
            codes, width = (table["gender"] == "F").to_numpy().astype(int), 2
        elif feature == "age":
            codes, width = np.searchsorted(AGE_BOUNDS, table["age"].to_numpy(), side="right"), len(AGE_BOUNDS) + 1
        else:
            codes, vocabulary = pd.factorize(table["occupation"], sort=True)
            width = len(vocabulary)
        blocks.append(np.eye(width, dtype=np.float32)[codes])
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(user_ids), 0), np.float32)


def fold_split(data: MovieLens100K, fold: int, *, user_features=(), valid_fraction: float = 0.1,
               min_positives: int = 2, seed: int = 0) -> ItemSplit:
    """The binarized fold `fold` (1–5) with a seeded per-user validation hold-out."""
    if fold not in data.folds:
        raise ValueError(f"fold must be one of {sorted(data.folds)}, got {fold}")
    if not 0 <= valid_fraction < 1:
        raise ValueError(f"valid_fraction must lie in [0, 1), got {valid_fraction}")
    user_ids = np.sort(data.users["user"].to_numpy())
    item_ids = np.sort(data.items["item"].to_numpy())
    num_users, num_items = len(user_ids), len(item_ids)
    base, test = data.folds[fold]

    def positives(frame):
        frame = frame[frame["rating"] >= POSITIVE]
        return (np.searchsorted(user_ids, frame["user"].to_numpy()),
                np.searchsorted(item_ids, frame["item"].to_numpy()))

    user, item = positives(base)
    rng = np.random.default_rng(seed)
    counts = np.bincount(user, minlength=num_users)
    # Per user, hold out ceil(fraction · n) random positives when n ≥ min_positives.
    held = np.zeros(len(user), bool)
    if valid_fraction > 0:
        order = np.lexsort((rng.random(len(user)), user))
        rank = np.arange(len(user)) - np.repeat(np.cumsum(counts) - counts, counts)
        take = np.where(counts >= min_positives, np.ceil(valid_fraction * counts), 0)
        held[order] = rank < take[user[order]]
    test_user, test_item = positives(test)
    genres = data.items.set_index("item").loc[item_ids, list(ML100K_GENRES)].to_numpy(np.float32)
    return ItemSplit(
        num_users=num_users, num_items=num_items,
        fit=_csr(user[~held], item[~held], num_users),
        valid=_csr(user[held], item[held], num_users),
        test=_csr(test_user, test_item, num_users),
        user_profile=user_profile(data.users, tuple(user_features), user_ids),
        item_genres=genres, fold=fold, seed=seed)
