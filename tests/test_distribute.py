"""tf.distribute (`TrainConfig.distribute`): training on two replicas (two logical CPUs, or
two worker processes on 127.0.0.1) computes what one process computes, the objective of a
global batch, its batches and its corruption noise included; only the chief writes."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from daeptr import distribute

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One training of DAE-PTR on planted data (c = 0.5, λ = 0.1 so that a penalty counted twice
# would show; 64-post global batches with a partial last one), through the whole protocol.
SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    mode, out, logical = sys.argv[1], sys.argv[2], int(sys.argv[3])
    import tensorflow as tf
    if logical > 1:  # before any other TensorFlow work
        cpu, = tf.config.list_physical_devices("CPU")
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * logical)
    from daeptr import distribute
    if mode == "multi_worker":
        distribute.strategy("multi_worker")
    import daeptr
    from daeptr import models
    from daeptr.data import ml100k, pcore, splits, synthetic
    from daeptr.topn_task import TopNTask
    from daeptr.training import TrainConfig, train_and_evaluate
    tag_split = splits.leave_last_tag_out(pcore.p_core(synthetic.planted_folksonomy(seed=3), 2)[0], seed=0)
    item_split = ml100k.fold_split(synthetic.synthetic_ml100k(), 1, user_features=("id", "gender"))
    results = {}
    for name, extra in json.loads(sys.argv[4]).items():
        topn = name in ("dae", "cdae", "cddae")
        split = TopNTask(item_split) if topn else tag_split
        sizes = (dict(num_users=item_split.num_users, num_items=item_split.num_items,
                      profile_dim=item_split.user_profile.shape[1],
                      item_profile_dim=item_split.item_genres.shape[1]) if topn else
                 dict(num_users=tag_split.num_users, num_items=tag_split.num_items,
                      num_tags=tag_split.num_tags))
        config = TrainConfig(epochs=3, eval_every=1, batch_size=64 if not topn else 16,
                             learning_rate=0.01, jit_compile=False, distribute=mode, seed=0,
                             monitor="val_ru@10" if topn else "val_ndcg@3")
        def build(posts, name=name, extra=extra, sizes=sizes):
            return models.build(name, posts, **sizes, latent_dim=8, seed=0, **extra)
        metrics = train_and_evaluate(build, split, config, f"{out}/{name}")
        if distribute.is_chief():
            # the trained model, as the run saved it
            trained = daeptr.load_model(f"{out}/{name}/model.keras")
            np.savez(f"{out}/{name}.npz", *trained.get_weights())
            posts = item_split.num_users if topn else len(tag_split.eval_posts("test"))
            results[name] = {"test": metrics["test"], "best_epoch": metrics["best_epoch"],
                             "posts": posts}
    if distribute.is_chief():
        json.dump(results, open(f"{out}/results.json", "w"))
""")
DAE = {"dae_ptr": {"corruption": 0.5, "l2": 0.1}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp_path, mode, out, logical=1, task=None, cluster=None, models=DAE):
    (tmp_path / "script.py").write_text(SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT}
    env.pop("TF_CONFIG", None)
    if task is not None:
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": cluster},
                                       "task": {"type": "worker", "index": task}})
    return subprocess.Popen([sys.executable, str(tmp_path / "script.py"), mode, str(out),
                             str(logical), json.dumps(models)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout=300):
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, err[-3000:]


def _weights(path):
    data = np.load(path)
    return [data[k] for k in data.files]


def _assert_same_run(one, other, name="dae_ptr"):
    for a, b in zip(_weights(one / f"{name}.npz"), _weights(other / f"{name}.npz")):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    ours, theirs = (json.loads((d / "results.json").read_text())[name] for d in (one, other))
    assert ours["best_epoch"] == theirs["best_epoch"]
    # Weights equal to float tolerance (the replicas' gradients are summed in another order)
    # might still swap two nearly tied scores: at most one test post (user) may move.
    for metric, value in ours["test"].items():
        assert abs(value - theirs["test"][metric]) <= 1.001 / ours["posts"], metric


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("single")
    _finish(_launch(tmp, "none", tmp / "out"))
    return tmp / "out"


def test_two_mirrored_replicas_train_what_one_process_trains(single, tmp_path):
    out = tmp_path / "out"
    _finish(_launch(tmp_path, "mirrored", out, logical=2))
    _assert_same_run(single, out)


def test_two_workers_on_loopback_train_what_one_process_trains_and_only_the_chief_writes(
        single, tmp_path):
    cluster = [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]
    outs = [tmp_path / f"worker{k}" for k in range(2)]
    workers = [_launch(tmp_path, "multi_worker", out, task=k, cluster=cluster)
               for k, out in enumerate(outs)]
    for proc in workers:  # both stop by themselves, in bounded time
        _finish(proc)
    _assert_same_run(single, outs[0])
    for name in ("config.json", "metrics.json", "history.csv", "model.keras"):
        assert (outs[0] / "dae_ptr" / name).exists(), name
    assert not outs[1].exists()  # the other worker wrote into temporary folders only


# The other kinds of objective: a pairwise factorization (BPR's mean over pairs, a batch
# penalty over rows, negative samples; NLTF and ABNT share them) and a top-N auto-encoder
# (a mean over users, the embedded profiles; DAE and CDAE share it).
OTHERS = {"pitf": {}, "cddae": {}}


def test_the_other_objectives_train_under_mirrored_what_they_train_in_one_process(
        tmp_path):
    runs = {mode: _launch(tmp_path / mode, mode, tmp_path / mode / "out",
                          logical=2 if mode == "mirrored" else 1, models=OTHERS)
            for mode in ("none", "mirrored") if (tmp_path / mode).mkdir() is None}
    for proc in runs.values():
        _finish(proc, timeout=600)
    for name in OTHERS:
        _assert_same_run(tmp_path / "none" / "out", tmp_path / "mirrored" / "out", name)


@pytest.mark.parametrize("config, chief", [
    (None, True),
    ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}, True),
    ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}, False),
    ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}},
     False),
    ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}},
     True),
])
def test_only_the_chief_writes(monkeypatch, tmp_path, config, chief):
    if config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert distribute.is_chief() is chief
    where = distribute.writable(tmp_path / "run", "multi_worker")
    assert (str(where) == str(tmp_path / "run")) is chief


def test_multi_worker_without_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        distribute._made.__wrapped__("multi_worker")


@pytest.mark.parametrize("rows", [[9], [6, 7, 8], [0, 1, 2, 3], []],
                         ids=["last-short-slice", "middle", "first", "empty"])
def test_a_replica_draws_for_its_rows_what_one_process_draws(rows):
    # a global batch of 10 posts over 4 replicas: slices of 3, 3, 3 and 1 posts
    import tensorflow as tf

    from daeptr import rng

    def draw(shape):
        return rng.uniform(shape, 7)

    whole = draw([10, 3]).numpy()
    mine = distribute.replica_rows(draw, tf.constant([len(rows), 3]),
                                   tf.constant(rows, tf.int32)).numpy()
    np.testing.assert_array_equal(mine, whole[rows].reshape(len(rows), 3))
