"""Every committed table and figure, rebuilt from the run records it lists, in seconds.

    python -m experiments.report [--reports_dir=reports] [--check]

A driver that summarises runs (Tables 2–5, sweeps and Figures 2–4, the CDDAE experiments)
writes `<name>.manifest.json` beside its table: the command, what the summary needs besides
the runs (title, settings and their sources, split statistics) and the run folders it is
built from (`experiments.runs.write_manifest`). It renders its table from that manifest, and
so does this command, for every manifest under --reports_dir: it reads only the runs'
records (`run.json`), so it trains nothing and needs no data. It also writes
`<reports_dir>/index.md` (every summary with its command, runs and measured hours) and
refreshes the README's blocks `<!-- report FILE sections A-B -->` … `<!-- /report -->` with
sections A to B (0 = the title) of FILE under --reports_dir. With --check it renders a copy
and fails, writing nothing, if a summary, the index or a README block differs from what the
records give.

Records get into reports/ by running a driver with `--output_dir=reports` (the heavy files of
a run, weights and TensorBoard logs, are ignored there by reports/.gitignore).
"""

from __future__ import annotations

import pathlib
import re
import shutil
import tempfile

from absl import flags

from daeptr import results
from experiments import cli, runs

REPORTS_DIR = flags.DEFINE_string("reports_dir", "reports", "The committed results tree.")
README = flags.DEFINE_string("readme", "README.md", "The README whose report blocks to refresh "
                             "('' for none).")
CHECK = flags.DEFINE_bool("check", False, "Write nothing; fail if a file differs from what "
                          "the records give.")

BLOCK = re.compile(r"(<!-- report (\S+) sections (\d+)-(\d+) -->\n)(.*?)(<!-- /report -->)",
                   re.DOTALL)


def renderers():
    from experiments import beyond, cddae_common, sweep, tables

    return {"table": tables.render, "sweep": sweep.render, "cddae": cddae_common.render,
            "beyond": beyond.render}


def manifests(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(root.rglob(f"*{runs.MANIFEST}"))


def render(path: pathlib.Path) -> tuple[str, str, dict]:
    """Renders one manifest's summary; (name, command, facts for the index)."""
    kind, command, context, rows = runs.read_manifest(path)
    name = path.name.removesuffix(runs.MANIFEST)
    markdown = renderers()[kind](path.parent, name, context, rows)
    seconds = rows["seconds"].sum() + rows.get("retune_seconds", 0.0 * rows["seconds"]).sum()
    return name, command, {"title": markdown.splitlines()[0].removeprefix("# "),
                           "runs": len(rows), "hours": seconds / 3600}


def index(root: pathlib.Path, entries: list[tuple[pathlib.Path, str, str, dict]]) -> str:
    lines = ["# Committed results", "",
             "Rebuilt from the run records below this folder by `python -m "
             "experiments.report`; each summary with the command that produced its runs and "
             "their measured machine time (selection, retraining, test).", ""]
    for path, name, command, facts in entries:
        folder = path.parent.relative_to(root)
        links = [f"[{(folder / f'{name}.{ext}').as_posix()}]({(folder / f'{name}.{ext}').as_posix()})"
                 for ext in ("md", "csv", "png") if (path.parent / f"{name}.{ext}").exists()]
        lines += [f"- **{facts['title']}**: {', '.join(links)}; {facts['runs']} "
                  f"run{'s' if facts['runs'] != 1 else ''}, "
                  f"{facts['hours']:.2f} h. `{command}`"]
    return "\n".join(lines) + "\n"


def readme_blocks(text: str, root: pathlib.Path) -> str:
    """`text` with every report block holding its file's sections as they are now."""
    def block(match):
        start, file, first, last = match.group(1), match.group(2), int(match.group(3)), int(match.group(4))
        path = root / file
        if not path.exists():
            raise ValueError(f"README block names {path}, which does not exist")
        sections = path.read_text().rstrip("\n").split("\n\n")[first:last + 1]
        return start + "\n\n".join(sections) + "\n" + match.group(6)
    return BLOCK.sub(block, text)


def rebuild(root: pathlib.Path, readme: str, say=print) -> dict[pathlib.Path, str]:
    """Renders every manifest under `root` in place; the index's and the README's new text."""
    entries = [(path, *render(path)) for path in manifests(root)]
    for path, name, _, facts in entries:
        say(f"{path.parent / name}.md: {facts['runs']} runs")
    outputs = {root / "index.md": index(root, entries)}
    if readme:
        outputs[pathlib.Path(readme)] = readme_blocks(pathlib.Path(readme).read_text(), root)
    return outputs


def main(argv):
    del argv
    root = pathlib.Path(REPORTS_DIR.value)
    if not root.is_dir():
        raise cli.FlagError(f"--reports_dir={root}: not a folder")
    if not CHECK.value:
        for path, text in rebuild(root, README.value).items():
            results._atomic_write(path, text)
        return
    with tempfile.TemporaryDirectory() as tmp:  # render a copy; compare its text files
        copy = pathlib.Path(shutil.copytree(root, pathlib.Path(tmp) / root.name))

        def texts():
            return {p: p.read_text() for p in copy.rglob("*") if p.suffix in (".md", ".csv")}

        # Against the copy as it was, not the tree: a run still training beside this check
        # grows its history.csv, which no summary is rendered into.
        before = texts()
        outputs = rebuild(copy, README.value, say=lambda _: None)
        differ = [root / p.relative_to(copy) for p, text in texts().items()
                  if before.get(p) != text]
        for path, text in outputs.items():  # the index and the README, not written above
            live = root / path.relative_to(copy) if path.is_relative_to(copy) else path
            if not live.exists() or live.read_text() != text:
                differ.append(live)
    if differ:
        raise SystemExit("error: not what the records give: " + ", ".join(map(str, differ)))
    print(f"every summary under {root}" + (f" and {README.value}" if README.value else "")
          + " agrees with the records")


if __name__ == "__main__":
    cli.run(main)
