"""Throughput, FLOP/s, evaluation time and memory of DAE-PTR on a real split.

    python -m experiments.bench [--data_dir=…] [--output_dir=results] [--dataset=lastfm-core5]
                                [--latent_dim=512] [--batch_size=1024]
                                [--encoder=both] [--jit=both] [--precisions=float32,mixed_bfloat16]
                                [--steps=30] [--warmup=3] [--quick | --smoke]
    python -m experiments.bench --end_to_end [--before=sparse_slots=0,precision=float32] [--after=…]
    python -m experiments.bench --scale [--scale_posts=1e4,1e5,1e6] [--scale_tags=1e3,1e4,1e5]
    python -m experiments.bench --pairwise [--dataset=lastfm-core5] [--steps=30]

Data: `experiments.tasks.tag_split` (load → p-core → split), as the tables do; with --smoke
the package's synthetic folksonomy (and --quick's small settings).
For each encoder (sparse | dense) × XLA (jit_compile False | True) × precision (float32 |
mixed_bfloat16, `TrainConfig.precision`) variant, side by side in one process, it measures
the step compiled as `daeptr.training` compiles it (in bfloat16 on a CPU: XLA around the
matmuls, `daeptr.models.base`) and, for bfloat16 with XLA on a CPU, also as one XLA program
(the `xla` field: none | whole_step | around_matmuls):

  * training: the real compiled Keras train step (`model.train_function`, the function
    `model.fit` calls once per step) on the real shuffled `post_dataset` of the final
    training posts (phase "test"). The first step (tracing + compilation, run through
    `model.fit`) and `--warmup` further steps are excluded; then `--steps` steps are timed
    one by one, each up to the moment its loss is on the host (Keras itself reads a value of
    every step, so that is the real cost), the variants in turns (`--rounds` turns of a share
    of the steps each, so that a shared machine's drift over minutes reaches every variant
    alike). The step time is the median of those steps (the
    mean is in the JSON); posts/s = B / step time and an epoch is ceil(train posts / B) steps.
    Only full batches are timed: the epoch's one partial batch is filtered out of the timed
    stream (under XLA it would compile a second program inside the timed window).
  * the step's achieved FLOP/s (matmul FLOPs counted analytically, `train_step_flops`),
    beside the FLOP/s of a plain `tf.matmul` [B, K] × [K, |T|] measured in the same run
    (a tf.function compiled by XLA where the variant's matmuls are, else not, in the
    variant's compute dtype, arguments fed in, warm, median of repeats), and their ratio;
  * the time of one [B, L] uniform draw, the mask-out's noise, compiled like the step, with
    Keras' default generator and with Philox, which `daeptr.rng` draws with (`time_draws`);
  * the time of Eq. 12's value over every weight, compiled by XLA and not (`time_penalty`);
  * the time to evaluate every test post with `daeptr.evaluate.evaluate` (warm, median of
    `--eval_repeats`);
  * peak memory: the process' peak RSS once the variant is compiled and warm (`ru_maxrss`,
    a high-water mark of the whole process, so it never decreases from one variant to the
    next) and, with a GPU, `tf.config.experimental.get_memory_info("GPU:0")["peak"]` since
    the variant began.

Writes `<output_dir>/bench/bench.json` (every number, the device, the versions, the
settings; `precision.<p>.step_ms`, `.epoch_s`, `.matmul_gflop_per_s`: each precision's
step of the package's default variant, sparse with XLA, where measured; `end_to_end`: the
short form of the tree's end-to-end record, `end_to_end.before|after.seconds`,
`.val_ndcg@3`, where --end_to_end has written one) and `bench.md`, and prints the Markdown
table. On a shared machine other jobs slow every number down, so the
share of CPU time other processes took during the timed training steps and evaluations is
recorded beside them (Linux /proc), with the load averages.

With --end_to_end it times whole runs instead: one DAE-PTR seed (selection, retraining, one
test evaluation, through the run loop like a table's run) on --dataset with "before" settings
(today's, the committed validated settings as a table runs them, changed by --before)
and then one with "after" settings (today's changed by --after), writing
`end_to_end.before|after.seconds`, `.val_ndcg@3`, `.test_ndcg@3` and `.other_load` (the
share of CPU time other processes took during the run) to
`<output_dir>/bench/end_to_end/bench.json` (the runs' folders beside it). The step flags
(--latent_dim, --encoder, …) do not apply there.

With --scale it times training on synthetic folksonomies against the numbers of posts and
tags (`experiments.bench_scale`): DAE-PTR with the full and with the sampled decoder, and
PITF; each point's step, epoch and peak memory in a process of its own, the growth
exponents, and a PNG, in `<output_dir>/bench/scale/` (`bench.json`, `bench.md`,
`scale.png`).

With --dataset=ml100k-foldK it times CDAE for top-N recommendation instead, at the settings
RecBole's CDAE is timed at (K = 50, batch 256 users, corruption 0.5, sigmoid + BCE over all
items; --latent_dim and --batch_size change them): for each XLA setting (--jit), whole
`model.fit` epochs on the fold's training users as the run loop calls it (median of
--steps epochs after --warmup untimed ones: the epoch, not the step, because at 4 steps per
epoch Keras' per-epoch work is part of the cost), and the evaluation of every test user by
`TopNTask.evaluate` (full ranking of all items, P/R/PU/RU@N; warm, median of
--eval_repeats). Writes `<output_dir>/bench/cdae/bench.json` (`cdae.jit_<b>.epoch_s`,
`.step_ms`, `.eval_s`) and `bench.md`.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import os
import pathlib
import platform
import resource
import statistics
import sys
import time
from typing import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import flags, logging  # noqa: E402

from daeptr import hardware, results  # noqa: E402
from daeptr import rng as package_rng  # noqa: E402
from daeptr.data import splits  # noqa: E402
from daeptr.evaluate import evaluate  # noqa: E402
from daeptr.models import DAEPTR, PRECISIONS, dtype_policy  # noqa: E402
from daeptr.models.base import xla_around_matmuls  # noqa: E402
from daeptr.pipeline import max_width, post_dataset  # noqa: E402
from experiments import bench_pairwise, bench_scale, cli, plan, runs, tasks  # noqa: E402
from experiments import flags as flag_groups  # noqa: E402
from experiments import settings as settings_lib  # noqa: E402

ENCODERS = ("sparse", "dense")
JIT_CHOICES = {"false": (False,), "true": (True,), "both": (False, True)}

DATA = flag_groups.data()
DATASET = flag_groups.dataset()
LATENT_DIM = flag_groups.sizes().latent_dim
BATCH_SIZE = flag_groups.sizes().batch_size
DEFAULTS = {"latent_dim": 512, "batch_size": 1024}  # the paper's K on Last.fm, its batch
ENCODER = flags.DEFINE_enum("encoder", "both", [*ENCODERS, "both"], "DAE-PTR encoder(s) to measure.")
JIT = flags.DEFINE_enum("jit", "both", list(JIT_CHOICES), "Keras jit_compile (XLA) setting(s) to measure.")
PRECISIONS_FLAG = flags.DEFINE_list("precisions", list(PRECISIONS), "Precisions to measure, of "
                                    f"{', '.join(PRECISIONS)} (TrainConfig.precision).")
STEPS = flags.DEFINE_integer("steps", 30, "Timed training steps per variant.", lower_bound=1)
ROUNDS = flags.DEFINE_integer("rounds", 3, "Turns in which the variants' steps are timed, a "
                              "share of --steps each (<= --steps).", lower_bound=1)
WARMUP = flags.DEFINE_integer(
    "warmup", 3, "Untimed steps after the compiling first step (>= 1: the first call on the "
    "timing iterator may trace again).", lower_bound=1)
EVAL_REPEATS = flags.DEFINE_integer("eval_repeats", 3, "Timed evaluations of all test posts "
                                    "(after one warm-up); the median is reported.", lower_bound=1)
MATMUL_REPEATS = flags.DEFINE_integer("matmul_repeats", 20, "Timed calls of the reference matmul.",
                                      lower_bound=1)
QUICK = flag_groups.quick()  # K = 16, 3 timed steps, 1 warm-up step, 1 evaluation, 5 matmul repeats
END_TO_END = flags.DEFINE_bool(
    "end_to_end", False, "Time two whole DAE-PTR runs (seed 0) instead of steps: today's "
    "settings changed by --before, then today's changed by --after.")
BEFORE = flags.DEFINE_list(
    "before", [], "--end_to_end: NAME=VALUE settings of DAE-PTR that the first run changes "
    "from today's, e.g. sparse_slots=0 (the sparse encoder summing over every padded "
    "position, as it did before its compaction).")
SCALE = flags.DEFINE_bool(
    "scale", False, "Time training against posts and tags on synthetic folksonomies "
    "instead (experiments.bench_scale): every --scale_models × --scale_posts × --scale_tags "
    "point in a process of its own, at --latent_dim and --batch_size.")
SCALE_POSTS = flags.DEFINE_list("scale_posts", ["10000", "100000", "1000000"],
                                "--scale: numbers of posts.")
SCALE_TAGS = flags.DEFINE_list("scale_tags", ["1000", "10000", "100000"],
                               "--scale: numbers of tags.")
SCALE_MODELS = flags.DEFINE_list("scale_models", ["dae_ptr", "dae_ptr_sampled", "pitf"],
                                 "--scale: dae_ptr (full decoder), dae_ptr_sampled, pitf.")
NUM_SAMPLED = flags.DEFINE_integer("num_sampled", 1024, "--scale: tags the sampled decoder "
                                   "draws per mini-batch.", lower_bound=1)
EPOCH_BUDGET = flags.DEFINE_float("epoch_budget", 60.0, "--scale: a point's epoch is timed "
                                  "whole when estimated at most this many seconds.",
                                  lower_bound=0.0)
PAIRWISE = flags.DEFINE_bool(
    "pairwise", False, "Time the training step of PITF, NLTF and ABNT on --dataset instead "
    "(experiments.bench_pairwise), each model in a process of its own with its committed "
    "settings.")
AFTER = flags.DEFINE_list(
    "after", [], "--end_to_end: NAME=VALUE settings of DAE-PTR (hyper-parameters or "
    "training settings) that the second run changes from today's, e.g. "
    "precision=float32,schedule=constant.")


@dataclasses.dataclass(frozen=True)
class Settings:
    dataset: str = "lastfm"
    core: int = 5
    latent_dim: int = 512
    batch_size: int = 1024
    encoders: tuple[str, ...] = ENCODERS
    jit: tuple[bool, ...] = (False, True)
    precisions: tuple[str, ...] = PRECISIONS
    steps: int = 30
    rounds: int = 3
    warmup: int = 3
    eval_repeats: int = 3
    matmul_repeats: int = 20
    quick: bool = False
    smoke: bool = False  # synthetic data
    tie_break: str = "random"
    split_seed: int = 0
    seed: int = 0
    corruption: float = 0.8  # the paper's Last.fm setting; it does not change the FLOPs
    learning_rate: float = 1e-3

    def __post_init__(self):
        for name in ("core", "latent_dim", "batch_size", "steps", "rounds", "warmup",
                     "eval_repeats", "matmul_repeats"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.rounds > self.steps:
            raise ValueError(f"rounds must be <= steps={self.steps}, got {self.rounds}")
        if self.dataset not in ("lastfm", "ml10m"):
            raise ValueError(f"dataset must be 'lastfm' or 'ml10m', got {self.dataset!r}")
        bad = [e for e in self.encoders if e not in ENCODERS]
        if bad or not self.encoders:
            raise ValueError(f"encoders must be a non-empty subset of {ENCODERS}, got {self.encoders}")
        if not self.jit or any(not isinstance(j, bool) for j in self.jit):
            raise ValueError(f"jit must be a non-empty tuple of bools, got {self.jit}")
        bad = [p for p in self.precisions if p not in PRECISIONS]
        if bad or not self.precisions:
            raise ValueError(f"precisions must be a non-empty subset of {PRECISIONS}, got "
                             f"{self.precisions}")

    def quickened(self) -> "Settings":
        """The --quick variant: tiny K and few steps, everything else unchanged."""
        return dataclasses.replace(self, latent_dim=16, steps=min(self.steps, 3),
                                   rounds=min(self.rounds, self.steps, 3), warmup=1,
                                   eval_repeats=1, matmul_repeats=5, quick=True)


# ---- FLOP counting -------------------------------------------------------------------------

def train_step_flops(batch: int, width: int, num_tags: int, latent_dim: int, encoder: str) -> dict:
    """Matmul FLOPs of one DAE-PTR training step; a multiply-add counts as 2 FLOPs.

    B = batch, L = padded tag width of the batch (padding included: it is computed), |T| = tags,
    K = latent_dim.

        forward  encoder W·ỹ   dense:  2·B·|T|·K   ([B,|T|] multi-hot × [|T|,K])
                               sparse: 2·B·L·K     (einsum of ỹ [B,L] with the gathered rows [B,L,K])
                 decoder W′·z          2·B·K·|T|   ([B,K] × [K,|T|])
        backward decoder  ∂W′ and ∂z:  2 · 2·B·K·|T|           (= 2× its forward)
                 encoder  ∂W only:     1 · forward encoder     (ỹ is data, its gradient is
                                       never needed, and TF does not compute it)

    `flops` is that sum; `flops_3x_forward` is the usual convention backward = 2× forward for
    every matmul (it also counts the unneeded ∂ỹ, so it is larger for the dense encoder).
    Not counted: element-wise work (Eq. 7 mask, σ, cross-entropy, bias adds), the P/Q
    embedding gathers, the L2 term of Eq. 12 and the Adam update — all O(B·|T| + parameters)
    and memory-bound, negligible in FLOPs next to the matmuls but not in time.
    """
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
    encoder_fwd = 2 * batch * (num_tags if encoder == "dense" else width) * latent_dim
    decoder_fwd = 2 * batch * latent_dim * num_tags
    forward = encoder_fwd + decoder_fwd
    return {
        "encoder_forward": encoder_fwd,
        "decoder_forward": decoder_fwd,
        "flops": forward + 2 * decoder_fwd + encoder_fwd,
        "flops_3x_forward": 3 * forward,
    }


def matmul_flops(batch: int, latent_dim: int, num_tags: int) -> int:
    """[B, K] × [K, |T|]: 2·B·K·|T| FLOPs."""
    return 2 * batch * latent_dim * num_tags


# ---- measurements --------------------------------------------------------------------------

def _sync(tensor) -> None:
    """Waits until `tensor` (and everything queued before it) is computed."""
    tf.reshape(tensor, [-1])[:1].numpy()


def time_matmul(batch: int, latent_dim: int, num_tags: int, jit: bool, repeats: int,
                dtype: str = "float32") -> dict:
    """Seconds per call of a compiled [B,K]×[K,|T|] matmul in `dtype`, warm: the median over
    `repeats` timings of a run of calls that lasts ≥ 20 ms (one call on a CPU; many on a
    GPU, where one call is shorter than the host's dispatch and sync)."""
    rng = np.random.default_rng(0)
    a = tf.cast(rng.standard_normal((batch, latent_dim), dtype=np.float32), dtype)
    b = tf.cast(rng.standard_normal((latent_dim, num_tags), dtype=np.float32), dtype)
    # Arguments, not captured constants: XLA would fold a product of constants.
    matmul = tf.function(tf.matmul, jit_compile=jit)
    for _ in range(3):
        _sync(matmul(a, b))
    start = time.perf_counter()
    _sync(matmul(a, b))
    calls = max(1, math.ceil(0.02 / (time.perf_counter() - start)))
    times = []
    with OtherLoad() as load:
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(calls):
                c = matmul(a, b)
            _sync(c)
            times.append((time.perf_counter() - start) / calls)
    seconds = statistics.median(times)
    flops = matmul_flops(batch, latent_dim, num_tags)
    return {"jit": jit, "dtype": dtype, "shape": [[batch, latent_dim], [latent_dim, num_tags]],
            "flops": flops,
            "calls_per_timing": calls, "seconds": seconds, "flops_per_s": flops / seconds,
            "times": times, "other_load": load.share}


def time_penalty(split: splits.TagSplit, latent_dim: int, repeats: int) -> dict:
    """Milliseconds of Eq. 12's value over every weight of a DAE-PTR of this size (`HalfL2`,
    summed as `TagRecommender` sums `losses`), warm, median of `repeats` calls: compiled by
    XLA, as inside a one-program step, and in TensorFlow's kernels, where the step around
    the matmuls computes it."""
    model = DAEPTR(split.num_users, split.num_items, split.num_tags, latent_dim=latent_dim)
    penalty = lambda: tf.add_n(model.losses)  # noqa: E731
    return {"xla": _warm_ms(tf.function(penalty, jit_compile=True), repeats),
            "tensorflow": _warm_ms(tf.function(penalty, jit_compile=False), repeats),
            "weights": int(sum(np.prod(w.shape) for w in model.trainable_weights))}


def _warm_ms(function, repeats: int) -> float:
    """Milliseconds of one call of `function` (no arguments), after a first call that
    traces and compiles it: the median of `repeats` calls, each until its result is ready."""
    _sync(function())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _sync(function())
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def time_draws(shape: tuple[int, int], jit: bool, repeats: int) -> dict:
    """Milliseconds of one U[0, 1) draw of `shape` (a mask-out's noise) compiled with
    `jit`, warm, median of `repeats` calls: with `keras.random.uniform`, which lets
    TensorFlow choose ("auto_select"), and with Philox named, as `daeptr.rng` draws: the
    same numbers, but under XLA on a CPU the automatic choice compiles to far slower code."""
    keras_seed, package_seed = keras.random.SeedGenerator(0), keras.random.SeedGenerator(0)
    draws = {"keras_default": lambda: keras.random.uniform(shape, seed=keras_seed),
             "philox": lambda: package_rng.uniform(shape, package_seed)}
    return {name: _warm_ms(tf.function(draw, jit_compile=jit), repeats)
            for name, draw in draws.items()}


def _cpu_ticks() -> tuple[int, int, int] | None:
    """(busy ticks of all CPUs, all ticks of all CPUs, this process' ticks); None off Linux."""
    try:
        with open("/proc/stat") as f:
            cpu = [int(x) for x in f.readline().split()[1:]]
        with open("/proc/self/stat") as f:
            own = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    # user nice system idle iowait irq softirq steal …; steal = time the hypervisor gave away
    busy = cpu[0] + cpu[1] + cpu[2] + sum(cpu[5:8])
    return busy, sum(cpu[:8]), int(own[11]) + int(own[12])  # utime + stime


class OtherLoad:
    """Share of the machine's CPU time taken by other processes (and the hypervisor) while
    the `with` block ran: 0 on an otherwise idle machine, 0.5 when others kept one of two
    cores busy. None where /proc is not available."""

    def __enter__(self):
        self._start = _cpu_ticks()
        self.share = None
        return self

    def __exit__(self, *exc):
        end = _cpu_ticks()
        if self._start is not None and end is not None:
            busy, total, own = (e - s for e, s in zip(end, self._start))
            self.share = max(0.0, (busy - own) / total) if total > 0 else None
        return False


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def _gpu_present() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))


