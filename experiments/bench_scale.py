"""The scale curve of `python -m experiments.bench --scale`: training cost against the
number of posts and of tags, on synthetic folksonomies (`daeptr.data.synthetic.scale_posts`).

Every (model, posts, tags) point runs in a process of its own, so that its peak memory is
its own (`ru_maxrss`): the model is built and compiled as the run loop does
(`daeptr.training`, precision "auto"), the compiling step and `warmup` steps run, then
`steps` steps are timed one by one to the moment their loss is on the host. The epoch time
is measured, a whole `model.fit` epoch (the second of two: the first also compiles the
step for the partial last batch), where the epoch is estimated to take at most
`epoch_budget` seconds, and else estimated as steps per epoch × the median step (the way
`experiments.bench` states epoch times); the record says which (`epoch_measured`).
The models: DAE-PTR with its full decoder, DAE-PTR with the sampled one
(`decoder="sampled"`), PITF.

    python -m experiments.bench_scale '<point as JSON>'     one point, printed as JSON
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

MODELS = {  # label: (registered model, its arguments beside the sizes)
    "dae_ptr": ("dae_ptr", {"corruption": 0.8, "l2": 0.01}),
    "dae_ptr_sampled": ("dae_ptr", {"corruption": 0.8, "l2": 0.01, "decoder": "sampled"}),
    "pitf": ("pitf", {}),
}


def measure(point: dict) -> dict:
    """One point's row (run in its own process: `run_point`)."""
    import keras

    from daeptr import models
    from daeptr.data import synthetic
    from daeptr.pipeline import max_width, post_dataset
    from daeptr.training import TrainConfig, compiled
    from experiments.bench_pairwise import time_steps

    started = time.perf_counter()
    posts = synthetic.scale_posts(point["posts"], point["tags"], seed=0)
    made_s = time.perf_counter() - started
    name, arguments = MODELS[point["model"]]
    arguments = dict(arguments)
    if point["model"] == "dae_ptr_sampled":
        arguments["num_sampled"] = point["num_sampled"]
    sizes = dict(num_users=int(posts.user.max()) + 1, num_items=int(posts.item.max()) + 1,
                 num_tags=point["tags"])
    config = TrainConfig(batch_size=point["batch_size"], precision="auto", seed=0)
    model = compiled(lambda rows: models.build(name, rows, **sizes, **arguments,
                                               latent_dim=point["latent_dim"], seed=0),
                     posts, config)
    dataset = post_dataset(posts, config.batch_size, shuffle=True, seed=0,
                           width=max_width(posts))
    steps_per_epoch = math.ceil(len(posts) / config.batch_size)
    times = time_steps(model, dataset, min(config.batch_size, len(posts)), point["warmup"],
                       point["steps"])
    step = statistics.median(times)
    estimate = steps_per_epoch * step
    measured = None
    if estimate <= point["epoch_budget"]:
        # The second of two epochs: the first also compiles the step for the epoch's
        # partial last batch.
        model.fit(dataset, epochs=1, verbose=0)
        start = time.perf_counter()
        model.fit(dataset, epochs=1, verbose=0)
        measured = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    del keras
    return {
        **point,
        "precision": config.precision,
        "users": sizes["num_users"], "items": sizes["num_items"],
        "assignments": int(len(posts.tags)),
        "steps_per_epoch": steps_per_epoch,
        "step_s": step,
        "step_times_s": times,
        "epoch_s": measured if measured is not None else estimate,
        "epoch_measured": measured is not None,
        "epoch_estimate_s": estimate,
        "peak_rss_bytes": peak,
        "data_s": made_s,
    }


