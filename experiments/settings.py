"""Where a run's settings come from, each later source overriding the earlier:

  1. the model class' defaults;
  2. `STARTING_POINTS`: the papers' values;
  3. with `tuned`, the committed settings chosen on validation (`experiments/validated.json`,
     each value with the command that chose it; `experiments.promote` adds to it); with
     `tuned_from=LABEL` the choices made on that other data set's validation split fill in
     what this data set's own search did not choose;
  4. a figure preset's settings (`Request.preset`);
  5. the run mode: `quick` and `smoke` runs are small (K = 16, 2 epochs);
  6. the command line (`Request.common` for every model that has the setting,
     `Request.per_model` for one model, `Request.train` for training settings).

`resolve` returns the values with the source of each, which the tables print. The
`parse_*` functions read the specs of `--hparam`, `--grid`, `--values` and `--retune`.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

from daeptr import hardware, models
from daeptr.training import TrainConfig

MODES = ("full", "quick", "smoke")
# Settings of `TrainConfig` that a grid, --hparam or a starting point may set.
TRAIN_FIELDS = {"learning_rate": float, "batch_size": int, "epochs": int, "patience": int,
                "eval_every": int, "jit_compile": bool, "precision": str, "schedule": str,
                "warmup_epochs": int, "distribute": str}

# DAE-PTR §5.3 and §5.5. The baselines: "K = 64, η = 0.01, λ = 0.01, batch 1024" (§5.3).
# What validation chose on top of these is in validated.json.
_BASELINE = {"latent_dim": 64, "l2": 0.01, "learning_rate": 0.01}
STARTING_POINTS = {
    "dae_ptr": {"*": {"l2": 0.01, "loss_reduction": "sum"},
                "lastfm": {"latent_dim": 512, "corruption": 0.8},
                "ml10m": {"latent_dim": 256, "corruption": 0.9}},
    **{name: {"*": _BASELINE} for name in ("pitf", "nltf", "abnt")},
    # CDDAE paper §3.3–3.4, Experiment 1: Adam 0.001, corruption 0.5, regularizer 0.01,
    # sigmoid + mean absolute error, bottleneck 50. The batch size is not given: 32.
    **{name: {"*": {"latent_dim": 50, "corruption": 0.5, "l2": 0.01, "output": "sigmoid_mae",
                    "learning_rate": 0.001, "batch_size": 32}} for name in ("dae", "cdae", "cddae")},
}
VALIDATED = pathlib.Path(__file__).with_name("validated.json")
# Quick and smoke runs are small. Smoke runs also skip XLA: compiling costs seconds per model
# and is all of a smoke run's time on its tiny data (quick runs and the tests of
# `daeptr.training` keep it).
SMALL = {"quick": {"latent_dim": 16, "epochs": 2, "eval_every": 1, "patience": 1}}
SMALL["smoke"] = {**SMALL["quick"], "jit_compile": False}


@dataclasses.dataclass(frozen=True)
class Request:
    """What the command line asks for beyond the starting points."""

    tree: pathlib.Path  # the mode's results tree
    mode: str = "full"
    common: dict = dataclasses.field(default_factory=dict)  # for every model that has them
    per_model: dict = dataclasses.field(default_factory=dict)  # {model: {name: value}}
    train: dict = dataclasses.field(default_factory=dict)  # TrainConfig fields given explicitly
    tuned: bool = True
    tuned_from: str | None = None
    validated: dict = dataclasses.field(default_factory=dict)  # read_validated()
    # A figure preset's settings ({"*": for every model, model: for one, data set family or
    # label ("ml10m", "lastfm-core10"): for every model on it}): above the tuned choices,
    # below the run mode's small sizes and the command line.
    preset: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Settings:
    hparams: dict  # the model's constructor arguments
    train: dict  # TrainConfig fields, seed excluded
    sources: dict  # setting → "default", "tuned", "tuned on X", "preset", "quick", "smoke", "flag"

    def config(self, seed: int, **changes) -> TrainConfig:
        return TrainConfig(seed=seed, **{**self.train, **changes})

    def at(self, point: dict) -> "Settings":
        """These settings changed by `point` (model and training settings in one dict)."""
        hparams, train = split_point(point)
        return Settings({**self.hparams, **hparams}, {**self.train, **train}, self.sources)


def split_point(point: dict) -> tuple[dict, dict]:
    """(model hyper-parameters, training settings) of a dict of settings."""
    train = {k: v for k, v in point.items() if k in TRAIN_FIELDS or k == "monitor"}
    return {k: v for k, v in point.items() if k not in train}, train


def chosen_path(tree: pathlib.Path, label: str, model: str) -> pathlib.Path:
    """Where `experiments.tune` writes the settings it chose for (data set label, model), for
    review before `experiments.promote` merges them into the committed file."""
    return pathlib.Path(tree) / "tune" / label / model / "chosen.json"


def read_validated(path=VALIDATED) -> dict:
    """{label: {model: {name: {"value": …, "source": …}}}} of a validated-settings file."""
    try:
        data = json.loads(pathlib.Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable settings file ({err})") from None
    return {label: models_ for label, models_ in data.items() if not label.startswith("_")}

def format_validated(data: dict) -> str:
    """A validated-settings file's text: one line per value, so that a change to one value
    is a one-line diff."""
    def block(items, indent, leaf):
        pad = " " * indent
        rows = [f"{pad}{json.dumps(k)}: " + (json.dumps(v, ensure_ascii=False) if leaf(v)
                                            else block(v.items(), indent + 2, leaf))
                for k, v in items]
        return "{\n" + ",\n".join(rows) + "\n" + " " * (indent - 2) + "}"
    return block(data.items(), 2, lambda v: not isinstance(v, dict) or "value" in v) + "\n"


def resolve(name: str, label: str, request: Request) -> Settings:
    """The settings of model `name` on the data set `label` (`lastfm-core5`, `ml100k`).

    A variant of DAE-PTR (any registry entry of `DAEPTR` or a subclass but `dae_ptr`
    itself: multinomial, stacked, contractive, variational) starts
    from DAE-PTR's settings on that data set, whatever made them (its validated choices, a
    preset, `--hparam=dae_ptr.…`), each with "from dae_ptr" in its source, except the
    precision, the hardware's choice; the variant's own non-default settings override them.
    So a search over one of a variant's settings (`experiments.tune`) holds the rest at what
    DAE-PTR uses on that data set, as `experiments.beyond` runs it.
    """
    own = _own_settings(name, label, request)
    cls, _ = models.get(name)
    if name == "dae_ptr" or not issubclass(cls, models.DAEPTR):
        return own
    parent = _own_settings("dae_ptr", label, request)
    accepted = models.hyperparameters(name)
    mine = {k for k, s in own.sources.items() if s != "default"}
    inherited = {k for k in parent.sources if k != "precision"} - mine
    return Settings(
        {**own.hparams, **{k: v for k, v in parent.hparams.items()
                           if k in accepted and k in inherited}},
        {**own.train, **{k: v for k, v in parent.train.items() if k in inherited}},
        {**own.sources, **{k: f"{parent.sources[k]}, from dae_ptr" for k in inherited}})


def _own_settings(name: str, label: str, request: Request) -> Settings:
    """`resolve` without a variant's inheritance from DAE-PTR."""
    dataset = label.split("-")[0]
    accepted = models.hyperparameters(name)
    values, sources = {}, {}

    def put(layer: dict, source: str):
        for key, value in layer.items():
            if key in accepted or key in TRAIN_FIELDS or key == "monitor":
                values[key], sources[key] = value, source

    from experiments.tasks import default_monitor

    put({"monitor": default_monitor(label)}, "default")
    start = STARTING_POINTS.get(name, {})
    put({**start.get("*", {}), **start.get(dataset, {})}, "default")
    if request.tuned:
        layers = ([(request.tuned_from, f"tuned on {request.tuned_from}")]
                  if request.tuned_from else []) + [(label.split("-fold")[0], "tuned")]
        for source_label, source in layers:  # this data set's own choices win
            chosen = request.validated.get(source_label, {}).get(name, {})
            for key, entry in chosen.items():
                put({key: entry["value"]}, committed_source(entry, source))
    for layer in ("*", name, dataset, label):  # the preset's layers, the narrowest last
        put(request.preset.get(layer, {}), "preset")
    if request.mode != "full":
        put(SMALL[request.mode], request.mode)
    put(request.common, "flag")
    put(request.train, "flag")
    put(request.per_model.get(name, {}), "flag")

    if values.get("precision") == "auto":  # the tables name what the runs trained in
        values["precision"] = hardware.resolve_precision("auto")
        sources["precision"] += ": auto"
    hparams = {k: v for k, v in values.items() if k in accepted}
    defaults = {k: v for k, v in dataclasses.asdict(TrainConfig()).items() if k != "seed"}
    train = {**defaults, **{k: v for k, v in values.items() if k not in accepted}}
    return Settings(hparams, train, sources)


