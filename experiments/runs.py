"""The run loop of every experiment driver: points × parts (data sets or folds) × seeds.

One folder layout. A run of model M at point X (a dict of settings, `{}` for none) on part
P with seed S lives in

    <root>/<P>/<M>/<X as name=value_…, or "default">/seed<S>-<digest>/

where the digest is a hash of everything the run depends on: every setting of the model and
of training (a training setting added later only away from its neutral value,
`NEUTRAL_TRAIN`), the part and its split settings, the split's content fingerprint, the mode
(full, quick, smoke) and the kind of run (`full`: selection, retraining, one test
evaluation; `selection`: validation only). Runs that differ in anything never share a
folder, so a finished run is never replaced by another one.

One reuse rule. A run writes its record, `run.json` (settings, fingerprint, mode, kind, and
its result), atomically and last, after every other file of the run. A folder is reused only
if its record reads back and holds exactly the requested settings, fingerprint, mode and
kind. Anything else (no record: an interrupted run; unreadable; different) is re-run from an
empty folder, with one line saying which file and why, so no TensorBoard file of a killed
run is added to. A run that finished under another point of the same model and part (the
same identity: a later search through an earlier search's choice) is copied, not trained
again. `overwrite` re-runs finished runs too.

One validation-only selection helper (`choose`), shared by `experiments.tune` and the
retuning of `experiments.sweep` (Figure 4): never a test tag.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import time

import numpy as np
import pandas as pd
from absl import logging

from daeptr import models
from daeptr.training import (ProgressLog, TrainConfig, select, train_and_evaluate,
                             write_json_atomic)
from experiments import settings as settings_lib
from experiments.tasks import Part, model_sizes

RECORD = "run.json"
# Training settings that came after records were made, each at the value that computes what
# runs computed before it existed: there they are left out of a run's identity, so every
# earlier record keeps its digest and is reused. Any other value is part of it.
NEUTRAL_TRAIN = {"precision": "float32", "schedule": "constant", "warmup_epochs": 0,
                 "distribute": "none"}


def point_name(point: dict) -> str:
    return "_".join(f"{k}={v}" for k, v in point.items()) or "default"


def _jsonable(value):
    """`value` as it reads back from JSON: tuples become lists, NumPy scalars numbers."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else list(v)))


@dataclasses.dataclass(frozen=True)
class Run:
    model: str
    part: Part
    hparams: dict
    config: TrainConfig
    mode: str
    kind: str  # "full" or "selection"
    point_dir: pathlib.Path  # …/<part>/<model>/<point>

    def settings(self) -> dict:
        train = {k: v for k, v in dataclasses.asdict(self.config).items()
                 if k not in NEUTRAL_TRAIN or v != NEUTRAL_TRAIN[k]}
        revision = models.get(self.model)[0].revision  # 0 (every earlier record) is left out
        return _jsonable({"model": self.model, "data": self.part.label, **self.part.info,
                          "hparams": self.hparams, "train": train,
                          **({"revision": revision} if revision else {})})

    def identity(self) -> dict:
        """Everything the record must match for the run to be reused."""
        return {"settings": self.settings(), "split": self.part.fingerprint, "mode": self.mode,
                "kind": self.kind}

    @property
    def dir(self) -> pathlib.Path:
        digest = hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()
        return self.point_dir / f"seed{self.config.seed}-{digest[:10]}"

    def describe(self) -> str:
        point = self.point_dir.name
        return (f"{self.model} on {self.part.label}" + (f" at {point}" if point != "default" else "")
                + f", seed {self.config.seed}" + (" (selection)" if self.kind == "selection" else ""))