def run_point(point: dict, timeout: float) -> dict:
    """`measure(point)` in a fresh process; a point that fails or runs out of time gives a
    row with its `error`."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        done = subprocess.run([sys.executable, "-m", "experiments.bench_scale", json.dumps(point)],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {**point, "error": f"over {timeout:.0f} s"}
    if done.returncode:
        return {**point, "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def exponents(rows: list[dict], key: str = "epoch_s") -> dict:
    """Least-squares growth exponents of `key`: per model, the slope of log(key) against
    log(posts) at each tag count, and against log(tags) at each post count (two or more
    points each)."""
    out = {}
    for model in sorted({r["model"] for r in rows}):
        mine = [r for r in rows if r["model"] == model and "error" not in r]
        fits = {}
        for along, fixed in (("posts", "tags"), ("tags", "posts")):
            for value in sorted({r[fixed] for r in mine}):
                line = sorted((r[along], r[key]) for r in mine if r[fixed] == value)
                if len(line) >= 2:
                    x, y = np.log([p[0] for p in line]), np.log([p[1] for p in line])
                    fits[f"{along} at {fixed}={value:g}"] = float(np.polyfit(x, y, 1)[0])
        out[model] = fits
    return out


def markdown(result: dict) -> str:
    rows = result["rows"]
    lines = [
        "# Scale curve: training cost against posts and tags (synthetic folksonomies)",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Device: {result['device']}. K = {result['latent_dim']}, batch {result['batch_size']}, "
        f"precision {rows[0].get('precision', 'auto') if rows else 'auto'}, sampled decoder "
        f"n = {result['num_sampled']} tags per batch. Epoch: a measured `model.fit` epoch where "
        f"marked, else steps per epoch × the median of {result['steps']} timed steps. Peak "
        "memory: the point's own process (`ru_maxrss`).",
        "",
        "| model | posts | tags | step ms | epoch s | measured | peak RSS GiB |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['posts']:,} | {r['tags']:,} | failed: "
                         f"{r['error']} | | | |")
            continue
        lines.append(f"| {r['model']} | {r['posts']:,} | {r['tags']:,} | {1000 * r['step_s']:.1f} "
                     f"| {r['epoch_s']:.2f} | {'yes' if r['epoch_measured'] else 'estimate'} "
                     f"| {r['peak_rss_bytes'] / 2 ** 30:.2f} |")
    lines += ["", "Growth exponents of the epoch time (slope of log epoch s):", "",
              "| model | along | exponent |", "|---|---|---:|"]
    for model, fits in result["exponents"].items():
        lines += [f"| {model} | {along} | {value:.2f} |" for along, value in fits.items()]
    lines += ["", "Growth exponents of the step time:", "", "| model | along | exponent |",
              "|---|---|---:|"]
    for model, fits in result["step_exponents"].items():
        lines += [f"| {model} | {along} | {value:.2f} |" for along, value in fits.items()]
    speedups = []
    for r in rows:
        if r["model"] == "dae_ptr_sampled" and "error" not in r:
            full = [f for f in rows if f["model"] == "dae_ptr" and "error" not in f
                    and (f["posts"], f["tags"]) == (r["posts"], r["tags"])]
            if full:
                speedups.append(f"| {r['posts']:,} | {r['tags']:,} | "
                                f"{full[0]['step_s'] / r['step_s']:.2f} |")
    if speedups:
        lines += ["", "Sampled against full decoder (DAE-PTR step time ratio):", "",
                  "| posts | tags | full / sampled |", "|---:|---:|---:|", *speedups]
    return "\n".join(lines) + "\n"


def plot(result: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["rows"] if "error" not in r]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for model in sorted({r["model"] for r in rows}):
        mine = [r for r in rows if r["model"] == model]
        for tags in sorted({r["tags"] for r in mine}):
            line = sorted((r["posts"], r["epoch_s"]) for r in mine if r["tags"] == tags)
            axes[0].plot(*zip(*line), marker="o", label=f"{model}, |T|={tags:g}")
        for posts in sorted({r["posts"] for r in mine}):
            line = sorted((r["tags"], r["step_s"] * 1000) for r in mine if r["posts"] == posts)
            axes[1].plot(*zip(*line), marker="o", label=f"{model}, {posts:g} posts")
            line = sorted((r["tags"], r["peak_rss_bytes"] / 2 ** 30) for r in mine
                          if r["posts"] == posts)
            axes[2].plot(*zip(*line), marker="o", label=f"{model}, {posts:g} posts")
    for ax, (x, y) in zip(axes, [("posts", "epoch s"), ("tags |T|", "step ms"),
                                 ("tags |T|", "peak RSS GiB")]):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=6)
    axes[1].legend(fontsize=6)
    fig.suptitle(f"Training cost on synthetic folksonomies (K={result['latent_dim']}, "
                 f"batch {result['batch_size']}; {result['device']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
