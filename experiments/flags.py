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
