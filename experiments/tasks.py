"""Data sets as every driver names them, loaded into tasks of `daeptr.training`.

  lastfm-core5, lastfm-core10, ml10m-core5, ml10m-core10   tag recommendation (TagTask)
  ml100k                                                   top-N, all five folds (TopNTask)
  ml100k-fold3                                             top-N, one fold

With `smoke` the same labels load small synthetic data made by the package
(`daeptr.data.synthetic`), so a driver runs its real code path with no data folder.
"""

from __future__ import annotations

import dataclasses
import functools

TAG_SETS = ("lastfm", "ml10m")
LABELS = "lastfm-coreP, ml10m-coreP, ml100k, ml100k-foldK (K in 1–5)"


@dataclasses.dataclass(frozen=True)
class DataOptions:
    """Where data comes from and how it is split (the data flags, as arguments)."""

    data_dir: str | None = None
    download: bool = True
    tie_break: str = "random"
    split_seed: int = 0
    smoke: bool = False
    valid_min_tags: int = 2
    user_features: tuple[str, ...] = ("id", "gender")
    valid_fraction: float = 0.1


@dataclasses.dataclass
class Part:
    family: str  # what results are averaged over: `lastfm-core5`, `ml100k`
    label: str  # one split: `lastfm-core5`, `ml100k-fold2`
    task: object
    sizes: dict  # the model's size arguments
    info: dict  # split settings recorded with each run

    @property
    def fingerprint(self) -> str:
        return self.task.fingerprint()


def parse(label: str) -> tuple[str, int | None, int | None]:
    """(data set, core, fold) of a label; ValueError naming what is wrong."""
    if label == "ml100k":
        return "ml100k", None, None
    if label.startswith("ml100k-fold") and label[len("ml100k-fold"):] in ("1", "2", "3", "4", "5"):
        return "ml100k", None, int(label[len("ml100k-fold"):])
    dataset, _, core = label.partition("-core")
    if dataset in TAG_SETS and core.isdigit() and int(core) >= 1:
        return dataset, int(core), None
    raise ValueError(f"{label!r} is not one of {LABELS}")


def metric_names(label: str) -> list[str]:
    """The validation metrics a run on `label` logs (`val_…`), known before loading data."""
    from daeptr.evaluate import NS as TAG_NS
    from daeptr.topn import NS as TOPN_NS

    if parse(label)[0] == "ml100k":
        return [f"val_{m}@{n}" for m in ("p", "r", "pu", "ru") for n in TOPN_NS]
    return [f"val_{m}@{n}" for m in ("hit", "ndcg") for n in TAG_NS]


def default_monitor(label: str) -> str:
    return "val_ru@10" if parse(label)[0] == "ml100k" else "val_ndcg@3"


def tag_assignments(dataset: str, options: DataOptions):
    """The raw tag assignments of `lastfm` or `ml10m` (synthetic with `smoke`)."""
    from daeptr.data import datasets, synthetic

    if options.smoke:
        return synthetic.smoke_tags(seed=TAG_SETS.index(dataset))
    return datasets.load_tags(dataset, options.data_dir, download=options.download)


def tag_split(dataset: str, core: int, options: DataOptions, assignments=None):
    """The leave-last-tag-out split of a data set's p-core: load → p-core → split, the one
    way every driver makes it."""
    from daeptr.data import splits

    if assignments is None:
        assignments = tag_assignments(dataset, options)
    return splits.core_split(assignments, core, tie_break=options.tie_break,
                             seed=options.split_seed, valid_min_tags=options.valid_min_tags)


@functools.lru_cache(maxsize=4)
def _ml100k(data_dir, download: bool, smoke: bool):
    from daeptr.data import datasets, synthetic

    return synthetic.synthetic_ml100k() if smoke else datasets.load_ml100k(data_dir, download=download)


def load(label: str, options: DataOptions) -> list[Part]:
    """The parts of a data set label: one split, or the five ML-100K folds."""
    dataset, core, fold = parse(label)
    if dataset in TAG_SETS:
        from daeptr.training import TagTask

        split = tag_split(dataset, core, options)
        return [Part(label, label, TagTask(split),
                     dict(num_users=split.num_users, num_items=split.num_items,
                          num_tags=split.num_tags),
                     {"tie_break": split.tie_break, "split_seed": split.seed,
                      "valid_min_tags": split.valid_min_tags})]
    from daeptr.data import ml100k
    from daeptr.topn_task import TopNTask

    data = _ml100k(options.data_dir, options.download, options.smoke)
    parts = []
    for k in [fold] if fold else range(1, 6):
        split = ml100k.fold_split(data, k, user_features=tuple(options.user_features),
                                  valid_fraction=options.valid_fraction, seed=options.split_seed)
        parts.append(Part("ml100k", f"ml100k-fold{k}", TopNTask(split),
                          dict(num_users=split.num_users, num_items=split.num_items,
                               profile_dim=split.user_profile.shape[1],
                               item_profile_dim=split.item_genres.shape[1]),
                          {"fold": k, "user_features": ",".join(options.user_features),
                           "valid_fraction": options.valid_fraction, "split_seed": split.seed}))
    return parts


def model_sizes(name: str, sizes: dict) -> dict:
    """The size arguments of model `name` on a part of `sizes`: the count-based floors rank
    "tags", which are items in top-N."""
    from experiments.settings import deterministic

    if "num_tags" in sizes or not deterministic(name):
        return sizes
    return dict(num_users=sizes["num_users"], num_items=1, num_tags=sizes["num_items"])


def dummy_sizes(label: str) -> dict:
    """Small sizes of the kind `label` has, for building models to check their settings."""
    if parse(label)[0] == "ml100k":
        return dict(num_users=3, num_items=4, profile_dim=2, item_profile_dim=2)
    return dict(num_users=3, num_items=3, num_tags=4)
