"""The training step of the pairwise baselines (PITF, NLTF, ABNT) on a real split, for
`python -m experiments.bench --pairwise`.

Every model runs in a process of its own: built with its committed settings on the data set
(`experiments/validated.json`: K, λ, learning rate) and compiled as the run loop compiles it
(`daeptr.training.compiled`: float32, XLA asked for), then, on the shuffled training posts
of the final phase, the compiling step and `warmup` steps run and `steps` steps are timed
one by one to the moment their loss is on the host; the step time is their median, an
epoch ceil(posts / B) steps; then every test post is ranked (`daeptr.evaluate`, warm,
once). It reads no API newer than the package's first pairwise
models, so the same file can time an older checkout of the package (`PYTHONPATH=<that
checkout> python experiments/bench_pairwise.py '<point>'`).

    python -m experiments.bench_pairwise '<point as JSON>'     one point, printed as JSON
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import statistics
import subprocess
import sys
import time

MODELS = ("pitf", "nltf", "abnt")
VALIDATED = pathlib.Path(__file__).with_name("validated.json")


def measure(point: dict) -> dict:
    """One model's row (run in its own process: `run_point`)."""
    from daeptr import models
    from daeptr.training import TrainConfig, compiled
    from experiments import tasks

    started = time.perf_counter()
    part, = tasks.load(point["dataset"], tasks.DataOptions(data_dir=point["data_dir"],
                                                           download=False))
    loaded_s = time.perf_counter() - started
    chosen = json.loads(VALIDATED.read_text()).get(point["dataset"], {}).get(point["model"], {})
    chosen = {k: v["value"] for k, v in chosen.items()}
    accepted = models.hyperparameters(point["model"])
    hparams = {k: v for k, v in chosen.items() if k in accepted}
    config = TrainConfig(batch_size=point["batch_size"], seed=0,
                         learning_rate=chosen.get("learning_rate", TrainConfig.learning_rate))
    posts = part.task.train_rows("test")
    model = compiled(lambda rows: models.build(point["model"], rows, **part.sizes, **hparams,
                                               seed=0), posts, config)
    times = time_steps(model, part.task.train_dataset("test", config.batch_size, 0),
                       min(config.batch_size, len(posts)), point["warmup"], point["steps"])
    step = statistics.median(times)
    from daeptr.evaluate import evaluate

    test_posts = part.task.split.eval_posts("test")
    evaluate(model, test_posts)  # traces and compiles
    start = time.perf_counter()
    evaluate(model, test_posts)
    eval_s = time.perf_counter() - start
    steps_per_epoch = math.ceil(len(posts) / config.batch_size)
    return {**point, "hparams": hparams, "learning_rate": config.learning_rate,
            "train_posts": len(posts), "width": int(part.task.width),
            "mean_tags": float(posts.lengths.mean()), "steps_per_epoch": steps_per_epoch,
            "step_s": step, "step_times_s": times, "epoch_s": steps_per_epoch * step,
            "eval_s": eval_s, "eval_posts": len(test_posts),
            "load_s": loaded_s}


def time_steps(model, dataset, batch: int, warmup: int, steps: int) -> list[float]:
    """Seconds of each of `steps` compiled training steps of `model` on the full batches
    (`batch` posts) of `dataset`, each up to the moment its loss is on the host, after the
    compiling step and `warmup` steps (also `experiments.bench_scale`'s)."""
    import tensorflow as tf

    stream = dataset.filter(lambda b: tf.shape(b["user"])[0] == batch).repeat()
    model.fit(stream, epochs=1, steps_per_epoch=1, verbose=0)  # traces and compiles
    iterator = iter(model.distribute_strategy.experimental_distribute_dataset(stream))
    for _ in range(warmup):
        model.train_function(iterator)["loss"].numpy()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_function(iterator)["loss"].numpy()
        times.append(time.perf_counter() - start)
    return times


def run_point(point: dict, timeout: float) -> dict:
    """`measure(point)` in a fresh process; a failed point gives a row with its `error`."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        done = subprocess.run([sys.executable, "-m", "experiments.bench_pairwise",
                               json.dumps(point)], capture_output=True, text=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {**point, "error": f"over {timeout:.0f} s"}
    if done.returncode:
        return {**point, "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(result: dict) -> str:
    rows = result["rows"]
    done = [r for r in rows if "error" not in r]
    head = done[0] if done else {}
    lines = [f"# Pairwise baselines' training step: {result['dataset']}", "",
             f"Device: {result['device']}.", ""]
    if head:
        lines += [f"{head['train_posts']:,} training posts of {head['mean_tags']:.2f} tags on "
                  f"average, padded to {head['width']}; B = {head['batch_size']}, "
                  f"{head['steps_per_epoch']} steps/epoch. Step: median of {head['steps']} "
                  f"timed steps after the compiling step and {head['warmup']} warm-up "
                  "step(s), float32, XLA asked for.", ""]
    lines += ["| model | settings | step ms | s/epoch | eval s (test posts) |",
              "|---|---|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | | failed: {r['error']} | | |")
            continue
        settings = ", ".join(f"{k}={v}" for k, v in r["hparams"].items())
        lines.append(f"| {r['model']} | {settings}, lr {r['learning_rate']} | "
                     f"{1000 * r['step_s']:.1f} | {r['epoch_s']:.2f} | "
                     f"{r['eval_s']:.2f} ({r['eval_posts']:,}) |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # Run as a file from an older checkout, the checkout's own packages come first.
    sys.path.insert(0, os.getcwd())
    print(json.dumps(measure(json.loads(sys.argv[1]))))