def _full_batches(dataset: tf.data.Dataset, batch: int) -> tf.data.Dataset:
    return dataset.filter(lambda b: tf.shape(b["user"])[0] == batch)


XLA_MODES = ("none", "whole_step", "around_matmuls")


def xla_modes(jit: bool, precision: str) -> tuple[str, ...]:
    """How a variant with `jit` and `precision` is compiled: the way `daeptr.training` would
    compile it first; in bfloat16 on a CPU, also the whole step in XLA, which the package
    does not do there, for comparison."""
    if not jit:
        return ("none",)
    with dtype_policy(precision):
        probe = DAEPTR(2, 2, 2, latent_dim=2)
    if xla_around_matmuls(probe, True):
        return ("around_matmuls", "whole_step")
    return ("whole_step",)


def matmul_jit(xla: str) -> bool:
    """Whether the step's large matmuls run inside XLA under `xla`."""
    return xla == "whole_step"


@dataclasses.dataclass
class Variant:
    """One (encoder, jit, precision, xla) variant of DAE-PTR, compiled and warm, with the
    steps timed so far."""

    encoder: str
    jit: bool
    precision: str
    xla: str
    model: keras.Model
    iterator: object
    batch: int
    width: int
    first_step_s: float
    peak_rss_bytes: int
    gpu_peak_bytes: int | None
    times: list = dataclasses.field(default_factory=list)
    loads: list = dataclasses.field(default_factory=list)
    loss: float = math.nan

    def time_steps(self, steps: int) -> None:
        """Times `steps` more steps, each up to the moment its loss is on the host."""
        train_function = self.model.train_function
        with OtherLoad() as load:
            for _ in range(steps):
                start = time.perf_counter()
                logs = train_function(self.iterator)
                logs["loss"].numpy()
                self.times.append(time.perf_counter() - start)
        self.loss = float(logs["loss"])
        self.loads.append(load.share)


