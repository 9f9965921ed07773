"""The three real data sets: where their files come from, how they are verified and read.

Files are looked for, in order, under the `data_dir` argument (the drivers' `--data_dir`),
the `DAEPTR_DATA` environment variable and a per-user cache directory. Under each root a
data set may sit in its own folder (`<root>/hetrec2011-lastfm-2k/…`, the layout of the
official archives) or directly (`<root>/user_taggedartists-timestamps.dat`). When no root
has the files they are downloaded from GroupLens into the cache and verified; without a
network the error says exactly which files to put where.

Verification: the Last.fm and ML-100K files are pinned by SHA-256 per file (the copies we
checked are byte-identical to the official archives), and the Last.fm zip by the SHA-256
that GroupLens publishes. The ML-10M tag file is verified by content, because no copy known
to be byte-exact was available to pin its bytes (a copy with CRLF line ends must still
pass): its last line must end with a line feed, its row and distinct counts must match, and
so must the SHA-256 of its rows written back as `UserID::MovieID::Tag::Timestamp` lines with
LF ends (see `ML10M_TAG_CONTENT_SHA256` for where that digest comes from).
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import io
import os
import pathlib
import shutil
import urllib.error
import urllib.request
import zipfile
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from daeptr.data.readers import DataFormatError, read_table

ENV_DATA = "DAEPTR_DATA"
ENV_CACHE = "DAEPTR_CACHE"


class DataNotFoundError(FileNotFoundError):
    """The files of a data set are in none of the searched places and cannot be downloaded."""


class DataIntegrityError(ValueError):
    """A data file is present but is not the published file (checksum or content differs)."""


@dataclasses.dataclass(frozen=True)
class Source:
    """Where one data set comes from and how to check it."""

    name: str
    folder: str  # the folder name under a data root (and in the cache)
    files: tuple[str, ...]  # the files the package reads
    url: str
    archive_sha256: str | None = None
    file_sha256: Mapping[str, str] = dataclasses.field(default_factory=dict)
    aliases: tuple[str, ...] = ()  # other folder names accepted under a data root


_ML100K_FILES = ("u.data", "u.user", "u.item") + tuple(
    f"u{k}.{part}" for k in range(1, 6) for part in ("base", "test")
)

SOURCES: dict[str, Source] = {
    "lastfm": Source(
        name="lastfm",
        folder="hetrec2011-lastfm-2k",
        files=("user_taggedartists-timestamps.dat", "tags.dat"),
        url="https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip",
        archive_sha256="6738f48195667ff03caaab4d32ca9a3133d8cc026b7c3cdaf6ce1010e913c59c",
        file_sha256={
            "user_taggedartists-timestamps.dat": "ec753318e453b15356853674b687da44d9f8c7e1215e1e0ff27aaa5f52e322bd",
            "tags.dat": "e95175f259be4c0c47644ae23d66131cd6d5767142a1405000e79f5584691d70",
        },
    ),
    "ml10m": Source(
        name="ml10m",
        folder="ml-10m",
        files=("tags.dat",),
        url="https://files.grouplens.org/datasets/movielens/ml-10m.zip",
        aliases=("ml-10M100K",),  # the folder inside the official zip
    ),
    "ml100k": Source(
        name="ml100k",
        folder="ml-100k",
        files=_ML100K_FILES,
        url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        file_sha256={
            "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
            "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
            "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
            "u1.base": "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a",
            "u1.test": "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950",
            "u2.base": "6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e",
            "u2.test": "4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3",
            "u3.base": "afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d",
            "u3.test": "0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d",
            "u4.base": "219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca",
            "u4.test": "7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9",
            "u5.base": "a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485",
            "u5.test": "351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634",
        },
    ),
}

# Content check for ML-10M tags.dat: rows, users, movies, distinct (case-sensitive) tags.
ML10M_TAG_COUNTS = {"assignments": 95580, "users": 4009, "items": 7601, "tags": 16529}
# SHA-256 of the content of ML-10M tags.dat: every row written back as
# "user::item::tag::timestamp\n". Counts alone miss a changed field (a timestamp cut short
# keeps every count); this digest does not depend on the file's line ends. It was computed
# from a copy whose rows match two independent copies line for line and whose size, 3,584,119
# bytes with LF ends, is the size listed for tags.dat of an unzipped official archive; for
# such an LF file the digest equals the file's own SHA-256.
ML10M_TAG_CONTENT_SHA256 = "2ac9b3706900ce183af8085a167635128234253ee6b82664184e7f55a962b6ec"


def source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(
            f"unknown data set {name!r}; choose one of {sorted(SOURCES)}"
        ) from None


def default_cache_dir() -> pathlib.Path:
    """`$DAEPTR_CACHE`, else `$XDG_CACHE_HOME/daeptr`, else `~/.cache/daeptr`."""
    if os.environ.get(ENV_CACHE):
        return pathlib.Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "daeptr"


def search_roots(data_dir: str | os.PathLike | None = None) -> list[pathlib.Path]:
    """The roots searched for data, in order: `data_dir`, `$DAEPTR_DATA`, the cache."""
    roots = []
    if data_dir:
        roots.append(pathlib.Path(data_dir))
    if os.environ.get(ENV_DATA):
        roots.append(pathlib.Path(os.environ[ENV_DATA]))
    roots.append(default_cache_dir())
    return roots


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(folder: pathlib.Path, src: Source, files: Sequence[str] | None = None) -> None:
    """Raises DataIntegrityError if a pinned file's SHA-256 differs from the published one."""
    for name in files or src.files:
        expected = src.file_sha256.get(name)
        if expected is None:
            continue
        actual = sha256_of(folder / name)
        if actual != expected:
            raise DataIntegrityError(
                f"{folder / name}: SHA-256 {actual} differs from the official file's "
                f"{expected}; the file is corrupted or not the {src.name} release. "
                f"Replace it with the file from {src.url}."
            )


