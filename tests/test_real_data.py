"""The real data sets against the paper's Table 1 and the official files.

Runs only when DAEPTR_DATA names a folder holding `hetrec2011-lastfm-2k/`, `ml-10m/` and
`ml-100k/` (the official files). Nothing is downloaded and the user's cache is not read.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest

from daeptr.data.datasets import load_ml100k, load_tags, locate, raw_statistics
from daeptr.data.pcore import p_core
from daeptr.data.splits import TEST, VALID, leave_last_tag_out

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not os.environ.get("DAEPTR_DATA"),
        reason="real-data test: set DAEPTR_DATA to the folder holding the official "
        "hetrec2011-lastfm-2k/, ml-10m/ and ml-100k/ files",
    ),
    pytest.mark.usefixtures("real_data_env"),
]


def _isolated(tmp_path_factory):
    """A MonkeyPatch for module-scoped fixtures: keeps DAEPTR_DATA, isolates the cache."""
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("real")
    mp.setenv("DAEPTR_CACHE", str(tmp / "cache"))
    mp.setenv("XDG_CACHE_HOME", str(tmp / "xdg"))
    mp.setenv("HOME", str(tmp / "home"))
    mp.setattr("urllib.request.urlopen", lambda *a, **k: pytest.fail("network used"))
    return mp


@pytest.fixture(scope="module")
def lastfm(tmp_path_factory):
    mp = _isolated(tmp_path_factory)
    try:
        yield load_tags("lastfm", download=False)
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def lastfm_core(lastfm):
    return p_core(lastfm, 5)


def test_data_comes_from_DAEPTR_DATA():
    root = pathlib.Path(os.environ["DAEPTR_DATA"])
    for name, folder in (("lastfm", "hetrec2011-lastfm-2k"), ("ml10m", "ml-10m"), ("ml100k", "ml-100k")):
        assert locate(name, download=False) in (root / folder, root)


def test_lastfm_table1(lastfm):
    assert raw_statistics(lastfm) == {
        "users": 1892, "items": 12523, "tags": 9749, "assignments": 186479,
    }
    # Facts of the official file: its last line and its negative timestamps.
    assert lastfm.iloc[-1].tolist() == [2100, 16437, 3335, 1277935200000]
    assert int(lastfm["timestamp"].min()) == -428720400000
    assert int((lastfm["timestamp"] < 0).sum()) == 4


def test_ml10m_table1():
    tags = load_tags("ml10m", download=False)
    assert raw_statistics(tags) == {"users": 4009, "items": 7601, "tags": 16529, "assignments": 95580}
    assert tags.iloc[0].tolist() == [15, 4973, "excellent!", 1215184630]
    assert tags.iloc[-1].tolist() == [71556, 7438, "Western", 1188263589]
    assert tags["tag"].str.lower().nunique() == 15240  # case is what makes 16,529
    assert ":-)" in set(tags["tag"])


def test_ml100k():
    data = load_ml100k(download=False)
    assert len(data.ratings) == 100000
    assert data.ratings["user"].nunique() == 943 and data.ratings["item"].nunique() == 1682
    assert len(data.users) == 943 and len(data.items) == 1682
    assert sorted(data.ratings["rating"].unique().tolist()) == [1, 2, 3, 4, 5]
    assert sorted(data.folds) == [1, 2, 3, 4, 5]
    keys = lambda t: set(zip(t["user"].tolist(), t["item"].tolist()))
    all_keys = keys(data.ratings)
    test_keys = set()
    for k, (base, test) in data.folds.items():
        assert (len(base), len(test)) == (80000, 20000), k
        assert keys(base) | keys(test) == all_keys and not keys(base) & keys(test)
        test_keys |= keys(test)
    assert test_keys == all_keys  # the five test folds cover u.data


def test_lastfm_5core_is_a_fixed_point(lastfm, lastfm_core):
    core, rounds = lastfm_core
    assert rounds >= 1 and len(core) < len(lastfm)
    for column in ("user", "item", "tag"):
        assert core[column].value_counts().min() >= 5, column
    again, rounds_again = p_core(core, 5)
    assert rounds_again == 0 and len(again) == len(core)


def test_lastfm_split(lastfm_core):
    core, _ = lastfm_core
    split = leave_last_tag_out(core, seed=0)
    stats = split.statistics()
    assert stats["assignments"] == len(core)
    assert stats["posts"] == len(core.groupby(["user", "item"]))
    assert stats["test_posts"] == stats["posts"]
    assert 0 < stats["valid_posts"] <= stats["posts"]
    sizes = np.diff(split.indptr)
    assert stats["valid_posts"] == int((sizes >= 2).sum())  # the default rule: 2+ tags
    strict = leave_last_tag_out(core, seed=0, valid_min_tags=3).statistics()
    assert strict["valid_posts"] == int((sizes >= 3).sum()) < stats["valid_posts"]
    assert (split.role == TEST).sum() == len(split.eval_posts("test"))
    assert (split.role == VALID).sum() == len(split.eval_posts("valid"))
    raw = raw_statistics(core)
    assert (stats["users"], stats["items"], stats["tags"]) == (raw["users"], raw["items"], raw["tags"])
