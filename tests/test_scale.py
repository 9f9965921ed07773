"""The scale curve (`python -m experiments.bench --scale`): the synthetic folksonomies it
measures on, the growth exponents, and a smoke run of the driver."""

import json

import numpy as np
import pytest

from daeptr.data import synthetic
from experiments import bench, bench_scale, cli


def test_scale_posts_have_the_asked_sizes_and_distinct_tags():
    posts = synthetic.scale_posts(5000, 300, seed=1)
    assert len(posts) == 5000 and posts.tags.max() < 300 and posts.tags.min() >= 0
    lengths = posts.lengths
    assert lengths.min() >= 1 and lengths.max() <= 5 and abs(lengths.mean() - 3) < 0.1
    for k in range(0, 5000, 97):
        row = posts.tags[posts.indptr[k]:posts.indptr[k + 1]]
        assert len(set(row.tolist())) == len(row)
    assert posts.user.max() < 5000 // 20 and posts.item.max() < 5000 // 10
    # popular tags first (p_t ∝ 1/(t + 10)): the first tenth of the tags has over a third
    assert np.mean(posts.tags < 30) > 1 / 3
    np.testing.assert_array_equal(posts.tags, synthetic.scale_posts(5000, 300, seed=1).tags)


def test_scale_posts_reject_too_few_tags():
    with pytest.raises(ValueError, match="num_tags >= 5"):
        synthetic.scale_posts(10, 4)


def test_exponents_are_the_slopes_of_the_log_log_lines():
    rows = [{"model": "m", "posts": p, "tags": t, "epoch_s": 0.5 * p * t ** 0.5}
            for p in (10, 100, 1000) for t in (4, 16)]
    fits = bench_scale.exponents(rows)["m"]
    assert fits["posts at tags=4"] == pytest.approx(1.0)
    assert fits["tags at posts=10"] == pytest.approx(0.5)
    assert len(fits) == 5  # 2 tag counts + 3 post counts


def test_smoke_scale_runs_each_point_in_its_own_process(tmp_path):
    cli.call(bench, ["--smoke", "--scale", "--scale_models=dae_ptr_sampled",
                     f"--output_dir={tmp_path}"])
    out = tmp_path / "smoke" / "bench" / "scale"
    result = json.loads((out / "bench.json").read_text())
    rows = result["rows"]
    assert [(r["model"], r["posts"], r["tags"]) for r in rows] == [("dae_ptr_sampled", 2000, 200)]
    assert all("error" not in r and r["step_s"] > 0 and r["peak_rss_bytes"] > 0 for r in rows)
    assert all(r["epoch_measured"] for r in rows)  # tiny epochs are timed whole
    assert result["exponents"] == {"dae_ptr_sampled": {}}  # one point: no line to fit
    assert (out / "scale.png").stat().st_size > 0 and "Growth exponents" in (
        out / "bench.md").read_text()


def test_scale_flags_are_checked(tmp_path):
    with pytest.raises(SystemExit, match="--scale_models"):
        cli.call(bench, ["--smoke", "--scale", "--scale_models=vae", f"--output_dir={tmp_path}"])