def locate(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    verify: bool = True,
) -> pathlib.Path:
    """Returns the folder that holds all files of data set `name`, verified.

    Searches `search_roots(data_dir)`; if none holds every file, downloads the official
    archive into the cache (when `download`), else raises DataNotFoundError.
    """
    src = source(name)
    roots = search_roots(data_dir)
    closest = None  # (missing files, folder) of the searched folder that lacks the fewest
    for root in roots:
        for folder in _candidate_folders(src, root):
            missing = missing_files(folder, src)
            if not missing:
                if verify:
                    verify_files(folder, src)
                return folder
            if closest is None or len(missing) < len(closest[0]):
                closest = (missing, folder)
    cache = default_cache_dir()
    if download:
        try:
            folder = fetch(src, cache)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            raise DataNotFoundError(
                _not_found_message(src, roots, f"download failed: {err}", closest)
            ) from err
        if verify:
            verify_files(folder, src)
        return folder
    raise DataNotFoundError(_not_found_message(src, roots, "download disabled", closest))


def _candidate_folders(src: Source, root: pathlib.Path) -> tuple[pathlib.Path, ...]:
    """The folders under `root` that may hold the data set, in the order they are tried."""
    return (*(root / f for f in (src.folder, *src.aliases)), root)


def missing_files(folder: pathlib.Path, src: Source) -> list[str]:
    """The files of `src` that `folder` lacks, in the order of `src.files`."""
    return [f for f in src.files if not (folder / f).is_file()]


def _not_found_message(
    src: Source,
    roots: Sequence[pathlib.Path],
    why: str,
    closest: tuple[list[str], pathlib.Path] | None = None,
) -> str:
    """Names what to fetch: every file when no folder holds any, else only the missing ones.

    A folder with part of a data set (say 12 of the 13 ML-100K files) is almost always the
    one the user meant, so the message names the files it lacks and that folder; listing
    every file of the data set would hide the one that is actually missing.
    """
    where = "\n".join(f"  {r / src.folder}" for r in roots)
    if closest is not None and len(closest[0]) < len(src.files):
        missing, folder = closest
        return (
            f"data set {src.name!r}: {folder} lacks {', '.join(missing)}, and no other searched "
            f"folder holds the whole data set; searched:\n{where}\n({why}). Download "
            f"{src.url} and put the missing {'file' if len(missing) == 1 else 'files'} "
            f"in {folder}."
        )
    return (
        f"data set {src.name!r}: the files {', '.join(src.files)} were found in none of\n"
        f"{where}\n({why}). Download {src.url}, and put those files in a folder "
        f"'{src.folder}' under the directory given by --data_dir or ${ENV_DATA}, or "
        f"under {default_cache_dir()}."
    )


