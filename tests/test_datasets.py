"""Data-dir resolution, downloading (with a fake network), checksums, loaders."""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import os
import pathlib
import re
import urllib.error

import numpy as np
import pandas as pd
import pytest

from daeptr.data import datasets
from daeptr.data.datasets import (
    SOURCES,
    DataIntegrityError,
    DataNotFoundError,
    Source,
    default_cache_dir,
    encode,
    fetch,
    load_ml100k,
    load_tags,
    locate,
    raw_statistics,
    search_roots,
    verify_files,
)
from daeptr.data.readers import DataFormatError

pytestmark = pytest.mark.usefixtures("isolated_env")

ML10M_TAGS = b"15::4973::excellent!::1215184630\n20::1::Tom Hanks::1188263589\n"
LASTFM_FILES = ("user_taggedartists-timestamps.dat", "tags.dat")


def ml10m_folder(root: pathlib.Path, write_file, *, flat: bool = False) -> pathlib.Path:
    folder = root if flat else root / "ml-10m"
    write_file(folder / "tags.dat", ML10M_TAGS)
    return folder


def listing(path: pathlib.Path) -> list[str]:
    """Every file and folder under `path`, relative, sorted; [] if it does not exist."""
    if not path.exists():
        return []
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


# ---- cache and roots ------------------------------------------------------------------


def test_default_cache_dir_order(monkeypatch, tmp_path):
    monkeypatch.setenv("DAEPTR_CACHE", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("DAEPTR_CACHE")
    assert default_cache_dir() == tmp_path / "xdg" / "daeptr"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "daeptr"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "daeptr"


def test_search_roots_order(monkeypatch, tmp_path, isolated_env):
    cache = isolated_env
    assert search_roots() == [cache]
    assert search_roots(tmp_path / "d") == [tmp_path / "d", cache]
    monkeypatch.setenv("DAEPTR_DATA", str(tmp_path / "env"))
    assert search_roots() == [tmp_path / "env", cache]
    assert search_roots(str(tmp_path / "d")) == [tmp_path / "d", tmp_path / "env", cache]
    monkeypatch.setenv("DAEPTR_DATA", "")  # empty means unset
    assert search_roots(tmp_path / "d") == [tmp_path / "d", cache]


def test_locate_order_data_dir_env_cache(monkeypatch, tmp_path, isolated_env, write_file):
    cache = isolated_env
    d, env = tmp_path / "d", tmp_path / "env"
    monkeypatch.setenv("DAEPTR_DATA", str(env))
    for root in (d, env, cache):
        ml10m_folder(root, write_file)
    assert locate("ml10m", d, download=False) == d / "ml-10m"
    (d / "ml-10m" / "tags.dat").unlink()
    assert locate("ml10m", d, download=False) == env / "ml-10m"
    (env / "ml-10m" / "tags.dat").unlink()
    assert locate("ml10m", d, download=False) == cache / "ml-10m"
    assert locate("ml10m", download=False) == cache / "ml-10m"


def test_locate_both_layouts(tmp_path, write_file):
    nested, flat = tmp_path / "nested", tmp_path / "flat"
    ml10m_folder(nested, write_file)
    ml10m_folder(flat, write_file, flat=True)
    assert locate("ml10m", nested, download=False) == nested / "ml-10m"
    assert locate("ml10m", flat, download=False) == flat
    # both layouts under one root: the data set's own folder wins
    ml10m_folder(flat, write_file)
    assert locate("ml10m", flat, download=False) == flat / "ml-10m"


def test_locate_needs_every_file(monkeypatch, tmp_path, write_file):
    partial, full = tmp_path / "partial", tmp_path / "full"
    write_file(partial / "hetrec2011-lastfm-2k" / "tags.dat", b"x")
    for name in LASTFM_FILES:
        write_file(full / name, b"x")
    monkeypatch.setenv("DAEPTR_DATA", str(full))
    assert locate("lastfm", partial, download=False, verify=False) == full


def test_locate_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="unknown data set 'ml20m'"):
        locate("ml20m", tmp_path, download=False)


@pytest.mark.parametrize("name", ["lastfm", "ml10m", "ml100k"])
def test_locate_not_found_message(monkeypatch, tmp_path, isolated_env, name):
    monkeypatch.setenv("DAEPTR_DATA", str(tmp_path / "env"))
    src = SOURCES[name]
    with pytest.raises(DataNotFoundError) as info:
        locate(name, tmp_path / "d", download=False)
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    for f in src.files:
        assert f in message
    assert src.url in message
    assert f"'{src.folder}'" in message
    assert "download disabled" in message
    for root in (tmp_path / "d", tmp_path / "env", isolated_env):
        assert str(root / src.folder) in message
    assert "DAEPTR_DATA" in message
    assert listing(isolated_env) == []


