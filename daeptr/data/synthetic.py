"""Small folksonomies with planted structure, for tests and smoke runs.

Tags fall into `num_groups` topics; every item belongs to one topic and every user prefers
one. A post draws its tags from the item's topic, and with probability `user_share` from the
user's topic instead, so both the item and the user carry signal a model can learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