def stale_reason(run: Run) -> str | None:
    """Why the run's folder cannot be reused (None: it holds this run, finished)."""
    record = run.dir / RECORD
    if not record.exists():
        return f"{record} is missing (an interrupted run)"
    try:
        stored = json.loads(record.read_text())
        identity = {k: stored[k] for k in run.identity()}
        stored["result"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        return f"{record} is unreadable ({type(err).__name__}: {err})"
    wanted = run.identity()
    if identity != wanted:
        differ = sorted(k for k in wanted if identity[k] != wanted[k])
        return f"{record} holds another run (its {', '.join(differ)} differ)"
    if run.kind == "full":  # the run's own metrics file, for readers of the folder
        metrics = run.dir / "metrics.json"
        try:
            if json.loads(metrics.read_text())["test"] != stored["result"]["test"]:
                return f"{metrics} disagrees with {RECORD}"
        except (OSError, ValueError, KeyError, TypeError) as err:
            return f"{metrics} is unreadable ({type(err).__name__}: {err})"
    return None


def finished_twin(run: Run) -> pathlib.Path | None:
    """A finished folder of the same run (the same identity, hence the same digest) under
    another point of the same model and part: a search that includes an earlier search's
    chosen value names that point differently (`l2=0.001` beside `learning_rate=0.001`) but
    runs nothing new there. None when there is none."""
    for folder in sorted(run.point_dir.parent.glob(f"*/{run.dir.name}")):
        if folder != run.dir and stale_reason(dataclasses.replace(
                run, point_dir=folder.parent)) is None:
            return folder
    return None


def execute(run: Run, *, overwrite: bool = False, prefix: str = "", verbose: int = 0,
            backup=None) -> tuple[dict, bool]:
    """(result, reused) of one run: its stored result if it finished with exactly these
    settings, else the result of running it in an empty folder, logging a line per
    evaluation (after `prefix`); `verbose=1` adds Keras' progress bar. With `backup` (a
    `daeptr.backup.Policy`) the run backs up as it says, and an interrupted run with a backup
    continues from it."""
    if not run.dir.exists() and not overwrite:
        twin = finished_twin(run)
        if twin is not None:
            logging.info("%sthe same run finished at another point, %s: copied", prefix, twin)
            shutil.copytree(twin, run.dir)
    if run.dir.exists():
        reason = "--overwrite" if overwrite else stale_reason(run)
        if reason is None:
            return json.loads((run.dir / RECORD).read_text())["result"], True
        if backup and not overwrite and not (run.dir / RECORD).exists() and (
                run.dir / "backup").exists():
            logging.info("%scontinuing the interrupted run %s from its backup", prefix, run.dir)
        else:
            logging.warning("re-running %s: %s", run.dir, reason)
            shutil.rmtree(run.dir)
    sizes = model_sizes(run.model, run.part.sizes)

    def build(rows):
        return models.build(run.model, rows, **sizes, **run.hparams, seed=run.config.seed)

    progress = [ProgressLog(logging.info, run.config.monitor, run.config.eval_every, prefix)]
    started = time.time()
    if run.kind == "selection":
        result = select(build, run.part.task, run.config, run.dir, callbacks=progress,
                        verbose=verbose, backup=backup)[1]
    else:
        result = train_and_evaluate(build, run.part.task, run.config, run.dir,
                                    hparams={"model": run.model, "data": run.part.label,
                                             "mode": run.mode, **run.part.info, **run.hparams},
                                    callbacks=progress, verbose=verbose,
                                    backup=backup)
    result["seconds"] = time.time() - started
    write_json_atomic(run.dir / RECORD, {**run.identity(), "result": result})
    return result, False


class Progress:
    """One log line per run: k of N, what, reused or trained, seconds, validation metric."""

    def __init__(self, total: int, verbose: int = 0, backup=None):
        self.total, self.done, self.started, self.verbose = total, 0, time.time(), verbose
        self.backup = backup

    def __call__(self, run: Run, overwrite: bool = False) -> dict:
        self.done += 1
        prefix = f"run {self.done} of {self.total} ({run.describe()}): "
        logging.info("%sstarting", prefix)
        result, reused = execute(run, overwrite=overwrite, prefix=prefix, verbose=self.verbose,
                                 backup=self.backup)
        monitor = run.config.monitor
        score = result.get("valid", {}).get(monitor.removeprefix("val_"), float("nan"))
        elapsed = time.time() - self.started
        left = elapsed / self.done * (self.total - self.done)
        logging.info("run %d of %d: %s in %.1f s, %s %.5f (best epoch %s); %.0f s elapsed, "
                     "about %.0f s left", self.done, self.total,
                     "reused, trained earlier" if reused else "trained", result.get("seconds", 0.0), monitor,
                     score, result.get("best_epoch"), elapsed, left)
        return result


def choose(model: str, parts: list[Part], base: settings_lib.Settings, options: list[dict],
           seeds, root: pathlib.Path, *, mode: str, overwrite: bool, progress: Progress
           ) -> tuple[dict, pd.DataFrame]:
    """The option (a dict of settings) with the best validation `monitor`, averaged over
    `parts` and `seeds`, and a frame of every option's mean validation metrics, best epoch
    and seconds. Validation only: no test target is ranked. Ties go to the earlier option.
    Runs live in `root/<part>/<model>/<option>/`."""
    rows = []
    for option in options:
        settings = base.at(option)
        results = [progress(Run(model, part, settings.hparams, settings.config(seed), mode,
                                "selection", root / part.label / model / point_name(option)),
                            overwrite)
                   for part in parts for seed in seeds]
        rows.append({**option,
                     "best_epoch": float(np.mean([r["best_epoch"] for r in results])),
                     "seconds": sum(r["seconds"] for r in results),
                     **{f"val_{k}": float(np.mean([r["valid"][k] for r in results]))
                        for k in results[0]["valid"]}})
    frame = pd.DataFrame(rows)
    best = int(np.argmax(frame[base.train["monitor"]].to_numpy()))
    return options[best], frame


def grid(model: str, parts: list[Part], points: list[dict], seeds, root: pathlib.Path,
         base_settings, *, mode: str, overwrite: bool = False, retune: tuple | None = None,
         progress: Progress | None = None, verbose: int = 0, backup=None
         ) -> pd.DataFrame:
    """Runs `model` at every point on every part and seed; one row per run with the point,
    the validation and the test metrics, the best epoch and the seconds it took.

    `base_settings(part)` gives the settings the points change. With `retune=(name,
    values)` each (point, part, seed) first chooses `name` among `values` on validation
    (`choose`), then runs the full protocol there.
    """
    if settings_lib.deterministic(model):
        seeds = list(seeds)[:1]
    if progress is None:
        per_run = 1 + (len(retune[1]) if retune else 0)
        progress = Progress(len(parts) * len(points) * len(seeds) * per_run, verbose, backup)
    rows = []
    for part in parts:
        base = base_settings(part)
        for point in points:
            point_dir = root / part.label / model / point_name(point)
            at_point = base.at(point)
            for seed in seeds:
                extra = {}
                if retune:
                    name, values = retune
                    option, scores = choose(model, [part], at_point, [{name: v} for v in values],
                                            [seed], point_dir / f"retune_{name}", mode=mode,
                                            overwrite=overwrite, progress=progress)
                    extra = {f"retuned_{name}": option[name],
                             "retune_valid": float(scores[at_point.train["monitor"]].max()),
                             # measured per run, so a sweep run in parts adds up to its cost
                             "retune_seconds": float(scores["seconds"].sum())}
                    final = at_point.at(option)
                else:
                    final = at_point
                run = Run(model, part, final.hparams, final.config(seed), mode, "full", point_dir)
                result = progress(run, overwrite)
                rows.append({"dataset": part.family, "part": part.label, **point, "seed": seed,
                             **extra, "run": str(run.dir), **measured(result)})
    return pd.DataFrame(rows)


def measured(result: dict) -> dict:
    """A full run's row of measurements, from its record's result: best epoch, seconds,
    validation and test metrics, and the test metrics by kind of post."""
    return {"best_epoch": result["best_epoch"], "seconds": result.get("seconds", float("nan")),
            **{f"val_{k}": v for k, v in result["valid"].items()},
            **result["test"], **_by_input(result)}


def _by_input(result: dict) -> dict:
    """Test posts, Hit@3 and NDCG@3 on posts with and without input tags (tag tasks)."""
    return {f"{kind}_{k}": v for kind, values in result.get("test_by_input", {}).items()
            for k, v in values.items() if k in ("posts", "hit@3", "ndcg@3")}


MANIFEST = ".manifest.json"


def write_manifest(directory: pathlib.Path, name: str, kind: str, command: str, context: dict,
                   rows: pd.DataFrame) -> pathlib.Path:
    """`<directory>/<name>.manifest.json`: what a summary (table, sweep, experiment) is built
    from: the command, the summary's `context` (title, settings and their sources, split
    statistics) and one entry per run: its folder, relative to `directory`, and the keys the
    summary groups by (model, data set, point, seed, …). The measurements are not copied:
    `read_manifest` takes them from each run's record."""
    entries = []
    for row in rows.to_dict("records"):
        run_dir = pathlib.Path(row.pop("run"))
        own = measured(_record(run_dir)["result"])
        entries.append({"run": os.path.relpath(run_dir, directory),
                        **{k: v for k, v in row.items() if k not in own}})
    path = directory / f"{name}{MANIFEST}"
    write_json_atomic(path, _jsonable({"kind": kind, "command": command, "context": context,
                                       "runs": entries}))
    return path


def read_manifest(path: pathlib.Path) -> tuple[str, str, dict, pd.DataFrame]:
    """(kind, command, context, rows) of a manifest; each row is its entry's keys (`run`:
    the folder relative to the manifest's) and the measurements in the run's record. Raises ValueError naming the file when
    the manifest or a record is missing or unreadable."""
    path = pathlib.Path(path)
    try:
        manifest = json.loads(path.read_text())
        entries = manifest["runs"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a readable manifest ({type(err).__name__}: {err})") from None
    rows = []
    for entry in entries:
        keys = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
        rows.append({**keys, **measured(_record(path.parent / keys["run"])["result"])})
    return manifest["kind"], manifest["command"], manifest["context"], pd.DataFrame(rows)


def _record(run_dir: pathlib.Path) -> dict:
    record = pathlib.Path(run_dir) / RECORD
    try:
        stored = json.loads(record.read_text())
        stored["result"]["test"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{record}: not a finished run's record ({type(err).__name__}: {err})"
                         ) from None
    return stored


def write_hparams_config(root: pathlib.Path, swept: dict, metrics) -> None:
    """The sweep's HParams configuration, so TensorBoard lists its parameters and metrics."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    def scalar(value):  # HParams knows bool, numbers and text; layer tuples become text
        return value if isinstance(value, (bool, int, float, str)) else str(value)

    params = [hp.HParam(k, hp.Discrete(sorted({scalar(x) for x in v}))) for k, v in swept.items()]
    with tf.summary.create_file_writer(str(root)).as_default():
        hp.hparams_config(hparams=params,
                          metrics=[hp.Metric(f"test/{m}", display_name=m) for m in metrics])