@pytest.mark.parametrize(
    "name, absent",
    [
        ("lastfm", ["user_taggedartists-timestamps.dat"]),
        ("lastfm", ["tags.dat"]),
        ("ml100k", ["u3.test"]),
        ("ml100k", ["u.item", "u5.base"]),
    ],
)
def test_locate_not_found_names_only_the_missing_files(tmp_path, write_file, name, absent):
    src = SOURCES[name]
    folder = tmp_path / "d" / src.folder
    for f in src.files:
        if f not in absent:
            write_file(folder / f, b"x")
    with pytest.raises(DataNotFoundError) as info:
        locate(name, tmp_path / "d", download=False)
    message = str(info.value)
    named = [f for f in src.files if re.search(rf"(?<![\w.-]){re.escape(f)}(?![\w.-])", message)]
    assert named == absent, message
    assert str(folder) in message and src.url in message and "download disabled" in message


def test_locate_not_found_after_failed_download_names_only_the_missing_file(
        tmp_path, write_file, fake_network):
    folder = tmp_path / "d" / "hetrec2011-lastfm-2k"
    write_file(folder / "tags.dat", b"x")
    fake_network(error=urllib.error.URLError("no route to host"))
    with pytest.raises(DataNotFoundError) as info:
        locate("lastfm", tmp_path / "d")
    message = str(info.value)
    assert "user_taggedartists-timestamps.dat" in message and "tags.dat" not in message
    assert str(folder) in message and "download failed" in message


# ---- downloading ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        dict(error=urllib.error.URLError("no route to host")),
        dict(error=TimeoutError("timed out")),
        dict(read_error=ConnectionResetError("connection reset")),
        dict(read_error=http.client.IncompleteRead(b"PK", 1000)),
    ],
)
@pytest.mark.parametrize("name", ["lastfm", "ml10m"])
def test_locate_download_failure(tmp_path, isolated_env, fake_network, name, failure):
    net = fake_network(payload=b"", **failure)
    with pytest.raises(DataNotFoundError) as info:
        locate(name, tmp_path / "d")
    message = str(info.value)
    assert "download failed" in message and SOURCES[name].url in message
    assert net.urls == [SOURCES[name].url]
    assert listing(isolated_env) == []  # nothing, partial or not, in the cache


def test_locate_downloads_and_extracts_only_needed_files(isolated_env, fake_network, zip_bytes):
    payload = zip_bytes({
        "ml-10M100K/": b"",
        "ml-10M100K/README.html": b"<html/>",
        "ml-10M100K/tags.dat": ML10M_TAGS,
        "ml-10M100K/movies.dat": b"1::Toy Story (1995)::Comedy\n",
        "__MACOSX/ml-10M100K/tags.dat": b"resource fork, not data",  # must be ignored
    })
    net = fake_network(payload=payload)
    folder = locate("ml10m")
    assert net.urls == [SOURCES["ml10m"].url]
    assert folder == isolated_env / "ml-10m"
    assert listing(isolated_env) == ["ml-10m", "ml-10m/tags.dat"]
    assert (folder / "tags.dat").read_bytes() == ML10M_TAGS
    assert datasets.read_ml10m(folder, verify=False)["tag"].tolist() == ["excellent!", "Tom Hanks"]
    # A second call finds the cached copy and does not download again.
    assert locate("ml10m") == folder
    assert len(net.urls) == 1


def test_load_tags_after_download_verifies_content(isolated_env, fake_network, zip_bytes):
    fake_network(payload=zip_bytes({"ml-10M100K/tags.dat": ML10M_TAGS}))
    with pytest.raises(DataIntegrityError, match="95580"):
        load_tags("ml10m")


def test_locate_download_refuses_wrong_archive(isolated_env, fake_network, zip_bytes):
    # Last.fm's archive is pinned by the SHA-256 GroupLens publishes.
    payload = zip_bytes({f"hetrec2011-lastfm-2k/{f}": b"x" for f in LASTFM_FILES})
    fake_network(payload=payload)
    with pytest.raises(DataIntegrityError) as info:
        locate("lastfm")
    assert SOURCES["lastfm"].archive_sha256 in str(info.value)
    assert hashlib.sha256(payload).hexdigest() in str(info.value)
    assert listing(isolated_env) == []


