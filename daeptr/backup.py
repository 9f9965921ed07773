"""Restart after a failure: a run killed mid-fit continues from its last backup and ends
with the numbers an uninterrupted run ends with (`tests/test_backup.py`).

`Backup` writes, after every `every`-th epoch of a fit (at most once per `seconds`,
`Policy`), into its own folder:

  * every variable of the model and of its optimizer, as `epoch-<n>.npz`: the weights,
    Adam's moments and step count, and the seed states of the corruption and of the
    negative sampler (which `model.save_weights` leaves out);
  * the loop's state, `state.json`: the epochs done and what the run loop's stateful
    callbacks hold (the logs of every epoch so far, EarlyStopping's patience count and best
    value, ModelCheckpoint's best value), and EarlyStopping's best weights,
    `best-<epoch>.npz`.

`state.json` is written last and names its files, so a kill at any moment leaves
the previous backup whole. `restore` loads the backup into a compiled model and returns the
epoch to continue from (0: none); the fit then starts there (`initial_epoch`) with the
callbacks' state put back as the fit begins, and with the batches of that epoch: the
training data are re-made and advanced past the passes the earlier process drew
(`skip_passes`). Keras' `BackupAndRestore` keeps the model, the optimizer and the epoch,
but neither the early stopping's state nor the data order, so that a restart there trains
on other batches and may stop at another epoch.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import time

import keras
import numpy as np

# What each stateful callback of the run loop carries across a restart (its on_train_begin
# resets these, so they are put back after it, in `Backup.on_train_begin`).
STATE = {
    "EarlyStopping": ("wait", "best", "best_epoch", "stopped_epoch"),
    "ModelCheckpoint": ("best",),
    "EpochLog": ("rows",),
    "ProgressLog": ("best", "best_epoch"),
}


@dataclasses.dataclass(frozen=True)
class Policy:
    """When a fit backs up: after every `every`-th epoch, once at least `seconds` have passed
    since the fit began or since its last backup (a backup of DAE-PTR on Last.fm, 19M
    variables, takes about 0.3 s on the 2-core CPU, a sixth of an epoch: `seconds` bounds
    that cost without changing any result)."""

    every: int = 1
    seconds: float = 0.0

    def __post_init__(self):
        if self.every < 1:
            raise ValueError(f"backup every must be >= 1 epoch, got {self.every}")
        if not self.seconds >= 0:
            raise ValueError(f"backup seconds must be >= 0, got {self.seconds}")


class Backup(keras.callbacks.Callback):
    """Backs up the fit into `directory` as `policy` says (see the module docstring).

    Place it after the callbacks whose state it carries (`callbacks`: those of them that
    `STATE` names)."""

    def __init__(self, directory, policy: Policy = Policy(), callbacks=()):
        super().__init__()
        self.directory, self.policy = pathlib.Path(directory), policy
        self.callbacks = [c for c in callbacks if type(c).__name__ in STATE]
        self._restored, self._last = None, time.monotonic()

    def restore(self, model) -> int:
        """Loads the backup into `model` (compiled) and returns the epoch to continue from,
        0 when there is none. Call it before `fit`; the callbacks get their state back as
        the fit begins."""
        state = read_state(self.directory)
        if state is None:
            return 0
        model.optimizer.build(model.trainable_variables)  # so that its variables exist
        variables = _variables(model)
        with np.load(self.directory / state["weights"]) as stored:
            if len(stored.files) != len(variables):
                raise ValueError(f"{self.directory / state['weights']} holds "
                                 f"{len(stored.files)} variables; this model has "
                                 f"{len(variables)}: a backup of another model")
            for i, variable in enumerate(variables):
                variable.assign(stored[f"v{i}"])
        self._restored = state
        return state["epoch"]

    @property
    def stopped(self) -> bool:
        """Whether the restored fit had been ended by early stopping."""
        return any(saved.get("stopped_epoch") for saved in (self._restored or {}).get("callbacks", ()))

    def on_train_begin(self, logs=None):
        self._last = time.monotonic()
        if self._restored is None:
            return
        best = None
        if self._restored.get("best"):
            with np.load(self.directory / self._restored["best"]) as stored:
                best = [stored[f"w{i}"] for i in range(len(stored.files))]
        for callback, saved in zip(self.callbacks, self._restored["callbacks"]):
            for name, value in saved.items():
                setattr(callback, name, value)
            if isinstance(callback, keras.callbacks.EarlyStopping):
                callback.best_weights = best

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.policy.every or time.monotonic() - self._last < self.policy.seconds:
            return
        self._last = time.monotonic()
        self.directory.mkdir(parents=True, exist_ok=True)
        previous = read_state(self.directory) or {}
        state = {"epoch": epoch + 1, "weights": f"epoch-{epoch + 1}.npz",
                 "best": previous.get("best"), "callbacks": []}
        np.savez(self.directory / state["weights"],
                 **{f"v{i}": np.asarray(v) for i, v in enumerate(_variables(self.model))})
        for callback in self.callbacks:
            state["callbacks"].append({name: _plain(getattr(callback, name, None))
                                       for name in STATE[type(callback).__name__]})
            weights = getattr(callback, "best_weights", None)
            if isinstance(callback, keras.callbacks.EarlyStopping) and weights is not None:
                # The best weights change only at an improvement: written once per best epoch.
                state["best"] = f"best-{callback.best_epoch + 1}.npz"
                if state["best"] != previous.get("best"):
                    np.savez(self.directory / state["best"],
                             **{f"w{i}": w for i, w in enumerate(weights)})
        tmp = self.directory / "state.json.tmp"
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.directory / "state.json")  # the backup is now this epoch's
        for key in ("weights", "best"):  # what only the replaced backup named
            if previous.get(key) and previous[key] != state[key]:
                (self.directory / previous[key]).unlink(missing_ok=True)


def read_state(directory) -> dict | None:
    path = pathlib.Path(directory) / "state.json"
    return json.loads(path.read_text()) if path.exists() else None


def skip_passes(dataset, epochs: int):
    """`dataset` advanced to where a fit starting at epoch `epochs` finds it in one process.

    A seeded `shuffle(..., reshuffle_each_iteration=True)` takes its next order at every
    new iterator, and Keras' fit makes two iterators of a finite dataset per epoch (one is
    dropped as the epoch ends), so that epoch e trains on order 2e: a restarted fit must
    find 2·epochs orders gone."""
    for _ in range(2 * epochs):
        iter(dataset)
    return dataset


def _variables(model) -> list:
    return [*model.variables, *model.optimizer.variables]


def _plain(value):
    """A JSON value for a callback attribute (NumPy scalars and lists of dicts of them)."""
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
