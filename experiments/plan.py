"""What a driver's flags ask of the run loop, read and checked before any data is loaded
or any model trained: the mode and its results tree, the data options, the settings
request, the seeds, and every setting of every run (each model is built once on small
sizes, and each training setting made into a `TrainConfig`, so that they check themselves).
Errors are `cli.FlagError`s naming the flag.
"""

from __future__ import annotations

import dataclasses
import pathlib

from absl import flags

from daeptr import models
from experiments import cli, settings as settings_lib, tasks
from experiments import flags as flag_groups
from experiments.runs import point_name

FLAGS = flags.FLAGS
COMMON = ("learning_rate", "batch_size", "l2", "latent_dim", "corruption", "loss_reduction")
# Training settings taken from their flags when given; each is checked alone first.
TRAIN_FLAGS = ("epochs", "patience", "eval_every", "warmup_epochs", "schedule", "precision",
               "distribute")
# What every summary's title adds in a mode that is not a result.
MODE_TITLES = {"full": "", "quick": " (--quick: K = 16, 2 epochs, one seed; not a result)",
               "smoke": " (--smoke: synthetic data; not a result)"}


def flag_error(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except cli.FlagError:
        raise
    except ValueError as err:
        raise cli.FlagError(str(err)) from None


def mode() -> str:
    if flag_groups.data().smoke.value:
        return "smoke"
    quick = "quick" in FLAGS and FLAGS["quick"].value
    return "quick" if quick else "full"


def tree() -> pathlib.Path:
    """The mode's results tree: smoke and quick runs never touch full runs' files."""
    root = cli.check_output_dir(flag_groups.data().output_dir.value)
    return root if mode() == "full" else root / mode()


def data_options() -> tasks.DataOptions:
    data = flag_groups.data()
    extra = {}
    if "user_features" in FLAGS:
        item = flag_groups.item_data()
        from daeptr.data.ml100k import USER_FEATURES

        unknown = [v for v in item.user_features.value if v not in USER_FEATURES]
        if unknown:
            raise cli.FlagError(f"--user_features: unknown {unknown}; choose from {list(USER_FEATURES)}")
        if not 0 <= item.valid_fraction.value <= 0.9:
            raise cli.FlagError(f"--valid_fraction={item.valid_fraction.value}: must lie in [0, 0.9]")
        extra = dict(user_features=tuple(item.user_features.value),
                     valid_fraction=item.valid_fraction.value)
    return tasks.DataOptions(data.data_dir.value, data.download.value, data.tie_break.value,
                             data.split_seed.value, mode() == "smoke",
                             int(data.valid_min_tags.value), **extra)


def labels(values, flag: str) -> list[str]:
    for label in values:
        try:
            tasks.parse(label)
        except ValueError as err:
            raise cli.FlagError(f"{flag}: {err}") from None
    if not values:
        raise cli.FlagError(f"{flag}: name at least one data set ({tasks.LABELS})")
    return list(values)


def trained_labels(values, flag: str) -> list[str]:
    """`labels` of a driver that trains: a smoke run keeps it to seconds with one label per
    data set and ML-100K's first fold."""
    values = labels(values, flag)
    if mode() != "smoke":
        return values
    firsts = {tasks.parse(label)[0]: label for label in reversed(values)}
    return [label if label != "ml100k" else "ml100k-fold1"
            for label in values if firsts[tasks.parse(label)[0]] == label]


def smoke_points(values: list) -> list:
    """A smoke run's values of a swept or retuned parameter: the first and the last."""
    return values if mode() != "smoke" or len(values) < 3 else [values[0], values[-1]]


def seeds() -> list[int]:
    values = flag_error(settings_lib.parse_seeds, flag_groups.training().seeds.value)
    return values[:1] if mode() != "full" else values


def request(preset: dict | None = None) -> settings_lib.Request:
    """The settings request of the command line; `preset` ({"*": …, model: …}) is a
    figure's settings, which the command line overrides."""
    group = flag_groups.training()
    common = {k: getattr(group, k).value for k in COMMON
              if getattr(group, k).value is not None and FLAGS[k].present}
    train = {k: getattr(group, k).value for k in TRAIN_FLAGS if FLAGS[k].present}
    if group.monitor.value is not None:
        train["monitor"] = group.monitor.value
    train.update(retrain=group.retrain.value, save_ranks=group.save_ranks.value)
    if group.tuned_from.value is not None:
        labels([group.tuned_from.value], "--tuned_from")
    return settings_lib.Request(
        tree=tree(), mode=mode(), common=common, train=train,
        per_model=flag_error(settings_lib.parse_hparams, group.hparam.value),
        tuned=group.tuned.value, tuned_from=group.tuned_from.value, preset=preset or {},
        validated=flag_error(settings_lib.read_validated, validated_path()))


def validated_path() -> pathlib.Path:
    return pathlib.Path(flag_groups.validated().value or settings_lib.VALIDATED)


def check(names, label_list, req: settings_lib.Request, points=({},), point_flag="--values",
          retune=None, retune_flag="--retune") -> None:
    """Every run's settings, built once: first each flag alone (so the message names it),
    then each point and retuned value, then everything together."""
    for name in names:
        if name not in models.REGISTRY:
            raise cli.FlagError(f"model {name!r}: choose from {sorted(models.REGISTRY)}")
    bare = dataclasses.replace(req, common={}, per_model={},
                               train={k: v for k, v in req.train.items() if k not in TRAIN_FLAGS})
    singles = ([(f"--{k}={v}", dataclasses.replace(bare, common={k: v}))
                for k, v in req.common.items()]
               + [(f"--{k}={v}", dataclasses.replace(bare, train={**bare.train, k: v}))
                  for k, v in req.train.items() if k in TRAIN_FLAGS]
               + [(f"--hparam={m}.{k}={v}", dataclasses.replace(bare, per_model={m: {k: v}}))
                  for m, values in req.per_model.items() for k, v in values.items()])
    for label in label_list:
        for name in names:
            for where, single in [*singles, ("the settings", req)]:
                _check_one(name, label, settings_lib.resolve(name, label, single), {}, where)
            base = settings_lib.resolve(name, label, req)
            for point in points:
                if point:
                    _check_one(name, label, base, point, f"{point_flag}: {point_name(point)}")
                for value in (retune[1] if retune else ()):
                    _check_one(name, label, base, {**point, retune[0]: value},
                               f"{retune_flag}: {retune[0]}={value}")


def _check_one(name, label, base: settings_lib.Settings, point: dict, where: str) -> None:
    settings = base.at(point)
    cli.check_model(name, label, settings.hparams, where)
    cli.check_train(settings.train, where, label)
