"""Model registry: name → Keras model class. Drivers build models only through here."""

from daeptr.models.dae_ptr import DAEPTR

REGISTRY = {"dae_ptr": DAEPTR}


def get(name: str):
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(REGISTRY)}") from None
