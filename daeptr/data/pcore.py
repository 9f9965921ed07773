"""p-core filtering of a folksonomy (Jäschke et al., 2007).

The p-core is the largest subset of the tag assignments in which every user, every item and
every tag occurs in at least p assignments. Removing rare entities can make others rare, so
the filter is applied until nothing changes; the result is a fixed point, hence idempotent.
"""

from __future__ import annotations

import numbers
from typing import Sequence

import pandas as pd


class EmptyCoreError(ValueError):
    """No assignment survives the p-core filter."""


def p_core(
    assignments: pd.DataFrame,
    p: int,
    columns: Sequence[str] = ("user", "item", "tag"),
) -> tuple[pd.DataFrame, int]:
    """Returns the p-core of `assignments` and the number of filtering rounds it took.

    Args:
      assignments: one row per tag assignment, with (at least) `columns`.
      p: minimum number of assignments of every user, item and tag; p ≥ 1.
      columns: the entity columns that must each reach p.

    Raises:
      ValueError: p < 1.
      EmptyCoreError: the core is empty.
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < 1:
        raise ValueError(f"p-core level p must be an integer >= 1, got {p!r}")
    p = int(p)
    core = assignments
    rounds = 0
    while True:
        keep = pd.Series(True, index=core.index)
        for column in columns:
            keep &= core.groupby(column)[column].transform("size") >= p
        if keep.all():
            break
        core = core[keep]
        rounds += 1
    if core.empty:
        raise EmptyCoreError(
            f"the {p}-core is empty: no set of {', '.join(columns)} with at least {p} "
            f"assignments each exists in these {len(assignments)} assignments"
        )
    return core.reset_index(drop=True), rounds
