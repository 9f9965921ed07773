"""Leave-last-tag-out split on hand-made folksonomies with explicit timestamps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from daeptr.data.datasets import DataIntegrityError
from daeptr.data.splits import FIT, TEST, VALID, Posts, TagSplit, leave_last_tag_out

COLUMNS = ["user", "item", "tag", "timestamp"]


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS).astype("int64")


# Raw ids are encoded in sorted order: user 5->0, 7->1; item 20->0, 30->1; tag 10..13->0..3.
ROWS = [
    (7, 30, 10, 100),
    (7, 30, 11, 300),  # latest of post (7, 30): test
    (7, 30, 12, 200),  # next latest: validation
    (7, 30, 13, 50),
    (7, 20, 10, 5),  # single-tag post
    (5, 30, 12, 7),
    (5, 30, 11, 9),  # two-tag post: test 11, fit 12, no validation
    (5, 20, 10, 1),
    (5, 20, 11, 2),
    (5, 20, 12, 3),
]
# Posts in (user, item) code order, tags in time order, and their roles.
EXPECTED_POSTS = [
    # (user, item, tags, roles)
    (0, 0, [0, 1, 2], [FIT, VALID, TEST]),  # (5, 20)
    (0, 1, [2, 1], [FIT, TEST]),  # (5, 30)
    (1, 0, [0], [TEST]),  # (7, 20)
    (1, 1, [3, 0, 2, 1], [FIT, FIT, VALID, TEST]),  # (7, 30)
]


@pytest.fixture(params=["random", "tag_id"])
def split(request) -> TagSplit:
    # Without ties the tie-break rule cannot matter. The hand-made layout below is the
    # 3-tag validation rule's; the default rule's is tested on its own further down.
    return leave_last_tag_out(frame(ROWS), tie_break=request.param, seed=3, valid_min_tags=3)


def csr(posts: Posts) -> list[list[int]]:
    return [posts.tags[a:b].tolist() for a, b in zip(posts.indptr[:-1], posts.indptr[1:])]


def posts_of(split: TagSplit):
    for k in range(split.num_posts):
        a, b = split.indptr[k], split.indptr[k + 1]
        yield split.tag[a:b], split.role[a:b]


def test_split_layout(split):
    assert split.user.tolist() == [0, 0, 1, 1]
    assert split.item.tolist() == [0, 1, 0, 1]
    assert split.indptr.tolist() == [0, 3, 5, 6, 10]
    assert split.tag.tolist() == sum((p[2] for p in EXPECTED_POSTS), [])
    assert split.role.tolist() == sum((p[3] for p in EXPECTED_POSTS), [])
    assert split.last_tied.tolist() == [False] * 4
    assert (split.num_users, split.num_items, split.num_tags) == (2, 2, 4)
    assert split.num_posts == 4
    assert split.user.dtype == np.int32 and split.item.dtype == np.int32
    assert split.tag.dtype == np.int32 and split.indptr.dtype == np.int64
    assert split.role.dtype == np.int8 and split.last_tied.dtype == bool


def test_split_does_not_depend_on_row_order(split):
    shuffled = frame(ROWS).sample(frac=1.0, random_state=1)
    other = leave_last_tag_out(shuffled, tie_break=split.tie_break, seed=split.seed,
                                valid_min_tags=split.valid_min_tags)
    for name in ("user", "item", "indptr", "tag", "role", "last_tied"):
        np.testing.assert_array_equal(getattr(other, name), getattr(split, name))


def test_roles_partition_each_post(split):
    for tags, roles in posts_of(split):
        assert (roles == TEST).sum() == 1
        assert (roles == VALID).sum() == (1 if len(tags) >= 3 else 0)
        assert (roles == FIT).sum() == len(tags) - 1 - (roles == VALID).sum()
        assert len(set(tags.tolist())) == len(tags)  # roles never share a tag
        assert roles[-1] == TEST  # held-out tags come last


def test_eval_posts_test(split):
    posts = split.eval_posts("test")
    assert len(posts) == 4
    assert posts.user.tolist() == [0, 0, 1, 1] and posts.item.tolist() == [0, 1, 0, 1]
    assert csr(posts) == [[0, 1], [2], [], [3, 0, 2]]  # single-tag post: empty input
    assert posts.target.tolist() == [2, 1, 0, 1]
    assert posts.lengths.tolist() == [2, 1, 0, 3]
    assert posts.tags.dtype == np.int32 and posts.target.dtype == np.int32


def test_eval_posts_valid(split):
    posts = split.eval_posts("valid")
    assert posts.user.tolist() == [0, 1] and posts.item.tolist() == [0, 1]
    assert csr(posts) == [[0], [3, 0]]  # neither the validation nor the test tag
    assert posts.target.tolist() == [1, 2]


def test_train_posts(split):
    valid = split.train_posts("valid")
    assert valid.user.tolist() == [0, 0, 1] and valid.item.tolist() == [0, 1, 1]
    assert csr(valid) == [[0], [2], [3, 0]]  # the single-tag post has no input: absent
    assert valid.target is None
    test = split.train_posts("test")
    assert test.user.tolist() == [0, 0, 1] and test.item.tolist() == [0, 1, 1]
    assert csr(test) == [[0, 1], [2], [3, 0, 2]]
    assert test.target is None


def test_phase_inputs_exclude_held_out_roles(split):
    post_of = np.repeat(np.arange(split.num_posts), np.diff(split.indptr))
    role_of = {(int(post_of[n]), int(split.tag[n])): int(split.role[n]) for n in range(len(split.tag))}
    key = {(int(u), int(i)): k for k, (u, i) in enumerate(zip(split.user, split.item))}

    def roles(posts: Posts):
        return {role_of[key[(int(u), int(i))], t]
                for u, i, ts in zip(posts.user, posts.item, csr(posts)) for t in ts}

    assert roles(split.train_posts("valid")) == {FIT}
    assert roles(split.eval_posts("valid")) == {FIT}
    assert roles(split.train_posts("test")) == {FIT, VALID}
    assert roles(split.eval_posts("test")) == {FIT, VALID}
    for posts, role in ((split.eval_posts("valid"), VALID), (split.eval_posts("test"), TEST)):
        assert all(role_of[key[(int(u), int(i))], int(t)] == role
                   for u, i, t in zip(posts.user, posts.item, posts.target))


def test_statistics(split):
    assert split.statistics() == {
        "users": 2, "items": 2, "tags": 4, "assignments": 10, "posts": 4,
        "test_posts": 4, "valid_posts": 2, "single_tag_posts": 1, "tied_posts": 0,
    }


def test_padded(split):
    posts = split.eval_posts("test")
    np.testing.assert_array_equal(
        posts.padded(), [[0, 1, -1], [2, -1, -1], [-1, -1, -1], [3, 0, 2]]
    )
    wide = posts.padded(pad=99, width=4)
    assert wide.dtype == np.int32
    np.testing.assert_array_equal(wide, [[0, 1, 99, 99], [2, 99, 99, 99], [99] * 4, [3, 0, 2, 99]])
    for row, tags in zip(split.train_posts("test").padded(), csr(split.train_posts("test"))):
        assert row[: len(tags)].tolist() == tags and (row[len(tags):] == -1).all()


def test_padded_empty():
    empty = Posts(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(1, np.int64), np.zeros(0, np.int32))
    assert empty.padded().shape == (0, 0)


# ---- ties -----------------------------------------------------------------------------


TIED = [
    (1, 1, 10, 5), (1, 1, 13, 9), (1, 1, 11, 9), (1, 1, 12, 9),  # three tags tied at the latest
    (1, 2, 10, 1), (1, 2, 11, 1), (1, 2, 12, 5),  # tie at an earlier time only: not tied
    (2, 1, 11, 4), (2, 1, 10, 4),  # two tags, both tied
    (2, 2, 12, 3),
]


def test_tie_break_tag_id():  # under the 3-tag validation rule, as hand-computed
    split = leave_last_tag_out(frame(TIED), tie_break="tag_id", valid_min_tags=3)
    assert split.last_tied.tolist() == [True, False, True, False]
    assert split.statistics()["tied_posts"] == 2
    # post (1, 1): tied 11, 12, 13 at t=9 -> test 13 (highest id), validation 12
    assert split.tag[0:4].tolist() == [0, 1, 2, 3] and split.role[0:4].tolist() == [FIT, FIT, VALID, TEST]
    # post (1, 2): no tie at the latest -> test 12, validation: tied 10/11 at t=1 -> 11
    assert split.tag[4:7].tolist() == [0, 1, 2] and split.role[4:7].tolist() == [FIT, VALID, TEST]
    # post (2, 1): 10 and 11 tied -> test 11
    assert split.tag[7:9].tolist() == [0, 1] and split.role[7:9].tolist() == [FIT, TEST]
    assert split.eval_posts("test").target.tolist() == [3, 2, 1, 2]
    # deterministic: the seed does not matter
    other = leave_last_tag_out(frame(TIED).iloc[::-1], tie_break="tag_id", seed=99,
                               valid_min_tags=3)
    np.testing.assert_array_equal(other.tag, split.tag)
    np.testing.assert_array_equal(other.role, split.role)


def test_tie_break_random_only_among_tied():
    for seed in range(20):
        split = leave_last_tag_out(frame(TIED), tie_break="random", seed=seed, valid_min_tags=3)
        targets = split.eval_posts("test").target.tolist()
        assert targets[0] in (1, 2, 3) and targets[1] == 2 and targets[2] in (0, 1) and targets[3] == 2
        valid = split.eval_posts("valid").target.tolist()
        assert valid[0] in (1, 2, 3) and valid[0] != targets[0]
        assert valid[1] in (0, 1)  # post (1, 2): validation among the tags tied at t=1
        assert split.last_tied.tolist() == [True, False, True, False]


def many_tied_posts(n_posts: int = 3000) -> pd.DataFrame:
    """`n_posts` posts, each with tags 0, 1, 2 at the same time, and one earlier tag 3."""
    rows = []
    for post in range(n_posts):
        rows += [(post, 0, 0, 10), (post, 0, 1, 10), (post, 0, 2, 10), (post, 0, 3, 1)]
    return frame(rows)


def test_tie_break_random_is_reproducible_and_uniform():
    data = many_tied_posts()
    a = leave_last_tag_out(data, tie_break="random", seed=1)
    b = leave_last_tag_out(data, tie_break="random", seed=1)
    c = leave_last_tag_out(data, tie_break="random", seed=2)
    for name in ("user", "item", "indptr", "tag", "role", "last_tied"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.fingerprint() == b.fingerprint()
    test_a, test_c = a.eval_posts("test").target, c.eval_posts("test").target
    assert (test_a != test_c).any()
    assert a.fingerprint() != c.fingerprint()
    assert a.last_tied.all()
    for split in (a, c):
        test = split.eval_posts("test").target
        valid = split.eval_posts("valid").target
        assert set(test.tolist()) == {0, 1, 2} and set(valid.tolist()) == {0, 1, 2}
        assert (test != valid).all()
        for tags in (test, valid):
            frequencies = np.bincount(tags, minlength=3) / len(tags)
            np.testing.assert_allclose(frequencies, 1 / 3, atol=0.05)
        # the earlier tag 3 is always the remaining training input
        assert split.eval_posts("valid").padded()[:, 0].tolist() == [3] * len(test)
        pairs = set(zip(test.tolist(), valid.tolist()))
        assert len(pairs) == 6  # every ordered (test, validation) pair occurs


def test_fingerprint_same_without_ties_equal_content():
    a = leave_last_tag_out(frame(ROWS), tie_break="random", seed=1)
    b = leave_last_tag_out(frame(ROWS), tie_break="random", seed=1)
    c = leave_last_tag_out(frame(ROWS), tie_break="tag_id", seed=1)
    assert a.fingerprint() == b.fingerprint()
    assert len(a.fingerprint()) == 64
    assert a.fingerprint() != c.fingerprint()  # the rule is part of the split's identity


# ---- invalid arguments ----------------------------------------------------------------


@pytest.mark.parametrize("tie_break", ["first", "", None, "Random"])
def test_invalid_tie_break(tie_break):
    with pytest.raises(ValueError, match="tie_break"):
        leave_last_tag_out(frame(ROWS), tie_break=tie_break)


@pytest.mark.parametrize("phase", ["train", "", None, "TEST"])
def test_invalid_phase(split, phase):
    for method in (split.train_posts, split.eval_posts):
        with pytest.raises(ValueError, match="phase"):
            method(phase)


def test_empty_assignments():
    with pytest.raises(ValueError, match="empty"):
        leave_last_tag_out(frame([]))


# ---- persistence ----------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    split = leave_last_tag_out(frame(TIED), tie_break="random", seed=7)
    path = tmp_path / "split.npz"
    fingerprint = split.save(path)
    assert fingerprint == split.fingerprint()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["split.npz"]  # no temporary left
    loaded = TagSplit.load(path)
    for name in ("user", "item", "indptr", "tag", "role", "last_tied"):
        a, b = getattr(split, name), getattr(loaded, name)
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype, name
    assert (loaded.num_users, loaded.num_items, loaded.num_tags) == (2, 2, 4)
    assert (loaded.tie_break, loaded.seed) == ("random", 7)
    assert loaded.fingerprint() == fingerprint
    assert loaded.statistics() == split.statistics()


def resave(path, target, *, arrays=None, meta=None):
    """Copies the saved split at `path` to `target`, replacing some arrays or meta fields."""
    with np.load(path) as data:
        content = {k: data[k] for k in data.files}
    stored = json.loads(str(content["meta"]))
    stored.update(meta or {})
    content["meta"] = np.array(json.dumps(stored))
    content.update(arrays or {})
    np.savez_compressed(target, **content)


def test_load_refuses_modified_file(tmp_path):
    split = leave_last_tag_out(frame(ROWS), tie_break="tag_id")
    path = tmp_path / "split.npz"
    split.save(path)
    tag = split.tag.copy()
    tag[0] = 3  # one tag changed, old fingerprint kept in meta
    resave(path, tmp_path / "tag.npz", arrays={"tag": tag})
    with pytest.raises(DataIntegrityError) as info:
        TagSplit.load(tmp_path / "tag.npz")
    assert "tag.npz" in str(info.value) and split.fingerprint() in str(info.value)
    resave(path, tmp_path / "seed.npz", meta={"seed": 1})
    with pytest.raises(DataIntegrityError):
        TagSplit.load(tmp_path / "seed.npz")
    # the untouched copy still loads
    resave(path, tmp_path / "same.npz")
    assert TagSplit.load(tmp_path / "same.npz").fingerprint() == split.fingerprint()


def test_save_overwrites(tmp_path):
    path = tmp_path / "split.npz"
    leave_last_tag_out(frame(TIED), seed=1).save(path)
    second = leave_last_tag_out(frame(ROWS), seed=2)
    second.save(path)
    assert TagSplit.load(path).fingerprint() == second.fingerprint()


def test_by_default_two_tag_posts_validate_from_an_empty_input():
    split = leave_last_tag_out(frame(ROWS), seed=3)
    roles = [r.tolist() for _, r in posts_of(split)]
    assert roles == [[FIT, VALID, TEST], [VALID, TEST], [TEST], [FIT, FIT, VALID, TEST]]
    posts = split.eval_posts("valid")
    assert posts.user.tolist() == [0, 0, 1] and posts.item.tolist() == [0, 1, 1]
    assert csr(posts) == [[0], [], [3, 0]] and posts.target.tolist() == [1, 2, 2]
    # the two-tag post has nothing to train on without its validation tag, all of it after
    assert csr(split.train_posts("valid")) == [[0], [3, 0]]
    assert csr(split.train_posts("test")) == [[0, 1], [2], [3, 0, 2]]
    assert split.statistics()["valid_posts"] == 3
    assert split.valid_min_tags == 2
    rule3 = leave_last_tag_out(frame(ROWS), seed=3, valid_min_tags=3)
    assert rule3.fingerprint() != split.fingerprint()


def test_valid_min_tags_is_checked():
    with pytest.raises(ValueError, match="valid_min_tags must be 2 or 3"):
        leave_last_tag_out(frame(ROWS), valid_min_tags=1)