def prepare_variant(split: splits.TagSplit, settings: Settings, encoder: str, jit: bool,
                    precision: str, xla: str | None = None) -> Variant:
    """Builds and compiles one variant, compiled as `xla` says (`XLA_MODES`; default: as
    `daeptr.training` compiles it), runs its compiling step and `settings.warmup` more."""
    xla = xla or xla_modes(jit, precision)[0]
    train, test = split.train_posts("test"), split.eval_posts("test")
    width = max_width(train, test)
    B = settings.batch_size
    if _gpu_present():
        tf.config.experimental.reset_memory_stats("GPU:0")

    keras.utils.set_random_seed(settings.seed)
    with dtype_policy(precision):  # as `daeptr.training` builds it
        model = DAEPTR(split.num_users, split.num_items, split.num_tags,
                       latent_dim=settings.latent_dim, corruption=settings.corruption,
                       encoder=encoder, seed=settings.seed)
    optimizer = keras.optimizers.Adam(settings.learning_rate)
    if xla == "around_matmuls":
        model.compile_around_matmuls(optimizer)
    else:
        model.compile(optimizer=optimizer, jit_compile=xla == "whole_step")
    dataset = post_dataset(train, B, shuffle=True, seed=settings.seed, width=width)
    if len(train) >= B:
        dataset = _full_batches(dataset, B)
    else:  # fewer posts than one batch: the one (partial) batch is the whole epoch
        B = len(train)
    dataset = dataset.repeat()

    # First step through model.fit: builds the model and the optimizer, traces and compiles.
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    first_step = time.perf_counter() - start
    # Then the same compiled step (`model.fit` calls `model.train_function(iterator)`).
    model.make_train_function()  # returns the existing one
    iterator = iter(model.distribute_strategy.experimental_distribute_dataset(dataset))
    for _ in range(settings.warmup):
        model.train_function(iterator)["loss"].numpy()
    return Variant(encoder, jit, precision, xla, model, iterator, B, width, first_step,
                   _peak_rss_bytes(),
                   tf.config.experimental.get_memory_info("GPU:0")["peak"]
                   if _gpu_present() else None)


