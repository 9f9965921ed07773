"""Leave-last-tag-out split of a folksonomy into training, validation and test posts.

A post is a (user, item) pair with its tags. DAE-PTR §5.2: for each post the assignment with
the latest timestamp is the test tag and the others are the post's training tags. The same
rule applied once more to the training tags gives the validation tag, for posts that keep at
least one other training tag.

Timestamps in Last.fm are mostly day-level, so the latest timestamp is often shared by
several tags of a post. `tie_break="random"` (default) picks among them uniformly with a
seeded generator; `tie_break="tag_id"` takes the highest tag id, which is also the files'
row order — and holds out the same tag of a user post after post (see BUILD_NOTES.md).

The result is compact: int32 ids, a CSR list of each post's tags and a role per tag
(`FIT` = training input in both phases, `VALID` = validation target, `TEST` = test target).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Literal

import numpy as np
import pandas as pd

from daeptr.data.datasets import DataIntegrityError, encode

FIT, VALID, TEST = 0, 1, 2
TIE_BREAKS = ("random", "tag_id")
PHASES = ("valid", "test")
Phase = Literal["valid", "test"]


@dataclasses.dataclass(frozen=True)
class Posts:
    """A batch-ready view of posts: ids, the input tags (CSR) and an optional target tag."""

    user: np.ndarray  # int32 [P]
    item: np.ndarray  # int32 [P]
    indptr: np.ndarray  # int64 [P + 1]; the input tags of post k are tags[indptr[k]:indptr[k+1]]
    tags: np.ndarray  # int32 [nnz]
    target: np.ndarray | None = None  # int32 [P], the held-out tag

    def __len__(self) -> int:
        return len(self.user)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def padded(self, pad: int = -1, width: int | None = None) -> np.ndarray:
        """The input tags as an int32 [P, width] matrix padded with `pad`."""
        lengths = self.lengths
        width = int(lengths.max(initial=0)) if width is None else width
        out = np.full((len(self), width), pad, dtype=np.int32)
        rows = np.repeat(np.arange(len(self)), lengths)
        cols = np.arange(len(self.tags)) - np.repeat(self.indptr[:-1], lengths)
        out[rows, cols] = self.tags
        return out


@dataclasses.dataclass(frozen=True)
class TagSplit:
    """Every post of a core with the role of each of its tags."""

    user: np.ndarray  # int32 [P]
    item: np.ndarray  # int32 [P]
    indptr: np.ndarray  # int64 [P + 1]
    tag: np.ndarray  # int32 [N], each post's tags in time order (held-out ones last)
    role: np.ndarray  # int8 [N]: FIT, VALID or TEST
    last_tied: np.ndarray  # bool [P]: several tags share the post's latest timestamp
    num_users: int
    num_items: int
    num_tags: int
    tie_break: str
    seed: int
    valid_min_tags: int = 2  # posts of at least this many tags give a validation tag

    @property
    def num_posts(self) -> int:
        return len(self.user)

    def _select(self, input_roles: tuple[int, ...], target_role: int | None) -> Posts:
        post_of = np.repeat(np.arange(self.num_posts), np.diff(self.indptr))
        is_input = np.isin(self.role, input_roles)
        lengths = np.bincount(post_of[is_input], minlength=self.num_posts)
        if target_role is None:
            # Training posts: the auto-encoder reconstructs its input, so a post without
            # input tags carries no signal and is left out.
            keep = lengths > 0
            target = None
        else:
            has_target = self.role == target_role
            keep = np.bincount(post_of[has_target], minlength=self.num_posts) > 0
            target_of = np.full(self.num_posts, -1, dtype=np.int32)
            target_of[post_of[has_target]] = self.tag[has_target]
            target = target_of[keep]
        chosen = is_input & keep[post_of]
        indptr = np.concatenate([[0], np.cumsum(lengths[keep])]).astype(np.int64)
        return Posts(self.user[keep], self.item[keep], indptr, self.tag[chosen], target)

    def train_posts(self, phase: Phase) -> Posts:
        """Training posts: in phase 'valid' without the validation tags, in 'test' with them."""
        _check_phase(phase)
        return self._select((FIT,) if phase == "valid" else (FIT, VALID), None)

    def eval_posts(self, phase: Phase) -> Posts:
        """Evaluation posts of a phase: input = that phase's training tags, target = held out.

        Phase 'test' keeps every post, also those whose only tag is the test tag (empty input).
        """
        _check_phase(phase)
        if phase == "valid":
            return self._select((FIT,), VALID)
        return self._select((FIT, VALID), TEST)

    def statistics(self) -> dict[str, int]:
        sizes = np.diff(self.indptr)
        return {
            "users": self.num_users,
            "items": self.num_items,
            "tags": self.num_tags,
            "assignments": int(len(self.tag)),
            "posts": self.num_posts,
            "test_posts": int((self.role == TEST).sum()),
            "valid_posts": int((self.role == VALID).sum()),
            "single_tag_posts": int((sizes == 1).sum()),
            "tied_posts": int(self.last_tied.sum()),
        }

    # ---- persistence ---------------------------------------------------------------

    def _arrays(self) -> dict[str, np.ndarray]:
        return {f: getattr(self, f) for f in ("user", "item", "indptr", "tag", "role", "last_tied")}

    def _meta(self) -> dict:
        return {f: getattr(self, f)
                for f in ("num_users", "num_items", "num_tags", "tie_break", "seed", "valid_min_tags")}

    def fingerprint(self) -> str:
        """SHA-256 of the split's content: two runs with equal fingerprints used the same split."""
        digest = hashlib.sha256(json.dumps(self._meta(), sort_keys=True).encode())
        for name, array in sorted(self._arrays().items()):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def save(self, path: str | os.PathLike) -> str:
        """Writes the split to an .npz file and returns its fingerprint."""
        fingerprint = self.fingerprint()
        meta = json.dumps({**self._meta(), "fingerprint": fingerprint})
        tmp = os.fspath(path) + ".tmp.npz"
        np.savez_compressed(tmp, meta=np.array(meta), **self._arrays())
        os.replace(tmp, path)
        return fingerprint

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TagSplit":
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in data.files if k != "meta"}
        stored = meta.pop("fingerprint")
        split = cls(**arrays, **meta)
        if split.fingerprint() != stored:
            raise DataIntegrityError(
                f"{os.fspath(path)}: content fingerprint {split.fingerprint()} differs from the "
                f"stored {stored}; the file was modified or truncated"
            )
        return split


