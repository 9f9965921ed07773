"""`experiments.report`: every summary rebuilt from the run records its manifest lists, with
no training and no data; and the committed reports/ and README agree with their records."""

import json
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def smoke_tree(tmp_path_factory):
    """A smoke Table 2 (DAE-PTR and a floor) and a smoke sweep with retuning, run once."""
    from experiments import cli, sweep, table2

    out = tmp_path_factory.mktemp("out")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DAEPTR_DATA", raising=False)
        cli.call(table2, ["--smoke", "--models=dae_ptr,mp", f"--output_dir={out}"])
        cli.call(sweep, ["--smoke", "--name=k", "--param=latent_dim", "--values=8,16",
                         "--retune=corruption:0.5,0.8", f"--output_dir={out}"])
    return out / "smoke"


def _texts(tree: pathlib.Path) -> dict:
    return {p.relative_to(tree): p.read_text() for p in tree.rglob("*")
            if p.suffix in (".md", ".csv") and p.name != "index.md"}


def test_report_rebuilds_every_summary_byte_for_byte_from_the_records(drive, smoke_tree, tmp_path):
    tree = pathlib.Path(shutil.copytree(smoke_tree, tmp_path / "tree"))
    written = _texts(tree)
    assert {"table2.md", "table2.csv", "sweeps/k.md", "sweeps/k.csv"} <= {str(p) for p in written}
    for name in ("table2.md", "table2.csv", "sweeps/k.md", "sweeps/k.csv", "sweeps/k.png"):
        (tree / name).unlink()
    # No data and no training: a model that is built fails the test.
    from daeptr import models

    def no_training(*args, **kwargs):
        raise AssertionError("report built a model")

    original, models.build = models.build, no_training
    try:
        printed = drive("report", f"--reports_dir={tree}", "--readme=")
    finally:
        models.build = original
    assert _texts(tree) == written
    assert (tree / "sweeps" / "k.png").exists()
    index = (tree / "index.md").read_text()
    assert "[table2.md](table2.md)" in index and "[sweeps/k.png](sweeps/k.png)" in index
    assert "`python -m experiments.table2 --models=dae_ptr,mp --smoke`" in index
    assert "table2.md: 2 runs" in printed


def test_manifest_lists_run_folders_and_keys_and_takes_measurements_from_records(smoke_tree):
    manifest = json.loads((smoke_tree / "sweeps" / "k.manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["context"]["names"] == ["latent_dim"]
    entry = manifest["runs"][0]
    assert (smoke_tree / "sweeps" / entry["run"] / "run.json").exists()
    assert {"latent_dim", "seed", "retuned_corruption", "retune_seconds"} <= set(entry)
    assert "hit@3" not in entry and "seconds" not in entry  # measurements live in run.json


def test_check_fails_naming_the_summary_a_changed_record_no_longer_gives(drive, smoke_tree,
                                                                         tmp_path):
    tree = pathlib.Path(shutil.copytree(smoke_tree, tmp_path / "tree"))
    drive("report", f"--reports_dir={tree}", "--readme=")
    drive("report", f"--reports_dir={tree}", "--readme=", "--check")
    record = next((tree / "table2" / "lastfm-core5" / "mp").rglob("run.json"))
    stored = json.loads(record.read_text())
    stored["result"]["test"]["hit@3"] += 0.01
    record.write_text(json.dumps(stored))
    before = (tree / "table2.md").read_text()
    with pytest.raises(SystemExit, match=r"error: not what the records give: .*table2\.md"):
        drive("report", f"--reports_dir={tree}", "--readme=", "--check")
    assert (tree / "table2.md").read_text() == before  # --check writes nothing


def test_a_missing_record_is_an_error_naming_it(drive, smoke_tree, tmp_path):
    tree = pathlib.Path(shutil.copytree(smoke_tree, tmp_path / "tree"))
    record = next((tree / "table2" / "lastfm-core5" / "dae_ptr").rglob("run.json"))
    record.unlink()
    with pytest.raises(SystemExit, match=f"error: ValueError: {record}: not a finished run's record"):
        drive("report", f"--reports_dir={tree}", "--readme=")


def test_readme_blocks_hold_the_named_sections_of_a_report(tmp_path):
    from experiments import report

    (tmp_path / "t.md").write_text("# Title\n\nintro\n\n| a |\n|---|\n| 1 |\n\nlast\n")
    text = "before\n<!-- report t.md sections 1-2 -->\nold\n<!-- /report -->\nafter\n"
    assert report.readme_blocks(text, tmp_path) == (
        "before\n<!-- report t.md sections 1-2 -->\nintro\n\n| a |\n|---|\n| 1 |\n"
        "<!-- /report -->\nafter\n")


def test_committed_reports_and_readme_agree_with_their_records(drive):
    # --check exits with the differing files named if any summary or README block is stale.
    printed = drive("report", f"--reports_dir={ROOT / 'reports'}",
                    f"--readme={ROOT / 'README.md'}", "--check")
    assert "README.md agrees with the records" in printed