def finish_variant(variant: Variant, split: splits.TagSplit, settings: Settings,
                   reference: dict, draws: dict) -> dict:
    """The variant's row: its step statistics, and the time to evaluate every test post;
    frees its model."""
    test = split.eval_posts("test")
    B, times = variant.batch, variant.times
    step = statistics.median(times)
    flops = train_step_flops(B, variant.width, split.num_tags, settings.latent_dim,
                             variant.encoder)
    steps_per_epoch = math.ceil(len(split.train_posts("test")) / settings.batch_size)
    ref = reference[matmul_jit(variant.xla), variant.precision]

    evaluate(variant.model, test)  # warm-up: traces the ranking function
    eval_times = []
    with OtherLoad() as eval_load:
        for _ in range(settings.eval_repeats):
            start = time.perf_counter()
            metrics, _ = evaluate(variant.model, test)
            eval_times.append(time.perf_counter() - start)
    loads = [x for x in variant.loads if x is not None]
    row = {
        "encoder": variant.encoder,
        "jit": variant.jit,
        "precision": variant.precision,
        "xla": variant.xla,
        "first_step_s": variant.first_step_s,
        "step_s": step,
        "step_mean_s": statistics.fmean(times),
        "step_times_s": times,
        "posts_per_s": B / step,
        "steps_per_epoch": steps_per_epoch,
        "epoch_s": steps_per_epoch * step,
        "loss_after": variant.loss,
        "flops_per_step": flops["flops"],
        "flops_per_step_3x_forward": flops["flops_3x_forward"],
        "flops_detail": flops,
        "train_flops_per_s": flops["flops"] / step,
        "matmul_flops_per_s": ref["flops_per_s"],
        "train_vs_matmul": flops["flops"] / step / ref["flops_per_s"],
        "draw_ms": draws[variant.jit],
        "eval_posts": len(test),
        "eval_s": statistics.median(eval_times),
        "eval_times_s": eval_times,
        "eval_posts_per_s": len(test) / statistics.median(eval_times),
        "eval_hit@10": metrics["hit@10"],
        "other_load_train": statistics.fmean(loads) if loads else None,
        "other_load_eval": eval_load.share,
        "peak_rss_bytes": variant.peak_rss_bytes,
        "gpu_peak_bytes": variant.gpu_peak_bytes,
    }
    variant.model = variant.iterator = None
    keras.backend.clear_session()
    gc.collect()
    return row


