"""A saved run model loads back with `daeptr.load_model` in a fresh process (where nothing
but `daeptr` is imported) and scores exactly as before it was saved, mixed-precision models
included (their sublayers must come back under the saved policy)."""

import os
import pathlib
import subprocess
import sys

import numpy as np

from daeptr import models
from daeptr.data import pcore, splits, synthetic
from daeptr.pipeline import post_dataset

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOAD = """
import sys
import numpy as np
import daeptr
from daeptr.data import pcore, splits, synthetic
from daeptr.pipeline import post_dataset
split = splits.leave_last_tag_out(pcore.p_core(synthetic.planted_folksonomy(seed=2), 2)[0], seed=0)
batch = next(iter(post_dataset(split.eval_posts("test"), 16)))
for path in sys.argv[1:]:
    np.save(path + ".loaded.npy", daeptr.load_model(path).score(batch).numpy())
"""


def test_saved_models_load_in_a_fresh_process_and_score_the_same(tmp_path):
    split = splits.leave_last_tag_out(pcore.p_core(synthetic.planted_folksonomy(seed=2), 2)[0], seed=0)
    batch = next(iter(post_dataset(split.eval_posts("test"), 16)))
    paths, scores = [], {}
    for name, policy in (("dae_ptr", "float32"), ("pitf", "float32"), ("mp_ui", "float32"),
                         ("dae_ptr", "mixed_bfloat16"), ("pitf", "mixed_bfloat16")):
        with models.dtype_policy(policy):
            model = models.build(name, split.train_posts("test"), num_users=split.num_users,
                                 num_items=split.num_items, num_tags=split.num_tags, seed=0)
        path = str(tmp_path / f"{name}-{policy}.keras")
        model.save(path)
        paths.append(path)
        scores[path] = model.score(batch).numpy()
    done = subprocess.run([sys.executable, "-c", LOAD, *paths], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    for path in paths:
        np.testing.assert_allclose(np.load(path + ".loaded.npy"), scores[path], atol=1e-6)
