"""Data sets as the drivers name them, loaded into tasks of `daeptr.training`.

  lastfm-core5, lastfm-core10, ml10m-core5, ml10m-core10   tag recommendation (TagTask)
  ml100k                                                   top-N, all five folds (TopNTask)
  ml100k-fold3                                             top-N, one fold
"""

from __future__ import annotations

import dataclasses
import functools

from absl import flags

from experiments import flags as common

USER_FEATURES = flags.DEFINE_list(
    "user_features", ["id", "gender"],
    "ML-100K: user profile features embedded by CDDAE, of id (the user node), gender, age, "
    "occupation (the CDDAE paper: id in Experiment 1, id and gender in Experiments 2–4).")
VALID_FRACTION = flags.DEFINE_float("valid_fraction", 0.1, "ML-100K: share of each user's base "
                                    "positives held out for validation.", lower_bound=0, upper_bound=0.9)

TAG_SETS = ("lastfm", "ml10m")


def _check_user_features(values):
    from daeptr.data.ml100k import USER_FEATURES as KNOWN

    unknown = [v for v in values if v not in KNOWN]
    if unknown:
        raise flags.ValidationError(f"--user_features: unknown {unknown}; choose from {list(KNOWN)}")
    return True


flags.register_validator("user_features", _check_user_features)


@dataclasses.dataclass
class Part:
    family: str  # what results are averaged over: `lastfm-core5`, `ml100k`
    label: str  # one split: `lastfm-core5`, `ml100k-fold2`
    task: object
    sizes: dict  # the model's size arguments
    info: dict  # split settings recorded with each run


def parse(name: str) -> tuple[str, int | None, int | None]:
    """(data set, core, fold) of a name; ValueError naming what is wrong."""
    if name == "ml100k":
        return "ml100k", None, None
    if name.startswith("ml100k-fold") and name[len("ml100k-fold"):] in ("1", "2", "3", "4", "5"):
        return "ml100k", None, int(name[len("ml100k-fold"):])
    dataset, _, core = name.partition("-core")
    if dataset in TAG_SETS and core.isdigit() and int(core) >= 1:
        return dataset, int(core), None
    raise ValueError(f"{name!r} is not one of lastfm-coreP, ml10m-coreP, ml100k, ml100k-foldK (K in 1–5)")


@functools.lru_cache(maxsize=None)
def _ml100k():
    from daeptr.data import datasets

    return datasets.load_ml100k(common.DATA_DIR.value, download=common.DOWNLOAD.value)


def load(name: str) -> list[Part]:
    dataset, core, fold = parse(name)
    if dataset in TAG_SETS:
        from daeptr.training import TagTask

        split = common.load_split(dataset, core)
        return [Part(name, name, TagTask(split),
                     dict(num_users=split.num_users, num_items=split.num_items,
                          num_tags=split.num_tags),
                     {"tie_break": split.tie_break, "split_seed": split.seed})]
    from daeptr.data import ml100k
    from daeptr.topn_task import TopNTask

    parts = []
    for k in [fold] if fold else range(1, 6):
        split = ml100k.fold_split(_ml100k(), k, user_features=tuple(USER_FEATURES.value),
                                  valid_fraction=VALID_FRACTION.value, seed=common.SPLIT_SEED.value)
        parts.append(Part("ml100k", f"ml100k-fold{k}", TopNTask(split),
                          dict(num_users=split.num_users, num_items=split.num_items,
                               profile_dim=split.user_profile.shape[1],
                               item_profile_dim=split.item_genres.shape[1]),
                          {"fold": k, "user_features": ",".join(USER_FEATURES.value),
                           "valid_fraction": VALID_FRACTION.value, "split_seed": split.seed}))
    return parts


def floor_sizes(part: Part) -> dict:
    """Sizes for the count-based floors, whose candidates are "tags": items in top-N."""
    if "num_tags" in part.sizes:
        return part.sizes
    return dict(num_users=part.sizes["num_users"], num_items=1, num_tags=part.sizes["num_items"])