def describe_device() -> dict:
    cpu, isa = platform.processor() or platform.machine(), None
    try:
        with open("/proc/cpuinfo") as f:
            info = {}  # of the first CPU: every CPU lists the same fields
            for key, _, value in (line.partition(":") for line in f):
                info.setdefault(key.strip(), value.strip())
        cpu = info.get("model name") or cpu
        # The instruction sets that decide whether bfloat16 matmuls are fast on a CPU.
        isa = sorted(hardware.cpu_flags()
                     & {"avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
    except OSError:
        pass
    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        gpus.append({"name": gpu.name, "device_name": details.get("device_name"),
                     "compute_capability": details.get("compute_capability")})
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu": cpu,
        "cpu_isa": isa,
        "auto_precision": hardware.resolve_precision("auto"),  # what precision=auto trains in
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "gpus": gpus,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "loadavg_at_start": load,
    }


def describe(device: dict) -> str:
    if device["gpus"]:
        return ", ".join(g["device_name"] or g["name"] for g in device["gpus"])
    isa = device.get("cpu_isa")
    return (f"CPU only: {device['cpu']}, {device['usable_cpus']} usable cores"
            + (f" ({', '.join(isa) or 'no AVX2'})" if isa is not None else ""))


def by_precision(rows: list[dict]) -> dict:
    """Per precision: the training step of the package's default variant (sparse encoder
    with XLA) where measured, else of the first variant measured, in ms and s/epoch, and the
    same-run matmul GFLOP/s in that precision's compute dtype."""
    out = {}
    for row in sorted(rows, key=lambda r: (r["encoder"], r["jit"]) != ("sparse", True)):
        if row["xla"] != xla_modes(row["jit"], row["precision"])[0]:
            continue  # a comparison the package does not train with
        out.setdefault(row["precision"], {
            "encoder": row["encoder"], "jit": row["jit"], "xla": row["xla"],
            "step_ms": 1e3 * row["step_s"],
            "epoch_s": row["epoch_s"], "matmul_gflop_per_s": row["matmul_flops_per_s"] / 1e9,
            "train_gflop_per_s": row["train_flops_per_s"] / 1e9})
    return out


def run_bench(settings: Settings, options: tasks.DataOptions) -> dict:
    """Every measurement of the module docstring, as one JSON-ready dict."""
    device = describe_device()  # before any work: its load average is the machine's
    started = time.perf_counter()
    split = tasks.tag_split(settings.dataset, settings.core, options)
    train, test = split.train_posts("test"), split.eval_posts("test")
    B = min(settings.batch_size, len(train))
    data = {
        "dataset": settings.dataset, "core": settings.core, "split": split.fingerprint(),
        "users": split.num_users, "items": split.num_items, "tags": split.num_tags,
        "train_posts": len(train), "test_posts": len(test), "width": max_width(train, test),
        "load_s": time.perf_counter() - started,
    }
    variants = [(encoder, jit, precision, xla) for encoder in settings.encoders
                for jit in settings.jit for precision in settings.precisions
                for xla in xla_modes(jit, precision)]
    # Each variant's matmuls run in XLA or in TensorFlow's kernels: time the plain matmul
    # the same way, in its compute dtype.
    reference = {(matmul_jit(xla), p): None for _, _, p, xla in variants}
    for jit, p in reference:
        reference[jit, p] = time_matmul(B, settings.latent_dim, split.num_tags, jit,
                                        settings.matmul_repeats,
                                        keras.dtype_policies.get(p).compute_dtype)
    # The mask's draw depends on neither the encoder nor the precision: timed once per XLA setting.
    draws = {jit: time_draws((B, data["width"]), jit, settings.matmul_repeats)
             for jit in settings.jit}
    penalty = time_penalty(split, settings.latent_dim, settings.matmul_repeats)
    # Every variant is prepared first, then their steps are timed in turns, `rounds` times
    # a share of `steps` each: the speed of a shared machine drifts over minutes, and
    # variants timed one after the other would compare one period with another.
    prepared = [prepare_variant(split, settings, *variant) for variant in variants]
    shares = [len(part) for part in np.array_split(np.arange(settings.steps), settings.rounds)]
    for share in shares:
        for variant in prepared:
            variant.time_steps(share)
    rows = [finish_variant(v, split, settings, reference, draws) for v in prepared]
    return {
        "settings": dataclasses.asdict(settings),
        "device": device,
        "device_summary": describe(device),
        "tensorflow": tf.__version__,
        "data": data,
        "matmul": list(reference.values()),
        "penalty_ms": penalty,
        "variants": rows,
        "precision": by_precision(rows),
        "total_s": time.perf_counter() - started,
        "loadavg_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


LOADED = 0.1  # other processes' CPU share above which a measurement is flagged


def _load_warning(result: dict) -> list[str]:
    """One line naming the measurements that other processes slowed down, if any."""
    loaded = [f"matmul (jit {str(m['jit']).lower()}, {m['dtype']}): {100 * m['other_load']:.0f}%"
              for m in result["matmul"] if (m["other_load"] or 0) > LOADED]
    for r in result["variants"]:
        for what, key in (("training", "other_load_train"), ("evaluation", "other_load_eval")):
            if (r[key] or 0) > LOADED:
                loaded.append(f"{r['encoder']}/jit {str(r['jit']).lower()}/{r['precision']} "
                              f"{what}: {100 * r[key]:.0f}%")
    if not loaded:
        return []
    return ["**Taken under load** (other processes' share of the CPU time): " + "; ".join(loaded)
            + ". Those numbers, and ratios built on them, are not comparable to idle runs."]


def _load_cell(row: dict) -> str:
    shares = [row["other_load_train"], row["other_load_eval"]]
    if any(x is None for x in shares):
        return "n/a"
    return " / ".join(f"{100 * x:.0f}%" for x in shares)


def markdown(result: dict) -> str:
    """The short report: a header and one table row per variant."""
    s, d, device = result["settings"], result["data"], result["device"]
    gpu = bool(device["gpus"])
    header = ["encoder", "jit", "precision", "XLA", "step ms", "posts/s", "s/epoch", "GFLOP/step",
              "train GFLOP/s", "matmul GFLOP/s", "train/matmul",
              "mask draw ms (default / Philox)",
              f"eval s ({d['test_posts']:,} posts)", "peak RSS MiB",
              *(["GPU peak MiB"] if gpu else []), "other load"]
    rows = []
    for r in result["variants"]:
        rows.append([
            r["encoder"], str(r["jit"]).lower(), r["precision"], r["xla"].replace("_", " "),
            f"{1e3 * r['step_s']:.1f}", f"{r['posts_per_s']:,.0f}", f"{r['epoch_s']:.2f}",
            f"{r['flops_per_step'] / 1e9:.2f}", f"{r['train_flops_per_s'] / 1e9:.1f}",
            f"{r['matmul_flops_per_s'] / 1e9:.1f}", f"{100 * r['train_vs_matmul']:.0f}%",
            f"{r['draw_ms']['keras_default']:.2f} / {r['draw_ms']['philox']:.2f}",
            f"{r['eval_s']:.2f}", f"{r['peak_rss_bytes'] / 2**20:,.0f}",
        ] + ([f"{r['gpu_peak_bytes'] / 2**20:,.0f}"] if gpu else []) + [_load_cell(r)])
    load = device.get("loadavg_at_start")
    lines = [
        f"# DAE-PTR benchmark: {s['dataset']} core-{s['core']}"
        + (" (--smoke: synthetic data)" if s.get("smoke") else " (--quick)" if s["quick"] else ""),
        f"Device: {result['device_summary']}; TensorFlow {result['tensorflow']}, "
        f"Keras {device['keras']}; load average at start "
        + (f"{load[0]:.2f}" if load else "n/a") + f", at end {result['loadavg_at_end'][0]:.2f}"
        + " (1 min).",
        f"|T| = {d['tags']:,}, B = {s['batch_size']:,}, K = {s['latent_dim']}, L = {d['width']}; "
        f"{d['train_posts']:,} training posts = {result['variants'][0]['steps_per_epoch']} "
        f"steps/epoch. Step: median of {s['steps']} timed steps after the compiling step and "
        f"{s['warmup']} warm-up step(s), the variants timed in turns ({s.get('rounds', 1)} "
        f"rounds); evaluation: median of {s['eval_repeats']} after a warm-up.",
        results.markdown_table(pd.DataFrame(rows, columns=header),
                               [False] * 4 + [True] * (len(header) - 4)),
        *_load_warning(result),
        *([f"End to end (`{e['source']}`, {e['device_summary']}): one DAE-PTR seed "
           f"{e['before']['seconds']:.1f} s before, {e['after']['seconds']:.1f} s after "
           f"({e['speedup']:.2f}x), validation NDCG@3 {e['before']['val_ndcg@3']:.5f} -> "
           f"{e['after']['val_ndcg@3']:.5f}."]
          if (e := result.get("end_to_end")) else []),
        *([f"Eq. 12's value over all {result['penalty_ms']['weights']:,} weights: "
           f"{result['penalty_ms']['xla']:.2f} ms compiled by XLA, "
           f"{result['penalty_ms']['tensorflow']:.2f} ms in TensorFlow's kernels."]
          if "penalty_ms" in result else []),
        "XLA: none; the whole step one XLA program (Keras' jit_compile=True); or around "
        "the matmuls: the step's element-wise parts and its update compiled by XLA, its "
        "large matmuls in TensorFlow's kernels (what the package trains with in bfloat16 on "
        "a CPU, `daeptr.models.base`). "
        "GFLOP/step: matmul FLOPs of forward + backward (`train_step_flops`). matmul: "
        "tf.matmul [B,K]×[K,|T|] run where the variant runs its matmuls (inside XLA or "
        "not), in its compute dtype (bfloat16 for mixed_bfloat16), warm, median. Mask draw: one "
        "[B, L] U[0,1) draw with the same jit_compile, Keras' default generator / Philox "
        "(what the package draws with, daeptr.rng), warm, median. "
        "Peak RSS: the process' high-water mark so far. Other load: share of all CPU time "
        "used by other processes during the timed steps / evaluations (0% = idle machine).",
    ]
    return "\n\n".join(lines) + "\n"


def write(out: pathlib.Path, result: dict, report: str) -> pathlib.Path:
    """`out/bench.json` (`result`) and `out/bench.md` (`report`)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("bench.json", json.dumps(result, indent=2, default=str)),
                       ("bench.md", report)):
        tmp = out / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out / name)
    return out / "bench.json"


def settings_from_flags() -> Settings:
    label = DATASET.value
    plan.labels([label], "--dataset")
    dataset, core, _ = tasks.parse(label)
    if dataset not in tasks.TAG_SETS:
        raise cli.FlagError(f"--dataset={label}: the benchmark runs on lastfm-coreP or ml10m-coreP")
    try:
        settings = Settings(
            dataset=dataset, core=core, latent_dim=LATENT_DIM.value,
            batch_size=BATCH_SIZE.value,
            encoders=ENCODERS if ENCODER.value == "both" else (ENCODER.value,),
            jit=JIT_CHOICES[JIT.value], precisions=tuple(PRECISIONS_FLAG.value),
            steps=STEPS.value, rounds=ROUNDS.value, warmup=WARMUP.value,
            eval_repeats=EVAL_REPEATS.value, matmul_repeats=MATMUL_REPEATS.value,
            tie_break=DATA.tie_break.value, split_seed=DATA.split_seed.value,
            smoke=DATA.smoke.value,
        )
    except ValueError as err:  # the messages start with the setting, which is the flag
        raise cli.FlagError(f"--{err}") from None
    return settings.quickened() if QUICK.value or DATA.smoke.value else settings


# ---- end to end ----------------------------------------------------------------------------

def end_to_end_settings(label: str, tree: pathlib.Path, mode: str, specs: list[str],
                        before_specs: Sequence[str] = ()) -> dict[str, settings_lib.Settings]:
    """The settings of the two runs, checked as the drivers check theirs: "before", today's
    (the committed validated settings and the mode's sizes, as a table runs them) changed by
    the NAME=VALUE `before_specs` of --before, and "after", today's changed by the `specs`
    of --after."""
    request = settings_lib.Request(tree, mode=mode, validated=settings_lib.read_validated())
    today = settings_lib.resolve("dae_ptr", label, request)
    arms = {}
    for name, flag, changes in (("before", "--before", before_specs), ("after", "--after", specs)):
        arms[name] = today.at(plan.flag_error(settings_lib.parse_settings, list(changes),
                                              "dae_ptr", flag))
        cli.check_model("dae_ptr", label, arms[name].hparams, flag)
        cli.check_train(arms[name].train, flag, label)
    return arms


def run_end_to_end(label: str, options: tasks.DataOptions, arms: dict, root: pathlib.Path,
                   mode: str) -> dict:
    """One whole DAE-PTR run of seed 0 on `label` per arm, one after the other, through the
    run loop (as a table runs it, under `root`; re-run if it exists): seconds, validation and
    test NDCG@3."""
    device = describe_device()
    started = time.perf_counter()
    part, = tasks.load(label, options)
    out = {}
    for name, settings in arms.items():
        run = runs.Run("dae_ptr", part, settings.hparams, settings.config(seed=0), mode, "full",
                       root / part.label / "dae_ptr" / name)
        with OtherLoad() as load:
            result, _ = runs.execute(run, overwrite=True, prefix=f"{name}: ")
        out[name] = {"hparams": settings.hparams, "train": settings.train, "run": str(run.dir),
                     "seconds": result["seconds"], "best_epoch": result["best_epoch"],
                     "epochs_run": result["epochs_run"], "val_ndcg@3": result["valid"]["ndcg@3"],
                     "test_ndcg@3": result["test"]["ndcg@3"], "test_hit@3": result["test"]["hit@3"],
                     "other_load": load.share}
    flat = {name: {**a.hparams, **a.train} for name, a in arms.items()}
    # What each run sets that the other does not (or sets differently).
    changed = {name: {k: v for k, v in mine.items() if any(o.get(k) != v for o in flat.values())}
               for name, mine in flat.items()}
    return {"settings": {"dataset": label, "mode": mode, "changed": changed},
            "device": device, "device_summary": describe(device), "tensorflow": tf.__version__,
            "split": part.fingerprint, "end_to_end": out, "total_s": time.perf_counter() - started}


def end_to_end_summary(path: pathlib.Path) -> dict | None:
    """The end-to-end record at `path` (written by --end_to_end into the same tree) in short,
    for the step record to carry beside its own numbers: each arm's seconds and validation
    and test NDCG@3, the speed-up, the record's device and file. None where there is none."""
    try:
        record = json.loads(path.read_text())
        arms = {name: {k: arm[k] for k in ("seconds", "val_ndcg@3", "test_ndcg@3")}
                for name, arm in record["end_to_end"].items()}
        speedup = arms["before"]["seconds"] / arms["after"]["seconds"]
    except (OSError, ValueError, KeyError, ZeroDivisionError):
        return None
    return {**arms, "speedup": speedup, "device_summary": record.get("device_summary"),
            "changed": record.get("settings", {}).get("changed"), "source": str(path)}


def end_to_end_markdown(result: dict) -> str:
    frame = pd.DataFrame([{"run": name, "seconds": f"{a['seconds']:.1f}",
                           "epochs (best / run)": f"{a['best_epoch']} / {a['epochs_run']}",
                           "val NDCG@3": f"{a['val_ndcg@3']:.5f}",
                           "test NDCG@3": f"{a['test_ndcg@3']:.5f}",
                           "other load": ("n/a" if a.get("other_load") is None
                                          else f"{100 * a['other_load']:.0f}%")}
                          for name, a in result["end_to_end"].items()])
    s = result["settings"]
    return "\n\n".join([
        f"# DAE-PTR end to end: {s['dataset']}"
        + ("" if s["mode"] == "full" else f" (--{s['mode']})"),
        f"Device: {result['device_summary']}; TensorFlow {result['tensorflow']}. One seed "
        "(selection, retraining, one test evaluation) per row, one after the other, at the "
        "committed settings except: "
        + "; ".join(f"{name}: " + (", ".join(f"{k}={v}" for k, v in changes.items()) or "none")
                    for name, changes in s["changed"].items()) + ".",
        results.markdown_table(frame, [False, True, True, True, True, True])]) + "\n"


# ---- top-N: CDAE on an ML-100K fold -----------------------------------------------------

CDAE_DEFAULTS = {"latent_dim": 50, "batch_size": 256}  # RecBole's CDAE timing settings


class _EpochTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)


def bench_cdae(part: tasks.Part, latent_dim: int, batch_size: int, jit: bool, epochs: int,
               warmup: int, eval_repeats: int, seed: int = 0) -> dict:
    """Epoch and full-evaluation time of CDAE on one fold, built and trained as the run loop
    does it (`daeptr.training`)."""
    from daeptr import models
    from daeptr.training import TrainConfig, compiled, _fit

    task = part.task
    config = TrainConfig(batch_size=batch_size, learning_rate=1e-3, jit_compile=jit, seed=seed)
    model = compiled(lambda rows: models.build("cdae", rows, **part.sizes, latent_dim=latent_dim,
                                             corruption=0.5, output="sigmoid_bce"),
                   task.train_rows("test"), config)
    timer = _EpochTimes()
    with OtherLoad() as train_load:
        history = _fit(model, task.train_dataset("test", batch_size, seed), warmup + epochs,
                       [timer]).history
    timed = timer.seconds[warmup:]
    task.evaluate(model, "test", config.eval_batch_size)  # warm-up: traces the ranking
    eval_times = []
    with OtherLoad() as eval_load:
        for _ in range(eval_repeats):
            start = time.perf_counter()
            metrics, extra, _ = task.evaluate(model, "test", config.eval_batch_size)
            eval_times.append(time.perf_counter() - start)
    users = len(task.train_rows("test"))
    steps = math.ceil(users / batch_size)
    draws = time_draws((batch_size, task.width), jit, 20)
    row = {"jit": jit, "latent_dim": latent_dim, "batch_size": batch_size,
           "users": users, "items": part.sizes["num_items"], "steps_per_epoch": steps,
           "first_epoch_s": timer.seconds[0], "epoch_s": statistics.median(timed),
           "epoch_times_s": timed, "step_ms": 1e3 * statistics.median(timed) / steps,
           "loss_after": float(history["loss"][-1]), "draw_ms": draws,
           "eval_s": statistics.median(eval_times), "eval_times_s": eval_times,
           "eval_users": extra["users_evaluated"], "eval_pu@10": metrics.get("pu@10"),
           "other_load_train": train_load.share, "other_load_eval": eval_load.share}
    del model
    keras.backend.clear_session()
    gc.collect()
    return row


def run_cdae(label: str, options: tasks.DataOptions, latent_dim: int, batch_size: int,
             jits: tuple[bool, ...], epochs: int, warmup: int, eval_repeats: int) -> dict:
    device = describe_device()
    started = time.perf_counter()
    part, = tasks.load(label, options)
    rows = [bench_cdae(part, latent_dim, batch_size, jit, epochs, warmup, eval_repeats)
            for jit in jits]
    return {"settings": {"dataset": label, "latent_dim": latent_dim, "batch_size": batch_size,
                         "epochs": epochs, "warmup": warmup, "eval_repeats": eval_repeats},
            "device": device, "device_summary": describe(device), "tensorflow": tf.__version__,
            "split": part.fingerprint, "variants": rows,
            "cdae": {f"jit_{str(r['jit']).lower()}": {k: r[k] for k in ("epoch_s", "step_ms", "eval_s")}
                     for r in rows},
            "total_s": time.perf_counter() - started}


def cdae_markdown(result: dict) -> str:
    s = result["settings"]
    frame = pd.DataFrame([{
        "jit": str(r["jit"]).lower(), "epoch s": f"{r['epoch_s']:.3f}",
        "step ms": f"{r['step_ms']:.1f}", "first epoch s": f"{r['first_epoch_s']:.2f}",
        "mask draw ms (default / Philox)":
            f"{r['draw_ms']['keras_default']:.2f} / {r['draw_ms']['philox']:.2f}",
        f"eval s ({r['eval_users']} users)": f"{r['eval_s']:.3f}",
        "other load": _load_cell(r)} for r in result["variants"]])
    first = result["variants"][0]
    return "\n\n".join([
        f"# CDAE benchmark: {s['dataset']}",
        f"Device: {result['device_summary']}; TensorFlow {result['tensorflow']}. K = "
        f"{s['latent_dim']}, batch {s['batch_size']} users ({first['steps_per_epoch']} steps "
        f"per epoch over {first['users']} users × {first['items']} items), corruption 0.5, "
        f"sigmoid + BCE over all items. Epoch: `model.fit`'s whole epoch, median of "
        f"{s['epochs']} after {s['warmup']} untimed; evaluation: every test user ranked over "
        f"all items (P/R/PU/RU@N), median of {s['eval_repeats']} after a warm-up; mask draw: "
        "one [batch, L] U[0,1) draw compiled like the step, Keras' default generator / "
        "Philox (what the package draws with, daeptr.rng).",
        results.markdown_table(frame, [False] + [True] * (len(frame.columns) - 1)),
        "Peer (quoted, not measured here): RecBole 1.2.1's CDAE (PyTorch, CPU) at the same "
        "settings trains an epoch in 0.04–0.06 s and evaluates in 0.20 s on this kind of "
        "machine."]) + "\n"


def _counts(values, flag: str) -> list[int]:
    try:
        counts = [int(float(v)) for v in values]
    except ValueError:
        raise cli.FlagError(f"--{flag}={','.join(values)}: expected numbers") from None
    if not counts or min(counts) < 1:
        raise cli.FlagError(f"--{flag}={','.join(values)}: expected numbers >= 1")
    return counts


def run_scale() -> dict:
    """The --scale record: every point's row (`experiments.bench_scale`), the growth
    exponents, the device and the command."""
    unknown = sorted(set(SCALE_MODELS.value) - set(bench_scale.MODELS))
    if unknown:
        raise cli.FlagError(f"--scale_models: unknown {unknown}; choose from "
                            f"{sorted(bench_scale.MODELS)}")
    posts, tags = _counts(SCALE_POSTS.value, "scale_posts"), _counts(SCALE_TAGS.value, "scale_tags")
    if min(tags) < 5:
        raise cli.FlagError("--scale_tags: every count must be >= 5 (a post has up to 5 tags)")
    quick = QUICK.value or DATA.smoke.value
    if quick:  # the code path in seconds: one tiny point per model
        posts, tags = [2000], [200]
    base = {"latent_dim": 16 if quick else LATENT_DIM.value, "batch_size": BATCH_SIZE.value,
            "num_sampled": min(NUM_SAMPLED.value, 64) if quick else NUM_SAMPLED.value,
            "steps": 2 if quick else STEPS.value, "warmup": 1 if quick else WARMUP.value,
            "epoch_budget": EPOCH_BUDGET.value}
    rows = []
    for model in SCALE_MODELS.value:
        for count in posts:
            for tag_count in tags:
                point = {"model": model, "posts": count, "tags": tag_count, **base}
                row = bench_scale.run_point(point, timeout=3600)
                logging.info("scale %s, %d posts, %d tags: %s", model, count, tag_count,
                             row.get("error") or f"step {1000 * row['step_s']:.1f} ms, "
                             f"epoch {row['epoch_s']:.2f} s, peak RSS "
                             f"{row['peak_rss_bytes'] / 2 ** 30:.2f} GiB")
                rows.append(row)
    done = [r for r in rows if "error" not in r]
    return {"command": cli.command(), "device": describe(describe_device()), **base,
            "rows": rows, "exponents": bench_scale.exponents(done),
            "step_exponents": bench_scale.exponents(done, "step_s")}


def run_pairwise() -> dict:
    """The --pairwise record: each pairwise model's step (`experiments.bench_pairwise`)."""
    label, = plan.labels([DATASET.value], "--dataset")
    if tasks.parse(label)[0] not in tasks.TAG_SETS:
        raise cli.FlagError(f"--dataset={label}: the pairwise models recommend tags "
                            "(lastfm-coreP, ml10m-coreP)")
    if DATA.smoke.value or QUICK.value:
        raise cli.FlagError("--pairwise times real data: give --data_dir, not --smoke/--quick")
    data_dir = plan.data_options().data_dir
    batch = flags.FLAGS["batch_size"].value or 1024
    rows = []
    for model in bench_pairwise.MODELS:
        point = {"model": model, "dataset": label, "data_dir": str(data_dir),
                 "batch_size": batch, "steps": STEPS.value, "warmup": WARMUP.value}
        row = bench_pairwise.run_point(point, timeout=3600)
        logging.info("pairwise %s on %s: %s", model, label, row.get("error")
                     or f"step {1000 * row['step_s']:.1f} ms, epoch {row['epoch_s']:.2f} s")
        rows.append(row)
    return {"command": cli.command(), "device": describe(describe_device()), "dataset": label,
            "rows": rows}


def main(argv: Sequence[str]):
    del argv
    label = DATASET.value
    if not END_TO_END.value and label.startswith("ml100k"):
        plan.labels([label], "--dataset")
        if tasks.parse(label)[2] is None:
            raise cli.FlagError(f"--dataset={label}: the CDAE benchmark times one fold, "
                                "e.g. ml100k-fold1")
        sizes = {name: flag.value if flag.present else CDAE_DEFAULTS[name]
                 for name, flag in (("latent_dim", flags.FLAGS["latent_dim"]),
                                    ("batch_size", flags.FLAGS["batch_size"]))}
        for name, value in sizes.items():
            if value < 1:
                raise cli.FlagError(f"--{name} must be >= 1, got {value}")
        quick = QUICK.value or DATA.smoke.value
        result = run_cdae(label, plan.data_options(), sizes["latent_dim"], sizes["batch_size"],
                          JIT_CHOICES[JIT.value], 2 if quick else STEPS.value,
                          1 if quick else WARMUP.value, 1 if quick else EVAL_REPEATS.value)
        text, out = cdae_markdown(result), plan.tree() / "bench" / "cdae"
    elif SCALE.value:
        result, out = run_scale(), plan.tree() / "bench" / "scale"
        text = bench_scale.markdown(result)
        out.mkdir(parents=True, exist_ok=True)
        bench_scale.plot(result, out / "scale.png")
    elif PAIRWISE.value:
        result, out = run_pairwise(), plan.tree() / "bench" / "pairwise"
        text = bench_pairwise.markdown(result)
    elif END_TO_END.value:
        label, = plan.labels([DATASET.value], "--dataset")
        if tasks.parse(label)[0] not in tasks.TAG_SETS:
            raise cli.FlagError(f"--dataset={label}: the benchmark runs on lastfm-coreP or "
                                "ml10m-coreP")
        tree = plan.tree()
        arms = end_to_end_settings(label, tree, plan.mode(), AFTER.value, BEFORE.value)
        out = tree / "bench" / "end_to_end"
        result = run_end_to_end(label, plan.data_options(), arms, out, plan.mode())
        text = end_to_end_markdown(result)
    else:
        settings = settings_from_flags()
        tree = plan.tree()
        result = run_bench(settings, plan.data_options())
        out = tree / "bench"
        result["end_to_end"] = end_to_end_summary(out / "end_to_end" / "bench.json")
        text = markdown(result)
    path = write(out, result, text)
    print(text)
    print(f"Wrote {path}")


if __name__ == "__main__":
    cli.run(main, DEFAULTS)