def test_locate_download_verifies_pinned_files(monkeypatch, isolated_env, fake_network, zip_bytes):
    pinned = dataclasses.replace(
        SOURCES["ml10m"], file_sha256={"tags.dat": hashlib.sha256(b"other").hexdigest()}
    )
    monkeypatch.setitem(SOURCES, "ml10m", pinned)
    fake_network(payload=zip_bytes({"ml-10M100K/tags.dat": ML10M_TAGS}))
    with pytest.raises(DataIntegrityError, match="tags.dat"):
        locate("ml10m")
    assert locate("ml10m", verify=False) == isolated_env / "ml-10m"


def test_fetch_archive_checksum(tmp_path, fake_network, zip_bytes):
    payload = zip_bytes({"data/a.txt": b"alpha", "data/b.txt": b"beta", "data/c.txt": b"gamma"})
    good = Source(name="toy", folder="toy", files=("a.txt", "c.txt"), url="https://example.invalid/toy.zip",
                  archive_sha256=hashlib.sha256(payload).hexdigest())
    bad = dataclasses.replace(good, archive_sha256="0" * 64)
    net = fake_network(payload=payload)
    with pytest.raises(DataIntegrityError) as info:
        fetch(bad, tmp_path / "cache")
    assert "https://example.invalid/toy.zip" in str(info.value) and "0" * 64 in str(info.value)
    assert listing(tmp_path / "cache") == []
    folder = fetch(good, tmp_path / "cache")
    assert folder == tmp_path / "cache" / "toy"
    assert listing(tmp_path / "cache") == ["toy", "toy/a.txt", "toy/c.txt"]
    assert (folder / "a.txt").read_bytes() == b"alpha" and (folder / "c.txt").read_bytes() == b"gamma"
    assert net.urls == [good.url, good.url]


def test_fetch_archive_lacking_a_file(tmp_path, fake_network, zip_bytes):
    src = Source(name="toy", folder="toy", files=("a.txt", "b.txt"), url="https://example.invalid/t.zip")
    fake_network(payload=zip_bytes({"toy/a.txt": b"alpha", "__MACOSX/toy/b.txt": b"x"}))
    with pytest.raises(DataIntegrityError, match=r"lacks \['b.txt'\]"):
        fetch(src, tmp_path / "cache")
    assert listing(tmp_path / "cache") == []


def test_fetch_replaces_stale_folder(tmp_path, fake_network, zip_bytes, write_file):
    cache = tmp_path / "cache"
    write_file(cache / "toy" / "old.txt", b"stale")
    write_file(cache / "toy.partial" / "a.txt", b"half")
    src = Source(name="toy", folder="toy", files=("a.txt",), url="https://example.invalid/t.zip")
    fake_network(payload=zip_bytes({"a.txt": b"alpha"}))
    fetch(src, cache)
    assert listing(cache) == ["toy", "toy/a.txt"]
    assert (cache / "toy" / "a.txt").read_bytes() == b"alpha"


# ---- checksums of files in place ------------------------------------------------------


def test_locate_refuses_modified_lastfm_files(tmp_path, write_file):
    folder = tmp_path / "hetrec2011-lastfm-2k"
    write_file(folder / LASTFM_FILES[0], "userID\tartistID\ttagID\ttimestamp\r\n2\t52\t13\t1\r\n")
    write_file(folder / LASTFM_FILES[1], b"tagID\ttagValue\r\n13\tmetal\r\n")
    with pytest.raises(DataIntegrityError) as info:
        locate("lastfm", tmp_path, download=False)
    message = str(info.value)
    assert str(folder / LASTFM_FILES[0]) in message
    assert SOURCES["lastfm"].file_sha256[LASTFM_FILES[0]] in message
    assert SOURCES["lastfm"].url in message
    assert locate("lastfm", tmp_path, download=False, verify=False) == folder
    with pytest.raises(DataIntegrityError):
        load_tags("lastfm", tmp_path, download=False)


def test_verify_files_names_the_differing_file(tmp_path, write_file):
    write_file(tmp_path / "a.txt", b"alpha")
    write_file(tmp_path / "b.txt", b"beta")
    write_file(tmp_path / "c.txt", b"not pinned")
    pins = {"a.txt": hashlib.sha256(b"alpha").hexdigest(), "b.txt": hashlib.sha256(b"BETA").hexdigest()}
    src = Source(name="toy", folder="toy", files=("a.txt", "b.txt", "c.txt"),
                 url="https://example.invalid/t.zip", file_sha256=pins)
    with pytest.raises(DataIntegrityError) as info:
        verify_files(tmp_path, src)
    message = str(info.value)
    assert str(tmp_path / "b.txt") in message and "a.txt" not in message
    assert hashlib.sha256(b"beta").hexdigest() in message and pins["b.txt"] in message
    verify_files(tmp_path, src, files=("a.txt", "c.txt"))  # these pass
    write_file(tmp_path / "b.txt", b"BETA")
    verify_files(tmp_path, src)


