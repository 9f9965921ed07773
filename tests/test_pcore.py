"""p-core filtering on hand-made folksonomies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from daeptr.data.pcore import EmptyCoreError, p_core

COLUMNS = ["user", "item", "tag", "timestamp"]


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS).astype("int64")


# A 2-core: every user, item and tag occurs exactly twice.
SQUARE = [(1, 1, 1, 10), (1, 2, 2, 11), (2, 1, 2, 12), (2, 2, 1, 13)]


def assert_min_count(core: pd.DataFrame, p: int):
    for column in ("user", "item", "tag"):
        assert core[column].value_counts().min() >= p, column


def test_fixed_point_is_unchanged():
    data = frame(SQUARE)
    core, rounds = p_core(data, 2)
    assert rounds == 0
    pd.testing.assert_frame_equal(core, data)


def test_p1_keeps_everything():
    data = frame(SQUARE + [(9, 9, 9, 99)])
    core, rounds = p_core(data, 1)
    assert rounds == 0
    pd.testing.assert_frame_equal(core, data)


def test_cascade_needs_several_rounds():
    # Round 1: tag 9 (and item 3) occur once      -> A goes.
    # Round 2: user 3 is left with B only         -> B goes.
    # Round 3: item 4 is left with C only         -> C goes.
    # Round 4: user 4 is left with D only         -> D goes.
    # Round 5: nothing changes; SQUARE and E survive.
    A, B, C, D, E = (3, 3, 9, 20), (3, 4, 1, 21), (4, 4, 2, 22), (4, 1, 1, 23), (1, 1, 2, 24)
    data = frame([SQUARE[0], A, SQUARE[1], B, C, SQUARE[2], D, SQUARE[3], E])
    core, rounds = p_core(data, 2)
    assert rounds == 4
    expected = frame([SQUARE[0], SQUARE[1], SQUARE[2], SQUARE[3], E])
    pd.testing.assert_frame_equal(core, expected)  # order and other columns are kept
    assert_min_count(core, 2)
    again, rounds = p_core(core, 2)
    assert rounds == 0
    pd.testing.assert_frame_equal(again, core)


def test_removal_is_simultaneous_within_a_round():
    # Both rare rows go in the same round, and the survivors are then a fixed point.
    data = frame(SQUARE + [(5, 5, 5, 0), (6, 6, 6, 0)])
    core, rounds = p_core(data, 2)
    assert rounds == 1
    pd.testing.assert_frame_equal(core, frame(SQUARE))


def test_p3_on_a_denser_folksonomy():
    # Users 1-3 x items 1-3 x tag (u + i) % 3: every user, item and tag occurs 3 times.
    dense = [(u, i, (u + i) % 3, 0) for u in (1, 2, 3) for i in (1, 2, 3)]
    extra = [(1, 4, 0, 0), (1, 5, 1, 0), (4, 1, 2, 0)]  # items 4, 5 and user 4 are rare
    data = frame(dense + extra)
    core, rounds = p_core(data, 3)
    assert rounds == 1
    pd.testing.assert_frame_equal(core, frame(dense))
    assert_min_count(core, 3)


def test_random_folksonomy_result_is_a_fixed_point_and_maximal():
    rng = np.random.default_rng(0)
    n = 3000
    data = pd.DataFrame({
        "user": rng.zipf(1.6, n) % 80, "item": rng.zipf(1.6, n) % 150,
        "tag": rng.zipf(1.6, n) % 60, "timestamp": np.arange(n),
    }).drop_duplicates(["user", "item", "tag"], ignore_index=True)
    core, rounds = p_core(data, 3)
    assert rounds >= 1 and 0 < len(core) < len(data)
    assert_min_count(core, 3)
    again, rounds_again = p_core(core, 3)
    assert rounds_again == 0
    pd.testing.assert_frame_equal(again, core)
    # The core is unique, so removing one rare entity at a time must give the same rows.
    pd.testing.assert_frame_equal(core, reference_core(data, 3))
    assert core["timestamp"].is_monotonic_increasing  # input order kept


def reference_core(data: pd.DataFrame, p: int) -> pd.DataFrame:
    """A slow p-core: drops the rows of one rare entity at a time until none is rare."""
    rows = data
    while True:
        for column in ("user", "item", "tag"):
            counts = rows[column].value_counts()
            rare = counts[counts < p]
            if len(rare):
                rows = rows[rows[column] != rare.index[0]]
                break
        else:
            return rows.reset_index(drop=True)


def test_columns_argument():
    # Only users and tags must reach p: item 7 occurs once but stays.
    data = frame([(1, 7, 1, 0), (1, 8, 1, 0), (2, 8, 2, 0)])
    core, rounds = p_core(data, 2, columns=("user", "tag"))
    assert rounds == 1
    pd.testing.assert_frame_equal(core, frame([(1, 7, 1, 0), (1, 8, 1, 0)]))


def test_empty_core():
    with pytest.raises(EmptyCoreError, match="2-core is empty"):
        p_core(frame([(1, 1, 1, 0), (1, 2, 2, 0), (2, 1, 3, 0)]), 2)
    # no entity of SQUARE reaches 3
    with pytest.raises(EmptyCoreError):
        p_core(frame(SQUARE), 3)
    assert issubclass(EmptyCoreError, ValueError)


@pytest.mark.parametrize("p", [0, -1, 2.5, True, False, "2", None, 2.0])
def test_invalid_p(p):
    with pytest.raises(ValueError, match="p-core level"):
        p_core(frame(SQUARE), p)