def fetch(src: Source, cache: pathlib.Path) -> pathlib.Path:
    """Downloads the official archive, checks it, and extracts only `src.files`."""
    target = cache / src.folder
    with urllib.request.urlopen(src.url, timeout=60) as response:
        payload = response.read()
    if src.archive_sha256 is not None:
        actual = hashlib.sha256(payload).hexdigest()
        if actual != src.archive_sha256:
            raise DataIntegrityError(
                f"{src.url}: SHA-256 {actual} differs from the published {src.archive_sha256}"
            )
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile as err:
        raise DataIntegrityError(f"{src.url}: the download is not a zip archive ({err})") from None
    with archive:
        members = {pathlib.PurePosixPath(m).name: m for m in archive.namelist()
                   if not m.startswith("__MACOSX") and not m.endswith("/")}
        missing = [f for f in src.files if f not in members]
        if missing:
            raise DataIntegrityError(f"{src.url}: the archive lacks {missing}")
        # Extract next to the target and rename it into place, so that an interrupted
        # download never leaves a half-written data set that a later run would accept.
        partial = cache / (src.folder + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for f in src.files:
            (partial / f).write_bytes(archive.read(members[f]))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


# --------------------------------------------------------------------------------------
# Tag data: one row per tag assignment (user, item, tag, timestamp), raw ids.
# --------------------------------------------------------------------------------------

TAG_COLUMNS = ("user", "item", "tag", "timestamp")


def read_lastfm(folder: str | os.PathLike) -> pd.DataFrame:
    """hetrec2011-lastfm-2k `user_taggedartists-timestamps.dat` (tab separated, CRLF, header)."""
    path = pathlib.Path(folder) / "user_taggedartists-timestamps.dat"
    table = read_table(
        path,
        sep="\t",
        names=TAG_COLUMNS,
        int_columns=TAG_COLUMNS,
        header=("userID", "artistID", "tagID", "timestamp"),
    )
    _check_distinct(table, path, first_line=2)
    return table


def read_lastfm_tag_names(folder: str | os.PathLike) -> pd.Series:
    """hetrec2011-lastfm-2k `tags.dat`: tagID → tag string (the file is latin-1)."""
    path = pathlib.Path(folder) / "tags.dat"
    table = read_table(
        path, sep="\t", names=("tag", "name"), int_columns=("tag",),
        encoding="latin-1", header=("tagID", "tagValue"),
    )
    return table.set_index("tag")["name"]


def read_ml10m(folder: str | os.PathLike, *, verify: bool = True) -> pd.DataFrame:
    """MovieLens 10M `tags.dat` (`UserID::MovieID::Tag::Timestamp`, no header).

    Tags are kept as the exact strings of the file: no case folding or trimming. That is the
    normalisation that yields the paper's 16,529 distinct tags (lower-casing gives 15,240).
    """
    path = pathlib.Path(folder) / "tags.dat"
    table = read_table(
        path, sep="::", names=TAG_COLUMNS, int_columns=("user", "item", "timestamp"),
    )
    _check_distinct(table, path, first_line=1)
    if verify:
        _verify_ml10m(table, path)
    return table


def _verify_ml10m(table: pd.DataFrame, path: pathlib.Path) -> None:
    """Raises DataIntegrityError unless `table`, read from `path`, is the official tags.dat.

    Three checks, the most telling message first: a cut last line (the usual sign of an
    interrupted copy), then the counts, then the content digest, which catches any changed
    field the counts miss.
    """
    _check_last_line_ends(path, line=len(table))
    counts = {
        "assignments": len(table),
        "users": table["user"].nunique(),
        "items": table["item"].nunique(),
        "tags": table["tag"].nunique(),
    }
    if counts != ML10M_TAG_COUNTS:
        raise DataIntegrityError(
            f"{path}: content {counts} differs from the official MovieLens 10M tags.dat "
            f"{ML10M_TAG_COUNTS}; the file is not the official release."
        )
    digest = _ml10m_content_sha256(table)
    if digest != ML10M_TAG_CONTENT_SHA256:
        raise DataIntegrityError(
            f"{path}: the SHA-256 of its rows (written back as LF-ended "
            f"'UserID::MovieID::Tag::Timestamp' lines) is {digest}, not the official "
            f"tags.dat's {ML10M_TAG_CONTENT_SHA256}, although the counts agree: a field was "
            f"changed or cut. Replace it with tags.dat from {SOURCES['ml10m'].url}."
        )


def _check_last_line_ends(path: pathlib.Path, line: int) -> None:
    """Raises DataIntegrityError if the file's last line (number `line`) has no line end.

    The official tags.dat ends its last line, like every other, with a line feed. A copy that
    stops inside a line was cut short, and a cut inside the last timestamp (1188263589 →
    118826) leaves every row, user, movie and tag count as it was.
    """
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - 200))
        tail = f.read()
    if tail and not tail.endswith(b"\n"):
        last = tail.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")
        raise DataIntegrityError(
            f"{path}:{line}: the last line {last!r} has no line end, so the file was cut "
            f"short (the official tags.dat ends with a line feed); replace it with tags.dat "
            f"from {SOURCES['ml10m'].url}."
        )


def _ml10m_content_sha256(table: pd.DataFrame) -> str:
    """SHA-256 of the rows as "user::item::tag::timestamp" lines, each ended by "\\n"."""
    lines = (table["user"].astype(str) + "::" + table["item"].astype(str) + "::"
             + table["tag"].astype(str) + "::" + table["timestamp"].astype(str))
    return hashlib.sha256(("\n".join(lines) + "\n").encode("utf-8")).hexdigest()