def test_sha256_of(tmp_path, write_file):
    data = os.urandom(3 << 20)  # larger than the 1 MiB read block
    path = write_file(tmp_path / "big", data)
    assert datasets.sha256_of(path) == hashlib.sha256(data).hexdigest()


# ---- loaders and small helpers --------------------------------------------------------


def test_load_tags(tmp_path, write_file):
    with pytest.raises(ValueError, match="unknown tag data set"):
        load_tags("ml100k", tmp_path, download=False)
    with pytest.raises(DataNotFoundError):
        load_tags("ml10m", tmp_path, download=False)
    ml10m_folder(tmp_path, write_file)
    with pytest.raises(DataIntegrityError):  # a tiny file is not the official one
        load_tags("ml10m", tmp_path, download=False)


def ml100k_folder(root, write_file, *, user_of_last_rating: int = 2):
    folder = root / "ml-100k"
    ratings = f"1\t10\t4\t100\n2\t20\t5\t101\n{user_of_last_rating}\t10\t1\t102\n"
    write_file(folder / "u.data", ratings)
    write_file(folder / "u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n")
    genres = "|".join(["0"] * 19)
    write_file(folder / "u.item", f"10|A (1995)|01-Jan-1995||http://x|{genres}\n"
                                  f"20|B (1996)|01-Jan-1996||http://y|{genres}\n".encode())
    for k in range(1, 6):
        write_file(folder / f"u{k}.base", "1\t10\t4\t100\n2\t20\t5\t101\n")
        write_file(folder / f"u{k}.test", f"2\t10\t{k}\t102\n")
    return folder


def test_load_ml100k_small(monkeypatch, tmp_path, write_file):
    monkeypatch.setitem(SOURCES, "ml100k", dataclasses.replace(SOURCES["ml100k"], file_sha256={}))
    ml100k_folder(tmp_path, write_file)
    data = load_ml100k(tmp_path, download=False)
    assert data.ratings["rating"].tolist() == [4, 5, 1]
    assert data.users["user"].tolist() == [1, 2]
    assert data.items["title"].tolist() == ["A (1995)", "B (1996)"]
    assert sorted(data.folds) == [1, 2, 3, 4, 5]
    assert [data.folds[k][1]["rating"].iloc[0] for k in range(1, 6)] == [1, 2, 3, 4, 5]
    assert all(len(base) == 2 for base, _ in data.folds.values())


def test_load_ml100k_refuses_unpinned_copy(tmp_path, write_file):
    ml100k_folder(tmp_path, write_file)
    with pytest.raises(DataIntegrityError, match="u.data"):
        load_ml100k(tmp_path, download=False)


def test_load_ml100k_unknown_user(monkeypatch, tmp_path, write_file):
    monkeypatch.setitem(SOURCES, "ml100k", dataclasses.replace(SOURCES["ml100k"], file_sha256={}))
    folder = ml100k_folder(tmp_path, write_file, user_of_last_rating=3)
    with pytest.raises(DataFormatError) as info:
        load_ml100k(tmp_path, download=False)
    message = str(info.value)
    assert message.startswith(f"{folder / 'u.data'}:3:")
    assert "user 3" in message and str(folder / "u.user") in message


def test_encode():
    codes, vocabulary = encode(pd.Series([30, 10, 20, 10, 30]))
    assert codes.dtype == np.int32
    assert codes.tolist() == [2, 0, 1, 0, 2]
    assert vocabulary.tolist() == [10, 20, 30]
    codes, vocabulary = encode(pd.Series(["b", "B", "a"]))
    assert codes.tolist() == [2, 0, 1] and vocabulary.tolist() == ["B", "a", "b"]


def test_raw_statistics():
    table = pd.DataFrame({"user": [1, 1, 2, 3], "item": [5, 6, 5, 5], "tag": [7, 7, 7, 8],
                          "timestamp": [0, 0, 0, 0]})
    assert raw_statistics(table) == {"users": 3, "items": 2, "tags": 2, "assignments": 4}
