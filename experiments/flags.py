"""absl flags shared by the experiment drivers. Library code never reads FLAGS."""

from absl import flags

DATA_DIR = flags.DEFINE_string(
    "data_dir", None,
    "Root of the data sets (one folder per data set, as in the official archives). "
    "Default: $DAEPTR_DATA, then the per-user cache; downloaded there if absent.")
OUTPUT_DIR = flags.DEFINE_string("output_dir", "results", "Where tables, runs and logs go.")
DOWNLOAD = flags.DEFINE_bool("download", True, "Download missing data sets from GroupLens.")
TIE_BREAK = flags.DEFINE_enum(
    "tie_break", "random", ["random", "tag_id"],
    "How to pick the held-out tag among tags sharing a post's latest timestamp.")
SPLIT_SEED = flags.DEFINE_integer("split_seed", 0, "Seed of the random tie break of the split.")


def load_split(dataset: str, core: int):
    """The leave-last-tag-out split of a data set's p-core, as the flags ask for."""
    from daeptr.data import datasets, pcore, splits

    assignments = datasets.load_tags(dataset, DATA_DIR.value, download=DOWNLOAD.value)
    core_assignments, _ = pcore.p_core(assignments, core)
    return splits.leave_last_tag_out(core_assignments, tie_break=TIE_BREAK.value,
                                     seed=SPLIT_SEED.value)


def run(main) -> None:
    """`app.run(main)`, reporting the package's data and argument errors as one clear line
    (file, line or flag named in the message) instead of a traceback."""
    from absl import app

    from daeptr.data.datasets import DataIntegrityError, DataNotFoundError
    from daeptr.data.pcore import EmptyCoreError
    from daeptr.data.readers import DataFormatError

    def guarded(argv):
        try:
            return main(argv)
        except (DataNotFoundError, DataIntegrityError, DataFormatError, EmptyCoreError) as err:
            raise SystemExit(f"error: {err}") from None

    app.run(guarded)
