"""Training on several devices or machines with `tf.distribute` (`TrainConfig.distribute`).

    "none"           one device (the default)
    "mirrored"       `MirroredStrategy` over this machine's GPUs, or its logical CPUs where
                     several are configured (`tf.config.set_logical_device_configuration`)
    "multi_worker"   `MultiWorkerMirroredStrategy` over the machines of `TF_CONFIG`; each
                     worker runs the same command, and the strategy must be made before any
                     other TensorFlow work (the drivers make it first, `strategy`)

What stays the same as in one process (`tests/test_distribute.py`):
  * the objective of a global batch: Keras sums the replicas' gradients, so every model
    writes its objective as a replica's share of the global batch's: a sum over posts (Eq.
    11) as it is, a mean as the replica's sum over the global batch's count (`mean`: BPR
    over pairs, the top-N losses over users, PITF's batch penalty over rows), and a penalty
    on the weights (Eq. 12) divided by the replicas (`penalty`), so that it counts once per
    global batch (`TagRecommender.objective_terms`);
  * the batches: every worker builds the same shuffled global batches and tf.data gives
    each replica its consecutive slice of them;
  * the corruption noise and the negative samples: each replica draws the noise of the
    whole global batch from the shared seed state and takes the rows of its own posts
    (each batch carries its posts' `row` in the global batch, `replica_rows`), so every post
    gets the numbers it gets in one process.
Only the chief writes run records; the other workers write into temporary folders
(`is_chief`).
"""

from __future__ import annotations

import functools
import json
import os
import pathlib

import tensorflow as tf

STRATEGIES = ("none", "mirrored", "multi_worker")


def strategy(name: str) -> tf.distribute.Strategy:
    """The strategy `name` (each made once per process; "none": the default strategy)."""
    if name not in STRATEGIES:
        raise ValueError(f"distribute must be one of {STRATEGIES}, got {name!r}")
    if name == "none":
        return tf.distribute.get_strategy()
    return _made(name)


@functools.cache
def _made(name: str) -> tf.distribute.Strategy:
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("distribute=multi_worker needs TF_CONFIG (the cluster and this "
                             "worker's task), e.g. {\"cluster\": {\"worker\": [\"host1:port\", "
                             "\"host2:port\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}")
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)


def is_chief() -> bool:
    """Whether this process writes the records: the chief of `TF_CONFIG`, or its worker 0
    where there is no chief; always in one process."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task") or {}
    kind, index = task.get("type"), task.get("index", 0)
    if kind is None:
        return True
    has_chief = "chief" in (config.get("cluster") or {})
    return kind == "chief" or (kind == "worker" and index == 0 and not has_chief)


def backup_dir(run_dir, name: str) -> pathlib.Path:
    """Where this process keeps its backups (`daeptr.backup`): `run_dir/backup` for the
    chief (and in one process), `run_dir/backup-worker-<index>` for the other workers, each
    on its own machine's disk, so that every worker restarts from its own copy."""
    run_dir = pathlib.Path(run_dir)
    if name == "none" or is_chief():
        return run_dir / "backup"
    task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task") or {}
    return run_dir / f"backup-{task.get('type', 'worker')}-{task.get('index', 0)}"


def writable(run_dir, name: str):
    """Where this process writes a run's records: `run_dir` for the chief (and in one
    process), a temporary folder for the other workers of a `name` strategy."""
    if name == "none" or is_chief():
        return run_dir
    import tempfile

    return tempfile.mkdtemp(prefix="daeptr-worker-")