def committed_source(entry: dict, source: str) -> str:
    """How the tables name a committed value's source: `source` ("tuned", "tuned on X"),
    unless the value was committed without a search ("not searched: taken from X")."""
    return entry["source"].split(" (")[0] if entry["source"].startswith("not searched") else source


def deterministic(name: str) -> bool:
    """Count-based models: every seed gives the same run."""
    cls, _ = models.get(name)
    return getattr(cls, "deterministic", False)


# ---- specs of --hparam, --grid, --values, --retune ---------------------------------------

def parse_value(name: str, text: str, default):
    """A spec's text as the type of the setting it sets (that of the default value)."""
    kind = TRAIN_FIELDS.get(name) or (type(default) if default is not None else None)
    if kind is bool:
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{name} takes true or false, got {text!r}")
        return text.lower() == "true"
    if kind is None:  # an optional setting (None by default): the most specific type
        for kind in (int, float, str):
            try:
                return kind(text)
            except ValueError:
                continue
    if kind in (tuple, list):  # layer widths: 100 or 100+200
        return tuple(int(part) for part in text.split("+"))
    return kind(text)


def settable(model: str) -> list[str]:
    return sorted({*models.hyperparameters(model), *TRAIN_FIELDS})


def parse_grid(specs, model: str, flag: str = "--grid") -> dict[str, list]:
    """`NAME:V1,V2` specs → {name: [values]}; ValueError naming the flag and the spec."""
    accepted = models.hyperparameters(model)
    grid = {}
    for spec in specs:
        name, sep, values = spec.partition(":")
        if not sep or name not in settable(model) or not values:
            raise ValueError(f"{flag}={spec!r}: expected NAME:V1,V2 with NAME one of "
                             f"{settable(model)} ({model})")
        try:
            grid[name] = [parse_value(name, v, accepted.get(name)) for v in values.split(",")]
        except ValueError as err:
            raise ValueError(f"{flag}={spec!r}: {err}") from None
        if len(set(map(repr, grid[name]))) < len(grid[name]):
            raise ValueError(f"{flag}={spec!r}: a value is repeated")
    return grid


