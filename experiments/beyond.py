"""Beyond the paper: DAE-PTR, PITF and MP_u,i beside the paper's future-work variants
(stacked, contractive, variational DAE-PTR, the multinomial likelihood) and EASE, on the
four tag data sets, under the same protocol.

    python -m experiments.beyond [--data_dir=…] [--output_dir=results] [--datasets=…]
                                 [--rows=dae_ptr,ease,…] [--seeds=0,1,2,3,4] [--quick | --smoke]

A row is a registered model (`ROWS`; `multinomial_dae_ptr` is DAE-PTR with
likelihood=multinomial). The rows of the Tables' models (dae_ptr, pitf, mp_ui) are the
Tables' own runs, reused from `<tree>/table2…5/`; the others run under `<tree>/beyond/`. A
DAE-PTR variant starts from DAE-PTR's settings on that data set (its validated choices, with
"from dae_ptr" in their source) except the precision, a choice of the hardware; its own
validated choices and the flags override them (`experiments.settings.resolve`, which
`experiments.tune` shares). Deterministic models run once. Writes
`<tree>/beyond.csv|md` and `beyond.manifest.json` (`python -m experiments.report`
rebuilds it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from absl import flags

from daeptr import results
from experiments import cli, flags as flag_groups, plan, runs, tables, tasks
from experiments.settings import resolve

DATA = flag_groups.data()
TRAINING = flag_groups.training()

ROWS = ("dae_ptr", "multinomial_dae_ptr", "stacked_dae_ptr", "contractive_dae_ptr",
        "variational_dae_ptr", "ease", "pitf", "mp_ui")  # registered models
TABLE_OF = {f"{dataset}-core{core}": table
            for table, (dataset, core, _) in results.PAPER_TABLES.items()}
DATASETS = flag_groups.datasets()
ROW_NAMES = flags.DEFINE_list("rows", list(ROWS), f"Rows of the table, of {list(ROWS)}.")
DEFAULTS = {"seeds": ["0", "1", "2", "3", "4"], "datasets": list(TABLE_OF)}
COLUMNS = ["hit@1", "hit@3", "hit@10", "ndcg@3", "ndcg@10"]


def row_root(name: str, label: str, request):
    """Where a row's runs live: a Table's model (at the Table's settings) reuses its runs."""
    return request.tree / (TABLE_OF[label] if name in tables.ALL_MODELS else "beyond")


def main(argv):
    del argv
    request = plan.request()
    unknown = [label for label in DATASETS.value if label not in TABLE_OF]
    if unknown:
        raise cli.FlagError(f"--datasets: {unknown} are not tag data sets; choose from "
                            f"{list(TABLE_OF)}")
    labels = plan.trained_labels(DATASETS.value, "--datasets")
    unknown = [row for row in ROW_NAMES.value if row not in ROWS]
    if unknown:
        raise cli.FlagError(f"--rows: unknown {unknown}; choose from {list(ROWS)}")
    mode, seeds = plan.mode(), plan.seeds()
    used, frames = {}, []
    for label in labels:  # every row's settings checked before the first run
        for row in ROW_NAMES.value:
            settings = resolve(row, label, request)
            cli.check_model(row, label, settings.hparams, f"row {row} on {label}")
            cli.check_train(settings.train, f"row {row} on {label}", label)
            used.setdefault(label, {})[row] = settings
    parts = {label: tasks.load(label, plan.data_options())[0] for label in labels}
    progress = runs.Progress(len(labels) * len(ROW_NAMES.value) * len(seeds),
                             int(TRAINING.verbose.value), flag_groups.backup_policy(TRAINING))
    for label in labels:
        for row in ROW_NAMES.value:
            frame = runs.grid(row, [parts[label]], [{}], seeds, row_root(row, label, request),
                              lambda _, s=used[label][row]: s, mode=mode,
                              overwrite=TRAINING.overwrite.value, progress=progress)
            frames.append(frame.assign(row=row))
    context = {"title": "Beyond the paper" + plan.MODE_TITLES[mode],
               "used": {label: {row: {"model": row, "hparams": s.hparams,
                                      "train": s.train, "sources": s.sources}
                                for row, s in rows.items()} for label, rows in used.items()}}
    manifest = runs.write_manifest(request.tree, "beyond", "beyond", cli.command(), context,
                                   pd.concat(frames, ignore_index=True))
    print(render(manifest.parent, "beyond", *runs.read_manifest(manifest)[2:]))


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per (data set, row): mean ± std over seeds, the relative difference to
    DAE-PTR's mean Hit@3 and NDCG@3, and Hit@3 on posts with and without input tags."""
    lines = []
    for (label, row), group in rows.groupby(["part", "row"], sort=False):
        line = {"dataset": label, "row": row, "seeds": len(group)}
        for metric in COLUMNS + ["empty_hit@3", "non_empty_hit@3"]:
            values = group[metric].to_numpy(float)
            line[metric] = values.mean()
            line[f"{metric}_std"] = values.std(ddof=1) if len(values) > 1 else np.nan
        lines.append(line)
    frame = pd.DataFrame(lines)
    for metric in ("hit@3", "ndcg@3"):
        base = frame[frame["row"] == "dae_ptr"].set_index("dataset")[metric]
        frame[f"{metric}_vs_dae_ptr"] = [
            (v - base[d]) / base[d] if d in base.index else np.nan
            for d, v in zip(frame["dataset"], frame[metric])]
    return frame


def _cell(mean, std):
    return f"{mean:.5f}" + ("" if std != std else f" ± {std:.5f}")


def _relative(value):
    return "" if value != value else f"{100 * value:+.1f}%"


def render(directory, name: str, context: dict, rows: pd.DataFrame) -> str:
    """Writes `<directory>/<name>.csv|md` from the manifest's rows; returns the Markdown."""
    frame = summarize(rows)
    sections = [f"# {context['title']}: DAE-PTR's future work and other auto-encoders",
                "Same protocol as Tables 2–5 (leave-last-tag-out, full ranking, validation "
                "for every choice). Mean ± std over seeds (deterministic models: one run); "
                "relative to DAE-PTR's mean; Hit@3 on test posts with an empty input "
                "(single-tag posts) and with input tags."]
    for label, group in frame.groupby("dataset", sort=False):
        view = pd.DataFrame({
            "row": group["row"],
            **{m: [_cell(a, b) for a, b in zip(group[m], group[f"{m}_std"])] for m in COLUMNS},
            "hit@3 vs dae_ptr": group["hit@3_vs_dae_ptr"].map(_relative),
            "ndcg@3 vs dae_ptr": group["ndcg@3_vs_dae_ptr"].map(_relative),
            "empty hit@3": group["empty_hit@3"].map("{:.5f}".format),
            "non-empty hit@3": group["non_empty_hit@3"].map("{:.5f}".format),
            "seeds": group["seeds"]})
        best = group.loc[group["hit@3"].idxmax(), "row"]
        sections += [f"## {label}", results.markdown_table(view),
                     f"Highest mean test Hit@3: {best} (reported, not used to choose).",
                     "Settings (sources as in Tables 2–5; \"from dae_ptr\": DAE-PTR's on this "
                     "data set):",
                     results.markdown_table(_settings(context["used"][label]))]
    markdown = results.write_tables(directory, name, frame, sections)
    return markdown


def _settings(used: dict) -> pd.DataFrame:
    lines = []
    for row, settings in used.items():
        table = tables.hyperparameter_table({settings["model"]: settings})
        lines.append({"row": row, "settings": table["settings"].iloc[0]})
    return pd.DataFrame(lines)


if __name__ == "__main__":
    cli.run(main, DEFAULTS)