def _check_distinct(table: pd.DataFrame, path: pathlib.Path, first_line: int) -> None:
    """`first_line`: the 1-based file line of the first data row (2 after a header)."""
    keys = table[["user", "item", "tag"]]
    duplicated = keys.duplicated()
    if duplicated.any():
        row = int(duplicated.to_numpy().argmax())
        earlier = int((keys == keys.iloc[row]).all(axis=1).to_numpy().argmax())
        # to_dict gives plain Python values: `user 3`, not the repr `np.int64(3)`.
        key = keys.iloc[[row]].to_dict("records")[0]
        shown = ", ".join(f"{column} {value!r}" for column, value in key.items())
        raise DataFormatError(
            f"{path}:{first_line + row}: {shown} already occur together on line "
            f"{first_line + earlier}; a tag assignment (user, item, tag) must be unique"
        )


def load_tags(name: str, data_dir: str | os.PathLike | None = None, *, download: bool = True) -> pd.DataFrame:
    """Reads the tag assignments of `lastfm` or `ml10m`, located and verified."""
    if name not in ("lastfm", "ml10m"):
        raise ValueError(f"unknown tag data set {name!r}; choose 'lastfm' or 'ml10m'")
    folder = locate(name, data_dir, download=download)
    return read_lastfm(folder) if name == "lastfm" else read_ml10m(folder)


def raw_statistics(assignments: pd.DataFrame) -> dict[str, int]:
    """Users, items, tags and tag assignments of a table of assignments."""
    return {
        "users": int(assignments["user"].nunique()),
        "items": int(assignments["item"].nunique()),
        "tags": int(assignments["tag"].nunique()),
        "assignments": int(len(assignments)),
    }


# --------------------------------------------------------------------------------------
# MovieLens 100K: ratings, user profiles, item genres, the five official folds.
# --------------------------------------------------------------------------------------

RATING_COLUMNS = ("user", "item", "rating", "timestamp")
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)


def read_ml100k_ratings(path: str | os.PathLike) -> pd.DataFrame:
    """`u.data` or a fold file `uK.base`/`uK.test`: user, item, rating 1–5, timestamp."""
    table = read_table(path, sep="\t", names=RATING_COLUMNS, int_columns=RATING_COLUMNS)
    bad = ~table["rating"].between(1, 5)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise DataFormatError(
            f"{os.fspath(path)}:{row + 1}: rating must be 1..5, found {table['rating'].iloc[row]}"
        )
    return table


def read_ml100k_users(path: str | os.PathLike) -> pd.DataFrame:
    """`u.user`: user id, age, gender (M/F), occupation, zip code (kept as text)."""
    table = read_table(
        path, sep="|", names=("user", "age", "gender", "occupation", "zip"),
        int_columns=("user", "age"),
    )
    bad = ~table["gender"].isin(["M", "F"])
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise DataFormatError(
            f"{os.fspath(path)}:{row + 1}: gender must be M or F, found {table['gender'].iloc[row]!r}"
        )
    return table


def read_ml100k_items(path: str | os.PathLike) -> pd.DataFrame:
    """`u.item` (latin-1): item id, title, and the 19 genre indicator columns."""
    names = ("item", "title", "release", "video_release", "url") + ML100K_GENRES
    table = read_table(path, sep="|", names=names, int_columns=("item",) + ML100K_GENRES,
                       encoding="latin-1")
    return table[["item", "title", *ML100K_GENRES]]


@dataclasses.dataclass(frozen=True)
class MovieLens100K:
    ratings: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame
    folds: dict[int, tuple[pd.DataFrame, pd.DataFrame]]  # k -> (base, test)


def load_ml100k(data_dir: str | os.PathLike | None = None, *, download: bool = True) -> MovieLens100K:
    """Reads ML-100K, located and verified, and checks that the files agree with each other."""
    folder = locate("ml100k", data_dir, download=download)
    ratings = read_ml100k_ratings(folder / "u.data")
    users = read_ml100k_users(folder / "u.user")
    items = read_ml100k_items(folder / "u.item")
    folds = {
        k: (read_ml100k_ratings(folder / f"u{k}.base"), read_ml100k_ratings(folder / f"u{k}.test"))
        for k in range(1, 6)
    }
    for column, table, path in (("user", users, "u.user"), ("item", items, "u.item")):
        unknown = ~ratings[column].isin(table[column])
        if unknown.any():
            row = int(unknown.to_numpy().argmax())
            raise DataFormatError(
                f"{folder / 'u.data'}:{row + 1}: {column} {ratings[column].iloc[row]} "
                f"is not in {folder / path}"
            )
    return MovieLens100K(ratings=ratings, users=users, items=items, folds=folds)


def encode(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous int32 codes in sorted order of the raw values, and the raw vocabulary."""
    codes, vocabulary = pd.factorize(values, sort=True)
    return codes.astype(np.int32), np.asarray(vocabulary)
