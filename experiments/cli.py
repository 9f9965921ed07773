"""How drivers start and fail: checks before any data is loaded or any model trained, and
every error as one line naming the flag, file or line (no traceback, nothing written).

    python -m experiments.X      → `run(main, DEFAULTS)` under `if __name__ == "__main__"`
    tests                        → `call(module, [argv…])`, the same path in-process
"""

from __future__ import annotations

import math
import os
import pathlib

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
_DRIVER = ["experiments"]  # the running driver's module, for `command`
# Where data and results live, and how chatty: not part of what a command computes.
PLACE_FLAGS = {"data_dir", "output_dir", "download", "overwrite", "verbose", "verbosity",
               "backup_every", "backup_seconds"}


class FlagError(ValueError):
    """A flag's value is not allowed; the message starts with the flag."""


def _guarded(main):
    from daeptr.data.datasets import DataIntegrityError, DataNotFoundError
    from daeptr.data.pcore import EmptyCoreError
    from daeptr.data.readers import DataFormatError

    def guarded(argv):
        if len(argv) > 1:
            raise SystemExit(f"error: unexpected arguments: {' '.join(argv[1:])}")
        try:
            check_float_flags()
            if "distribute" in FLAGS and FLAGS["distribute"].value == "multi_worker":
                # Collective ops must be set up before any other TensorFlow work.
                from daeptr import distribute

                distribute.strategy("multi_worker")
            return main(argv)
        except (FlagError, DataNotFoundError, DataIntegrityError, DataFormatError,
                EmptyCoreError) as err:
            raise SystemExit(f"error: {err}") from None
        except (ValueError, OSError) as err:  # raised later by the library or the file system
            raise SystemExit(f"error: {type(err).__name__}: {err}") from None

    return guarded


def _apply(defaults: dict | None) -> None:
    """A preset's values as flag defaults: any flag on the command line still wins, and
    `--helpfull` shows the preset's values."""
    for name, value in (defaults or {}).items():
        FLAGS.set_default(name, value)


def run(main, defaults: dict | None = None) -> None:
    """`app.run(main)` with the driver's preset defaults and one-line errors."""
    _apply(defaults)
    import __main__

    _DRIVER[0] = __main__.__spec__.name if __main__.__spec__ else "experiments"
    app.run(_guarded(main))


def call(module, argv: list[str]) -> None:
    """Runs a driver module in-process as `python -m module argv…` would (for tests); flags
    are restored afterwards. Raises SystemExit with the one-line message on an error."""
    from absl.testing import flagsaver

    with flagsaver.flagsaver():
        FLAGS.unparse_flags()
        _apply(getattr(module, "DEFAULTS", None))
        _DRIVER[0] = module.__name__
        try:
            rest = FLAGS([module.__name__, *argv])
        except flags.Error as err:
            raise SystemExit(f"error: {err}") from None
        _guarded(module.main)(rest)


def command(**pinned) -> str:
    """The running driver as a command line: `pinned` flags first, then every other flag
    given on the command line that shapes the result (not where data or results live)."""
    given = [line for name in sorted(FLAGS) if name not in PLACE_FLAGS | set(pinned)
             and FLAGS[name].present for line in FLAGS[name].serialize().splitlines()]
    return " ".join([f"python -m {_DRIVER[0]}", *(f"--{k}={v}" for k, v in pinned.items()),
                     *given])


def check_float_flags() -> None:
    """No float flag may be NaN or infinite (absl's bounds let NaN through)."""
    for name, value in FLAGS.flag_values_dict().items():
        if isinstance(value, float) and not math.isfinite(value):
            raise FlagError(f"--{name}={value}: must be a finite number")


def check_output_dir(path: str) -> pathlib.Path:
    """--output_dir can be created (or exists as a folder) and written; created later."""
    target = pathlib.Path(path)
    probe = target
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise FlagError(f"--output_dir={path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise FlagError(f"--output_dir={path}: {probe} is not writable")
    return target


def check_finite_values(where: str, values: dict) -> None:
    for name, value in values.items():
        if isinstance(value, (float, np.floating)) and not math.isfinite(value):
            raise FlagError(f"{where}: {name}={value} must be a finite number")


def check_model(name: str, label: str, hparams: dict, where: str) -> None:
    """Builds `name` once on small sizes of `label`'s kind so that it checks `hparams`."""
    from daeptr import models
    from daeptr.data.splits import Posts
    from experiments import tasks

    check_finite_values(where, hparams)
    sizes = tasks.model_sizes(name, tasks.dummy_sizes(label))
    posts = Posts(np.array([0, 1], np.int32), np.array([0, 0], np.int32),
                  np.array([0, 1, 2]), np.array([0, 1], np.int32))
    try:
        models.build(name, posts, **sizes, **hparams, seed=0)
    except (ValueError, TypeError) as err:
        raise FlagError(f"{where}: {err}") from None


def check_train(train: dict, where: str, label: str) -> None:
    from daeptr.training import TrainConfig
    from experiments import tasks

    check_finite_values(where, train)
    try:
        TrainConfig(**train)
    except (ValueError, TypeError) as err:
        raise FlagError(f"{where}: {err}") from None
    logged = tasks.metric_names(label)
    if train.get("monitor") not in logged:
        raise FlagError(f"--monitor={train.get('monitor')}: not a metric of {label}; "
                        f"choose one of {logged}")
