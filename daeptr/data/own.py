"""Your own folksonomy: tag assignments from a CSV or TSV file with a header.

    user,item,tag,timestamp        one row per tag assignment; the timestamp is optional
    u1,song9,rock,1262304000

Ids and tags are strings, kept exactly as written (no case folding, no trimming: the tag
vocabulary of the exported model is the file's). The timestamp, where there is one, must be a
number (seconds, days: anything that orders the assignments); without one the file's row
order is the time order, a later row a later assignment. Every problem raises
`DataFormatError` naming the file, the 1-based line (the header is line 1) and the column:
an empty file, a missing column, a missing value, a non-numeric timestamp, an assignment
given twice.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import pathlib

import numpy as np
import pandas as pd

from daeptr.data.readers import DataFormatError


@dataclasses.dataclass(frozen=True)
class Columns:
    """The file's column names for the user, the item, the tag and the (optional)
    timestamp; `timestamp=None`: order by rows."""

    user: str = "user"
    item: str = "item"
    tag: str = "tag"
    timestamp: str | None = "timestamp"


def separator_for(path: str | os.PathLike) -> str:
    """Tab for .tsv / .tab files, a comma otherwise."""
    return "\t" if pathlib.Path(path).suffix.lower() in (".tsv", ".tab") else ","


def read_posts(path: str | os.PathLike, sep: str | None = None,
               columns: Columns = Columns()) -> pd.DataFrame:
    """The file's tag assignments as columns user, item, tag (str) and timestamp (float64,
    the row number where the file has no timestamp column).

    A `columns.timestamp` that the header lacks means row order, unless it was asked for by
    a name other than the default "timestamp".
    """
    path = pathlib.Path(path)
    sep = sep or separator_for(path)
    try:
        # Blank lines are kept (as missing values) so that line numbers stay the file's.
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False,
                            skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL,
                            encoding="utf-8")
    except FileNotFoundError:
        raise DataFormatError(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{path}: the file is empty (expected a header line and "
                              "one line per tag assignment)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        reason = " ".join(str(err).split())
        raise DataFormatError(f"{path}: not a {sep!r}-separated UTF-8 file ({reason})") from None
    blank = (frame.isna() | (frame == "")).all(axis=1).to_numpy()
    if blank.any() and not blank.all():  # blank lines at the end of the file mean nothing
        frame = frame.iloc[:len(blank) - int(np.argmax(~blank[::-1]))]
    wanted = [columns.user, columns.item, columns.tag]
    timestamp = columns.timestamp
    if timestamp is not None and timestamp not in frame.columns:
        if timestamp != Columns.timestamp:
            wanted.append(timestamp)  # asked for by name: it must be there
        timestamp = None
    elif timestamp is not None:
        wanted.append(timestamp)
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataFormatError(f"{path}, line 1: no column {missing[0]!r} (the header has "
                              f"{', '.join(map(repr, frame.columns))}; separator {sep!r})")
    if frame.empty:
        raise DataFormatError(f"{path}: no tag assignments after the header")

    def line(row: int) -> int:
        return int(row) + 2  # 1-based, after the header

    for column in wanted:
        empty = np.flatnonzero((frame[column].isna() | (frame[column] == "")).to_numpy())
        if len(empty):
            raise DataFormatError(f"{path}, line {line(empty[0])}, column {column!r}: "
                                  "missing value")
    out = pd.DataFrame({"user": frame[columns.user], "item": frame[columns.item],
                        "tag": frame[columns.tag]})
    if timestamp is None:
        out["timestamp"] = np.arange(len(frame), dtype=np.float64)
    else:
        values = pd.to_numeric(frame[timestamp], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(np.float64)))
        if len(bad):
            raise DataFormatError(f"{path}, line {line(bad[0])}, column {timestamp!r}: "
                                  f"{frame[timestamp].iloc[bad[0]]!r} is not a number")
        out["timestamp"] = values.astype(np.float64)
    repeated = out.duplicated(["user", "item", "tag"], keep="first").to_numpy()
    if repeated.any():
        row = int(np.flatnonzero(repeated)[0])
        key = out.iloc[row]
        first = int(np.flatnonzero((out["user"] == key["user"]) & (out["item"] == key["item"])
                                   & (out["tag"] == key["tag"]))[0])
        raise DataFormatError(f"{path}, line {line(row)}: ({key['user']!r}, {key['item']!r}, "
                              f"{key['tag']!r}) is assigned again (first at line {line(first)})")
    return out