def distributed(dataset, name: str, epochs: int, start: int = 0):
    """(batches, `fit`'s steps_per_epoch) for training on `dataset` under strategy `name`
    from epoch `start` on. In one process: `dataset` itself, advanced to epoch `start` for
    a restarted fit (`daeptr.backup.skip_passes`), and None (the pass ends by itself).
    Under a strategy: the very batches one process would see in epochs `start` … `epochs` − 1
    (each worker iterates `dataset` pass after pass on the host, so tf.data reshuffles
    exactly as it does in one process), every global batch of n posts cut into the
    replicas' consecutive slices of ceil(n/R) posts (the last ones shorter), and the batches
    of one pass. `dataset` must give every batch its `row`s (`post_dataset(..., rows=True)`)."""
    from daeptr.backup import skip_passes

    dataset = skip_passes(dataset, start)
    if name == "none":
        return dataset, None
    chosen = strategy(name)
    spec = dataset.element_spec

    def passes():
        for epoch in range(start, epochs):
            if epoch > start:
                # Keras makes two iterators of a finite dataset per epoch in one process
                # (one is dropped as the epoch ends), so there epoch e sees tf.data's
                # reshuffle number 2e: skip one here too.
                iter(dataset)
            yield from dataset

    def per_worker(context):
        total = context.num_replicas_in_sync
        local = total // context.num_input_pipelines
        first = context.input_pipeline_id * local

        def slices(batch):
            n = tf.shape(batch["row"])[0]
            size = (n + total - 1) // total
            return tf.data.Dataset.range(first, first + local).map(
                lambda i: {k: v[tf.cast(i, tf.int32) * size:
                                tf.minimum(n, (tf.cast(i, tf.int32) + 1) * size)]
                           for k, v in batch.items()})

        return tf.data.Dataset.from_generator(passes, output_signature=spec).flat_map(slices)

    return chosen.distribute_datasets_from_function(per_worker), int(dataset.cardinality())


def prepare(model) -> None:
    """Builds a compiled `model`'s optimizer under the current strategy, has Keras log the
    first replica's values, and stops Keras from building the model again from a first
    batch: under a strategy, `fit` draws one batch to build
    the model's variables symbolically, which here exist already, and that extra draw would
    shift the batches of every epoch by one."""
    model.optimizer.build(model.trainable_variables)
    model._maybe_symbolic_build = lambda *args, **kwargs: None  # noqa: SLF001
    # Every replica reports the global batch's terms (`TagRecommender.train_step`); Keras'
    # default "mean" fails on scalars under MultiWorkerMirroredStrategy.
    model.distribute_reduction_method = "first"


def mean(values, weights=None):
    """The mean of `values` (weighted by `weights`) over the global batch, as this
    replica's share: its sum over the global batch's count (or weight), so that the
    replicas' shares add up to the mean. In one process exactly what the models computed
    before (`tf.reduce_mean`, or the weighted sum over the summed weights, 0 if they are 0).
    """
    values = tf.convert_to_tensor(values)
    if replicas() == 1:
        if weights is None:
            return tf.reduce_mean(values)
        return tf.math.divide_no_nan(tf.reduce_sum(values * weights), tf.reduce_sum(weights))
    if weights is None:
        total, count = tf.reduce_sum(values), tf.cast(tf.size(values), values.dtype)
    else:
        total, count = tf.reduce_sum(values * weights), tf.reduce_sum(weights)
    context = tf.distribute.get_replica_context()
    return tf.math.divide_no_nan(total, context.all_reduce(tf.distribute.ReduceOp.SUM, count))


def penalty(value):
    """A replica's share of a penalty that every replica computes whole (Eq. 12 on the
    weights): `value` / replicas, so that it counts once per global batch."""
    count = replicas()
    return value if count == 1 else value / count


def replicas() -> int:
    """Replicas that train in sync, seen from the current (replica or cross-replica) context."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_rows(draw, shape, rows):
    """`draw([n] + shape)` restricted to this replica's posts: the rows `rows` (the posts'
    places in the global batch) of a draw for the first n = max(rows) + 1 posts.

    A counter-based draw (Philox) of n rows begins with the draw of fewer rows, so row r is
    the number one process would draw for the post at row r of the same global batch,
    however many rows this replica draws. `rows=None` (one process) draws for the local
    batch itself.
    """
    if rows is None:
        return draw(shape)
    shape = tf.cast(shape, tf.int32)
    n = tf.reduce_max(tf.concat([rows, [0]], 0)) + 1  # a replica may get no posts
    return tf.gather(draw(tf.concat([[n], shape[1:]], 0)), rows)
