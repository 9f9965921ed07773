"""Strict readers for delimited text files.

Every real data file of the package goes through `read_table`: a malformed line, a wrong
column count, a non-integer id or an undecodable byte raises `DataFormatError` naming the
file and the 1-based line number. Nothing is dropped silently.
"""

from __future__ import annotations

import os
import re
from typing import Sequence

import pandas as pd

# ASCII digits only: `\d` would also accept other scripts' digits (e.g. "١٢" -> 12).
_INTEGER = re.compile(r"-?[0-9]+")
_INT64 = (-(2**63), 2**63 - 1)


class DataFormatError(ValueError):
    """A data file does not have the documented format; the message names file and line."""


def read_table(
    path: str | os.PathLike,
    *,
    sep: str,
    names: Sequence[str],
    int_columns: Sequence[str] = (),
    encoding: str = "utf-8",
    header: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Reads a `sep`-delimited file into a DataFrame with columns `names`.

    Args:
      path: the file.
      sep: field separator (may be several characters, e.g. "::").
      names: column names; every line must have exactly this many fields.
      int_columns: columns that must hold integers; they come back as int64.
      encoding: strict text encoding of the file.
      header: if given, the first line must consist of exactly these fields.

    Returns:
      The table; other columns are kept as strings.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{path}: no such file") from err
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        bad = raw[err.start : err.start + 1]
        raise DataFormatError(
            f"{path}:{line}: byte {bad!r} cannot be decoded as {encoding}"
        ) from None

    # Split on "\n" only: str.splitlines() would also split on characters such as \x1c or
    # \u2028 that may legally occur inside a free-text field. A trailing "\r" (CRLF files)
    # is part of the line ending, not of the last field.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]

    first = 0
    if header is not None:
        if not lines or lines[0].split(sep) != list(header):
            got = lines[0] if lines else "<empty file>"
            raise DataFormatError(
                f"{path}:1: expected header {sep.join(header)!r}, found {got!r}"
            )
        first = 1

    rows = [line.split(sep) for line in lines[first:]]
    for offset, fields in enumerate(rows):
        if len(fields) != len(names):
            raise DataFormatError(
                f"{path}:{first + offset + 1}: expected {len(names)} fields separated by "
                f"{sep!r}, found {len(fields)}: {lines[first + offset]!r}"
            )

    table = pd.DataFrame(rows, columns=list(names), dtype=object)
    for column in int_columns:
        values = table[column].astype(str)
        ok = values.str.fullmatch(_INTEGER.pattern)
        if not ok.all():
            row = int((~ok).to_numpy().argmax())
            raise DataFormatError(
                f"{path}:{first + row + 1}: column {column!r} must be an integer, "
                f"found {values.iloc[row]!r}"
            )
        # A value out of int64 range would raise a bare OverflowError without file or line.
        long = (values.str.len() > 18).to_numpy().nonzero()[0]
        out_of_range = [r for r in long if not _INT64[0] <= int(values.iloc[r]) <= _INT64[1]]
        if out_of_range:
            row = int(out_of_range[0])
            raise DataFormatError(
                f"{path}:{first + row + 1}: column {column!r} must be a 64-bit integer, "
                f"found {values.iloc[row]!r}"
            )
        table[column] = values.astype("int64")
    return table