def parse_settings(specs, model: str, flag: str) -> dict:
    """`NAME=VALUE` specs of one model's settings → {name: value}; ValueError naming the
    flag and the spec."""
    out = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        if not sep or name not in settable(model):
            raise ValueError(f"{flag}={spec!r}: expected NAME=VALUE with NAME one of "
                             f"{settable(model)} ({model})")
        try:
            out[name] = parse_value(name, text, models.hyperparameters(model).get(name))
        except ValueError as err:
            raise ValueError(f"{flag}={spec!r}: {err}") from None
    return out


def parse_hparams(specs) -> dict[str, dict]:
    """`MODEL.NAME=VALUE` specs → {model: {name: value}}."""
    out: dict[str, dict] = {}
    for spec in specs:
        key, sep, text = spec.partition("=")
        model, dot, name = key.partition(".")
        if not sep or not dot or model not in models.REGISTRY:
            raise ValueError(f"--hparam={spec!r}: expected MODEL.NAME=VALUE with MODEL one of "
                             f"{sorted(models.REGISTRY)}")
        if name not in settable(model):
            raise ValueError(f"--hparam={spec!r}: {model} has no {name!r}; it has "
                             f"{settable(model)}")
        try:
            out.setdefault(model, {})[name] = parse_value(
                name, text, models.hyperparameters(model).get(name))
        except ValueError as err:
            raise ValueError(f"--hparam={spec!r}: {err}") from None
    return out


def parse_seeds(values, flag: str = "--seeds") -> list[int]:
    """Distinct non-negative integer seeds: a repeated seed would count one run twice."""
    if not values or not all(v.isdigit() for v in values):
        raise ValueError(f"{flag}={','.join(values)}: expected distinct integers >= 0")
    seeds = [int(v) for v in values]
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"{flag}={','.join(values)}: a seed is repeated (it would be counted twice)")
    return seeds


def parse_model_seeds(specs) -> dict[str, list[int]]:
    """`MODEL:S1,S2` specs → {model: seeds}."""
    out = {}
    for spec in specs:
        model, sep, seeds = spec.partition(":")
        if not sep or model not in models.REGISTRY:
            raise ValueError(f"--model_seeds={spec!r}: expected MODEL:S1,S2 with MODEL one of "
                             f"{sorted(models.REGISTRY)}")
        out[model] = parse_seeds(seeds.split(","), f"--model_seeds={model}:")
    return out