def _check_phase(phase: str) -> None:
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")


def leave_last_tag_out(
    assignments: pd.DataFrame, *, tie_break: str = "random", seed: int = 0,
    valid_min_tags: int = 2,
) -> TagSplit:
    """Splits tag assignments (user, item, tag, timestamp) into a TagSplit.

    Ids are re-encoded to contiguous int32 in sorted order of the raw ids, so `tag_id` tie
    breaking follows the raw tag ids (Last.fm's file order). Posts of `valid_min_tags` or
    more tags give a validation tag: with 3 every validation post keeps an input tag; with 2
    a 2-tag post validates from an empty input, as a 1-tag post is tested.
    """
    if valid_min_tags not in (2, 3):
        raise ValueError(f"valid_min_tags must be 2 or 3, got {valid_min_tags!r}")
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")
    if assignments.empty:
        raise ValueError("cannot split an empty set of tag assignments")
    user, _ = encode(assignments["user"])
    item, _ = encode(assignments["item"])
    tag, _ = encode(assignments["tag"])
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "user": user,
        "item": item,
        "tag": tag,
        "timestamp": assignments["timestamp"].to_numpy(),
        # Secondary key among equal timestamps: the later key is the held-out tag.
        "tie": rng.random(len(assignments)) if tie_break == "random" else tag,
    })
    frame = frame.sort_values(["user", "item", "timestamp", "tie"], kind="stable", ignore_index=True)
    post = frame.groupby(["user", "item"], sort=False).ngroup().to_numpy()
    from_end = frame.groupby(post).cumcount(ascending=False).to_numpy()
    sizes = np.bincount(post)
    role = np.full(len(frame), FIT, dtype=np.int8)
    role[from_end == 0] = TEST
    role[(from_end == 1) & (sizes[post] >= valid_min_tags)] = VALID

    latest = frame.groupby(post)["timestamp"].transform("max").to_numpy()
    last_tied = np.bincount(post, weights=frame["timestamp"].to_numpy() == latest) >= 2
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return TagSplit(
        user=frame["user"].to_numpy(np.int32)[first],
        item=frame["item"].to_numpy(np.int32)[first],
        indptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        tag=frame["tag"].to_numpy(np.int32),
        role=role,
        last_tied=last_tied,
        num_users=int(user.max()) + 1,
        num_items=int(item.max()) + 1,
        num_tags=int(tag.max()) + 1,
        tie_break=tie_break,
        seed=int(seed),
        valid_min_tags=valid_min_tags,
    )


def core_split(assignments: pd.DataFrame, core: int, *, tie_break: str = "random",
               seed: int = 0, valid_min_tags: int = 2) -> TagSplit:
    """The leave-last-tag-out split of the p-core of `assignments`."""
    from daeptr.data.pcore import p_core

    return leave_last_tag_out(p_core(assignments, core)[0], tie_break=tie_break, seed=seed,
                              valid_min_tags=valid_min_tags)


def load_tag_split(dataset: str, core: int, *, data_dir=None, download: bool = True,
                   tie_break: str = "random", seed: int = 0, valid_min_tags: int = 2) -> TagSplit:
    """Load → p-core → split: the one way every driver makes a tag split of a data set."""
    from daeptr.data.datasets import load_tags

    return core_split(load_tags(dataset, data_dir, download=download), core,
                      tie_break=tie_break, seed=seed, valid_min_tags=valid_min_tags)
