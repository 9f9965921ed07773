"""Model registry: name → (Keras model class, fixed arguments). Drivers build models only
through `build`, which hands each model its training posts (`TagRecommender.from_posts`)."""

from __future__ import annotations

import inspect

from daeptr.models.abnt import ABNT
from daeptr.models.base import PRECISIONS, TagRecommender, dtype_policy
from daeptr.models.cdae import CDAE
from daeptr.models.cddae import CDDAE
from daeptr.models.contractive import ContractiveDAEPTR
from daeptr.models.dae_ptr import DAEPTR
from daeptr.models.ease import EASE
from daeptr.models.nltf import NLTF
from daeptr.models.pitf import PITF
from daeptr.models.popularity import Popularity
from daeptr.models.stacked import StackedDAEPTR
from daeptr.models.variational import VariationalDAEPTR

# The floors are one class with a `kind`; each kind is its own row of the tables.
REGISTRY = {
    "dae_ptr": (DAEPTR, {}),
    "pitf": (PITF, {}),
    "nltf": (NLTF, {}),
    "abnt": (ABNT, {}),
    # Only the mix uses α; fixing it elsewhere keeps it out of those models' settings.
    "mp": (Popularity, {"kind": "global", "alpha": 0.5}),
    "mp_u": (Popularity, {"kind": "user", "alpha": 0.5}),
    "mp_i": (Popularity, {"kind": "item", "alpha": 0.5}),
    "mp_ui": (Popularity, {"kind": "user_item"}),
    "cooc": (Popularity, {"kind": "cooc", "alpha": 0.5}),
    # Beyond the paper (issue: its future work and modern auto-encoders).
    # The multinomial likelihood as its own entry, so that it is searched and committed apart.
    "multinomial_dae_ptr": (DAEPTR, {"likelihood": "multinomial"}),
    "stacked_dae_ptr": (StackedDAEPTR, {}),
    "contractive_dae_ptr": (ContractiveDAEPTR, {}),
    "variational_dae_ptr": (VariationalDAEPTR, {}),
    "ease": (EASE, {}),
    # Top-N item recommendation (CDDAE paper); a row is a user, its "tags" are items.
    "dae": (CDAE, {"user_node": False}),
    "cdae": (CDAE, {"user_node": True}),
    "cddae": (CDDAE, {}),
}
SIZES = ("num_users", "num_items", "num_tags", "profile_dim", "item_profile_dim")


def get(name: str):
    """(class, fixed arguments) of a registered model."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(REGISTRY)}") from None


def hyperparameters(name: str) -> dict:
    """The model's tunable arguments and their defaults (sizes and fixed arguments excluded)."""
    cls, fixed = get(name)
    found = {}
    # A variant (StackedDAEPTR) passes its parent's arguments on through **kwargs: walk up
    # to the base class, the subclass' default first.
    for klass in cls.__mro__[: cls.__mro__.index(TagRecommender)]:
        if "__init__" in vars(klass):
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.default is not inspect.Parameter.empty:
                    found.setdefault(p.name, p.default)
    return {k: v for k, v in found.items() if k not in (*SIZES, *fixed, "seed")}


def build(name: str, posts, **arguments):
    """The model `name` from its sizes (num_users, …) and hyper-parameters, prepared from
    its training `posts`."""
    cls, fixed = get(name)
    unknown = set(arguments) - set(hyperparameters(name)) - {"seed", *SIZES}
    if unknown:
        raise ValueError(f"model {name!r} takes no {sorted(unknown)}; its hyper-parameters are "
                         f"{sorted(hyperparameters(name))}")
    return cls.from_posts(posts, **fixed, **arguments)
