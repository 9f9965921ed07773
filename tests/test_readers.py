"""Strict readers: `read_table` and the per-data-set readers, on tiny files."""

from __future__ import annotations

import hashlib
import os
import pathlib
import re

import pandas as pd
import pytest

from daeptr.data import datasets
from daeptr.data.datasets import (
    ML100K_GENRES,
    DataIntegrityError,
    read_lastfm,
    read_lastfm_tag_names,
    read_ml100k_items,
    read_ml100k_ratings,
    read_ml100k_users,
    read_ml10m,
)
from daeptr.data.readers import DataFormatError, read_table

pytestmark = pytest.mark.usefixtures("isolated_env")

LASTFM = "user_taggedartists-timestamps.dat"
# Read at import: the `isolated_env` fixture removes DAEPTR_DATA before each test runs.
REAL_DATA = os.environ.get("DAEPTR_DATA")
LASTFM_HEADER = "userID\tartistID\ttagID\ttimestamp"


def assert_format_error(call, path, line: int, *fragments: str) -> str:
    """`call()` raises DataFormatError whose message starts with `path:line:`."""
    with pytest.raises(DataFormatError) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{path}:{line}:"), message
    for fragment in fragments:
        assert fragment in message, message
    return message


def table(path, **kwargs):
    kwargs.setdefault("sep", "\t")
    kwargs.setdefault("names", ("a", "b", "c"))
    kwargs.setdefault("int_columns", ("a", "b"))
    return read_table(path, **kwargs)


# ---- read_table -----------------------------------------------------------------------


def test_read_table_values_and_dtypes(tmp_path, write_file):
    path = write_file(tmp_path / "t.tsv", "1\t-20\tx y\n3\t4\t\n")
    got = table(path)
    assert list(got.columns) == ["a", "b", "c"]
    assert got["a"].tolist() == [1, 3]
    assert got["b"].tolist() == [-20, 4]
    assert got["c"].tolist() == ["x y", ""]  # text kept as is, empty text allowed
    assert str(got["a"].dtype) == "int64" and str(got["b"].dtype) == "int64"


def test_read_table_crlf_equals_lf(tmp_path, write_file):
    body = ["h1\th2\th3", "1\t2\tfoo", "3\t4\tbar baz"]
    lf = write_file(tmp_path / "lf.tsv", "\n".join(body) + "\n")
    crlf = write_file(tmp_path / "crlf.tsv", "\r\n".join(body) + "\r\n")
    kwargs = dict(header=("h1", "h2", "h3"))
    got_lf, got_crlf = table(lf, **kwargs), table(crlf, **kwargs)
    pd.testing.assert_frame_equal(got_lf, got_crlf)
    assert got_crlf["c"].tolist() == ["foo", "bar baz"]  # no trailing "\r" in the last field


def test_read_table_without_final_newline(tmp_path, write_file):
    a = table(write_file(tmp_path / "a.tsv", "1\t2\tx\n3\t4\ty\n"))
    b = table(write_file(tmp_path / "b.tsv", "1\t2\tx\n3\t4\ty"))
    pd.testing.assert_frame_equal(a, b)
    assert len(b) == 2


def test_read_table_multichar_separator(tmp_path, write_file):
    path = write_file(tmp_path / "t.dat", "1::2::a:b\n")
    got = table(path, sep="::")
    assert got.iloc[0].tolist() == [1, 2, "a:b"]


@pytest.mark.parametrize(
    "content, line, count",
    [
        ("1\t2\tx\n3\t4\n5\t6\tz\n", 2, "found 2"),  # too few
        ("1\t2\tx\n3\t4\ty\n5\t6\tz\tw\n", 3, "found 4"),  # too many
        ("1\t2\tx\n\n3\t4\ty\n", 2, "found 1"),  # blank line inside
        ("1\t2\tx\n3\t4\ty\n\n", 3, "found 1"),  # blank line at the end
        ("1\t2\tx\r\n3\t4\r\n", 2, "found 2"),  # CRLF does not shift the line number
    ],
)
def test_read_table_wrong_column_count(tmp_path, write_file, content, line, count):
    path = write_file(tmp_path / "t.tsv", content)
    assert_format_error(lambda: table(path), path, line, "expected 3 fields", count)


def test_read_table_column_count_line_after_header(tmp_path, write_file):
    path = write_file(tmp_path / "t.tsv", "h1\th2\th3\n1\t2\tx\n3\t4\n")
    assert_format_error(lambda: table(path, header=("h1", "h2", "h3")), path, 3, "found 2")


@pytest.mark.parametrize(
    "value",
    ["12a", "1.5", "", " 12", "12 ", "+5", "1e3", "0x1f", "--1", "-", "\u0661\u0662", "\uff11"],
)
def test_read_table_non_integer(tmp_path, write_file, value):
    path = write_file(tmp_path / "t.tsv", f"1\t2\tx\n3\t{value}\ty\n")
    assert_format_error(lambda: table(path), path, 2, "'b'", "must be an integer", repr(value))


def test_read_table_non_integer_reports_first_bad_line(tmp_path, write_file):
    path = write_file(tmp_path / "t.tsv", "h1\th2\th3\n1\t2\tx\n3\t4\ty\nq\t5\tz\n7\tr\tw\n")
    # column 'a' is checked before 'b': line 4 ('q'), not line 5
    assert_format_error(lambda: table(path, header=("h1", "h2", "h3")), path, 4, "'a'", "'q'")


@pytest.mark.parametrize(
    "value, ok",
    [
        ("9223372036854775807", True),
        ("-9223372036854775808", True),
        ("0000000000000000000000042", True),
        ("9223372036854775808", False),
        ("-9223372036854775809", False),
        ("18446744073709551615", False),
    ],
)
def test_read_table_int64_range(tmp_path, write_file, value, ok):
    path = write_file(tmp_path / "t.tsv", f"1\t2\tx\n3\t{value}\ty\n")
    if ok:
        assert table(path)["b"].tolist() == [2, int(value)]
    else:
        assert_format_error(lambda: table(path), path, 2, "64-bit", repr(value))


@pytest.mark.parametrize("line", [1, 3])
def test_read_table_undecodable_utf8(tmp_path, write_file, line):
    lines = [b"1\t2\tok", b"3\t4\tfine", b"5\t6\tgood"]
    lines[line - 1] = lines[line - 1] + b"\xff"
    path = write_file(tmp_path / "t.tsv", b"\n".join(lines) + b"\n")
    assert_format_error(lambda: table(path), path, line, "\\xff", "utf-8")


def test_read_table_utf8_text(tmp_path, write_file):
    path = write_file(tmp_path / "t.tsv", "1\t2\tcafé ♫\n")
    assert table(path)["c"].tolist() == ["café ♫"]


def test_read_table_latin1(tmp_path, write_file):
    path = write_file(tmp_path / "t.tsv", b"1\t2\tcaf\xe9\n")
    assert table(path, encoding="latin-1")["c"].tolist() == ["café"]
    assert_format_error(lambda: table(path), path, 1, "\\xe9")  # the same file is not UTF-8


def test_read_table_wrong_header(tmp_path, write_file):
    path = write_file(tmp_path / "t.tsv", "h1\tWRONG\th3\n1\t2\tx\n")
    assert_format_error(
        lambda: table(path, header=("h1", "h2", "h3")), path, 1, "expected header", "WRONG"
    )


def test_read_table_missing_header(tmp_path, write_file):
    path = write_file(tmp_path / "t.tsv", "1\t2\tx\n")
    assert_format_error(lambda: table(path, header=("h1", "h2", "h3")), path, 1, "'1\\t2\\tx'")


def test_read_table_empty_file_with_header(tmp_path, write_file):
    path = write_file(tmp_path / "t.tsv", b"")
    assert_format_error(lambda: table(path, header=("h1", "h2", "h3")), path, 1, "<empty file>")


def test_read_table_header_only(tmp_path, write_file):
    path = write_file(tmp_path / "t.tsv", "h1\th2\th3\r\n")
    got = table(path, header=("h1", "h2", "h3"))
    assert len(got) == 0 and list(got.columns) == ["a", "b", "c"]


def test_read_table_missing_file(tmp_path):
    path = tmp_path / "absent.tsv"
    with pytest.raises(FileNotFoundError, match="absent.tsv"):
        table(path)


def test_read_table_keeps_exotic_characters_inside_fields(tmp_path, write_file):
    # \x1c and \u2028 are line breaks for str.splitlines(), but not in these files.
    path = write_file(tmp_path / "t.tsv", "1\t2\ta\x1cb\u2028c\n")
    assert table(path)["c"].tolist() == ["a\x1cb\u2028c"]


# ---- Last.fm --------------------------------------------------------------------------


def lastfm_file(folder, rows, newline="\r\n", header=LASTFM_HEADER):
    text = newline.join([header, *rows]) + newline
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LASTFM).write_bytes(text.encode())
    return folder / LASTFM


LASTFM_ROWS = ["2\t52\t13\t1238536800000", "2\t52\t15\t1238536800000", "4\t7\t13\t-428720400000"]


def test_read_lastfm(tmp_path):
    lastfm_file(tmp_path, LASTFM_ROWS)
    got = read_lastfm(tmp_path)
    assert list(got.columns) == ["user", "item", "tag", "timestamp"]
    assert got.to_numpy().tolist() == [
        [2, 52, 13, 1238536800000],
        [2, 52, 15, 1238536800000],
        [4, 7, 13, -428720400000],  # negative timestamps exist in the real file
    ]
    assert all(str(t) == "int64" for t in got.dtypes)


def test_read_lastfm_crlf_equals_lf(tmp_path):
    lastfm_file(tmp_path / "crlf", LASTFM_ROWS, "\r\n")
    lastfm_file(tmp_path / "lf", LASTFM_ROWS, "\n")
    pd.testing.assert_frame_equal(read_lastfm(tmp_path / "crlf"), read_lastfm(tmp_path / "lf"))


def test_read_lastfm_wrong_header(tmp_path):
    path = lastfm_file(tmp_path, LASTFM_ROWS, header="userID\tartistID\ttagID")
    assert_format_error(lambda: read_lastfm(tmp_path), path, 1, "expected header")


def test_read_lastfm_bad_rows(tmp_path):
    path = lastfm_file(tmp_path, [*LASTFM_ROWS, "5\t6\t7"])
    assert_format_error(lambda: read_lastfm(tmp_path), path, 5, "found 3")
    path = lastfm_file(tmp_path, ["5\t6\t7\t8\t9", *LASTFM_ROWS])
    assert_format_error(lambda: read_lastfm(tmp_path), path, 2, "found 5")
    path = lastfm_file(tmp_path, [LASTFM_ROWS[0], "2\t5x\t13\t1"])
    assert_format_error(lambda: read_lastfm(tmp_path), path, 3, "'item'", "'5x'")
    path = lastfm_file(tmp_path, [LASTFM_ROWS[0], "2\t5\t13\t1.5"])
    assert_format_error(lambda: read_lastfm(tmp_path), path, 3, "'timestamp'", "'1.5'")


def test_read_lastfm_duplicate_assignment(tmp_path):
    # line 5 repeats (user, item, tag) of line 2 with another timestamp
    path = lastfm_file(tmp_path, [*LASTFM_ROWS, "2\t52\t13\t99"])
    message = assert_format_error(lambda: read_lastfm(tmp_path), path, 5, "unique")
    assert "user 2, item 52, tag 13" in message and "line 2" in message
    assert "np." not in message and "int64" not in message


def test_read_lastfm_undecodable(tmp_path, write_file):
    path = write_file(
        tmp_path / LASTFM,
        (LASTFM_HEADER + "\r\n1\t2\t3\t4\r\n1\t2\t\x80\t4\r\n").encode("latin-1"),
    )
    assert_format_error(lambda: read_lastfm(tmp_path), path, 3, "\\x80")


def test_read_lastfm_tag_names_latin1(tmp_path, write_file):
    write_file(tmp_path / "tags.dat", b"tagID\ttagValue\r\n1\tmetal\r\n2\tcaf\xe9 del mar\r\n")
    got = read_lastfm_tag_names(tmp_path)
    assert got.to_dict() == {1: "metal", 2: "café del mar"}
    assert got.index.name == "tag"


def test_read_lastfm_tag_names_errors(tmp_path, write_file):
    path = write_file(tmp_path / "tags.dat", b"tagID\tvalue\r\n1\tmetal\r\n")
    assert_format_error(lambda: read_lastfm_tag_names(tmp_path), path, 1, "expected header")
    path = write_file(tmp_path / "tags.dat", b"tagID\ttagValue\r\n1\tmetal\r\nx2\trock\r\n")
    assert_format_error(lambda: read_lastfm_tag_names(tmp_path), path, 3, "'x2'")


# ---- MovieLens 10M tags ---------------------------------------------------------------


ML10M_LINES = [
    "15::4973::excellent!::1215184630",
    "20::1::Tom Hanks::1188263589",
    "20::2::dark; funny::1188263590",
    "20::3::sci-fi: classic::1188263591",
    "20::4::Sci-Fi::1188263592",
    "20::5::sci-fi::1188263593",
    "30210::3977:::-)::1141863662",  # a real tag that starts with ':'
    "21::4973::  padded ::1188263594",
]


def test_read_ml10m_keeps_tag_text(tmp_path, write_file):
    write_file(tmp_path / "tags.dat", "\n".join(ML10M_LINES) + "\n")
    got = read_ml10m(tmp_path, verify=False)
    assert got["tag"].tolist() == [
        "excellent!", "Tom Hanks", "dark; funny", "sci-fi: classic", "Sci-Fi", "sci-fi",
        ":-)", "  padded ",
    ]
    assert got["user"].tolist() == [15, 20, 20, 20, 20, 20, 30210, 21]
    assert got["item"].tolist() == [4973, 1, 2, 3, 4, 5, 3977, 4973]
    assert got["timestamp"].iloc[0] == 1215184630
    assert got["tag"].nunique() == 8  # case-sensitive: 'Sci-Fi' != 'sci-fi'


def test_read_ml10m_crlf_equals_lf(tmp_path, write_file):
    write_file(tmp_path / "lf" / "tags.dat", "\n".join(ML10M_LINES) + "\n")
    write_file(tmp_path / "crlf" / "tags.dat", "\r\n".join(ML10M_LINES) + "\r\n")
    pd.testing.assert_frame_equal(
        read_ml10m(tmp_path / "lf", verify=False), read_ml10m(tmp_path / "crlf", verify=False)
    )


def test_read_ml10m_verify(tmp_path, write_file):
    write_file(tmp_path / "tags.dat", "\n".join(ML10M_LINES) + "\n")
    with pytest.raises(DataIntegrityError) as info:
        read_ml10m(tmp_path)  # verify=True is the default
    message = str(info.value)
    assert str(tmp_path / "tags.dat") in message
    assert "'assignments': 8" in message and "95580" in message
    assert len(read_ml10m(tmp_path, verify=False)) == 8


def pin_as_official(monkeypatch, lines):
    """Makes `lines` the "official" tags.dat: its counts and content SHA-256 are pinned."""
    table = pd.DataFrame([line.split("::") for line in lines], columns=["user", "item", "tag", "t"])
    monkeypatch.setattr(datasets, "ML10M_TAG_COUNTS", {
        "assignments": len(lines), "users": table["user"].nunique(),
        "items": table["item"].nunique(), "tags": table["tag"].nunique()})
    # The rule of the pinned digest: the rows written back as LF-ended lines.
    content = ("\n".join(lines) + "\n").encode()
    monkeypatch.setattr(datasets, "ML10M_TAG_CONTENT_SHA256", hashlib.sha256(content).hexdigest(),
                        raising=False)


# The last timestamp cut short: every row, user, movie and tag count stays the same.
ML10M_CUT = [*ML10M_LINES[:-1], "21::4973::  padded ::118826"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_read_ml10m_verify_accepts_official_content(monkeypatch, tmp_path, write_file, newline):
    pin_as_official(monkeypatch, ML10M_LINES)
    write_file(tmp_path / "tags.dat", newline.join(ML10M_LINES) + newline)
    assert len(read_ml10m(tmp_path)) == 8  # CRLF line ends do not change the content digest


def test_read_ml10m_verify_refuses_cut_last_line(monkeypatch, tmp_path, write_file):
    pin_as_official(monkeypatch, ML10M_LINES)
    path = write_file(tmp_path / "tags.dat", "\n".join(ML10M_CUT))  # no line end after 118826
    with pytest.raises(DataIntegrityError) as info:
        read_ml10m(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}:8:"), message
    assert "'21::4973::  padded ::118826'" in message and "no line end" in message
    assert read_ml10m(tmp_path, verify=False)["timestamp"].iloc[-1] == 118826


def test_read_ml10m_verify_refuses_changed_field(monkeypatch, tmp_path, write_file):
    # Same cut, but the line ended: the counts agree, the content digest does not.
    pin_as_official(monkeypatch, ML10M_LINES)
    path = write_file(tmp_path / "tags.dat", "\n".join(ML10M_CUT) + "\n")
    with pytest.raises(DataIntegrityError) as info:
        read_ml10m(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}:"), message
    assert datasets.ML10M_TAG_CONTENT_SHA256 in message
    assert hashlib.sha256(("\n".join(ML10M_CUT) + "\n").encode()).hexdigest() in message


@pytest.mark.realdata
@pytest.mark.skipif(not REAL_DATA, reason="real-data test: set DAEPTR_DATA")
def test_read_ml10m_verify_real_file(tmp_path, write_file):
    """The pinned content passes in LF and CRLF; the same file cut in its last line fails."""
    root = pathlib.Path(REAL_DATA)
    real = next(p for p in (root / "ml-10m", root / "ml-10M100K", root) if (p / "tags.dat").is_file())
    data = (real / "tags.dat").read_bytes()
    assert data.endswith(b"::1188263589\n")  # the official file ends its last line
    write_file(tmp_path / "crlf" / "tags.dat", data.replace(b"\n", b"\r\n"))
    assert len(read_ml10m(tmp_path / "crlf")) == 95580
    cut = write_file(tmp_path / "cut" / "tags.dat", data[: -len(b"3589\n")])  # ...::118826
    with pytest.raises(DataIntegrityError, match=rf"^{re.escape(str(cut))}:95580: .*118826"):
        read_ml10m(tmp_path / "cut")
    write_file(tmp_path / "cut" / "tags.dat", data[: -len(b"3589\n")] + b"\n")
    with pytest.raises(DataIntegrityError, match="SHA-256"):
        read_ml10m(tmp_path / "cut")


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("20::6::a::b::1188263595", "found 5"),  # '::' inside a tag is not representable
        ("20::6::1188263595", "found 3"),
        ("20::6::tag::", "'timestamp'"),
        ("2O::6::tag::1", "'user'"),
        ("20::6.0::tag::1", "'item'"),
    ],
)
def test_read_ml10m_malformed(tmp_path, write_file, bad, fragment):
    path = write_file(tmp_path / "tags.dat", "\n".join([*ML10M_LINES[:2], bad, ML10M_LINES[2]]) + "\n")
    assert_format_error(lambda: read_ml10m(tmp_path, verify=False), path, 3, fragment)


def test_read_ml10m_duplicate_assignment(tmp_path, write_file):
    path = write_file(tmp_path / "tags.dat", "\n".join([*ML10M_LINES, "20::4::Sci-Fi::1"]) + "\n")
    message = assert_format_error(lambda: read_ml10m(tmp_path, verify=False), path, 9, "unique")
    assert "line 5" in message
    # Plain values, as in the file: not `np.int64(20)`, which a mixed-type row used to give.
    assert "user 20, item 4, tag 'Sci-Fi'" in message
    assert "np." not in message and "int64" not in message
    # The same tag with other case is another tag, not a duplicate.
    write_file(tmp_path / "tags.dat", "\n".join([*ML10M_LINES, "20::4::SCI-FI::1"]) + "\n")
    assert len(read_ml10m(tmp_path, verify=False)) == 9


def test_read_ml10m_undecodable(tmp_path, write_file):
    path = write_file(tmp_path / "tags.dat", b"1::2::ok::3\n1::3::caf\xe9::4\n")
    assert_format_error(lambda: read_ml10m(tmp_path, verify=False), path, 2, "\\xe9")


# ---- MovieLens 100K -------------------------------------------------------------------


def test_read_ml100k_ratings(tmp_path, write_file):
    path = write_file(tmp_path / "u.data", "196\t242\t3\t881250949\n186\t302\t5\t891717742\n22\t377\t1\t878887116\n")
    got = read_ml100k_ratings(path)
    assert list(got.columns) == ["user", "item", "rating", "timestamp"]
    assert got.to_numpy().tolist() == [
        [196, 242, 3, 881250949], [186, 302, 5, 891717742], [22, 377, 1, 878887116],
    ]


def test_read_ml100k_ratings_crlf_equals_lf(tmp_path, write_file):
    rows = ["1\t2\t3\t4", "5\t6\t5\t8"]
    a = read_ml100k_ratings(write_file(tmp_path / "a", "\n".join(rows) + "\n"))
    b = read_ml100k_ratings(write_file(tmp_path / "b", "\r\n".join(rows) + "\r\n"))
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("rating", ["0", "6", "-1"])
def test_read_ml100k_ratings_out_of_range(tmp_path, write_file, rating):
    path = write_file(tmp_path / "u1.base", f"1\t2\t3\t4\n1\t3\t5\t4\n1\t4\t{rating}\t4\n")
    assert_format_error(lambda: read_ml100k_ratings(path), path, 3, "1..5", rating)


@pytest.mark.parametrize(
    "line, fragment", [("1\t4\t4.5\t4", "'rating'"), ("1\t4\t4", "found 3"), ("1\t\t4\t4", "'item'")]
)
def test_read_ml100k_ratings_malformed(tmp_path, write_file, line, fragment):
    path = write_file(tmp_path / "u.data", f"1\t2\t3\t4\n{line}\n")
    assert_format_error(lambda: read_ml100k_ratings(path), path, 2, fragment)


USERS = ["1|24|M|technician|85711", "2|53|F|other|94043", "3|23|M|writer|T8H1N", "4|24|M|tech|01234"]


def test_read_ml100k_users(tmp_path, write_file):
    got = read_ml100k_users(write_file(tmp_path / "u.user", "\n".join(USERS) + "\n"))
    assert got["user"].tolist() == [1, 2, 3, 4]
    assert got["age"].tolist() == [24, 53, 23, 24]
    assert got["gender"].tolist() == ["M", "F", "M", "M"]
    assert got["zip"].tolist() == ["85711", "94043", "T8H1N", "01234"]  # text, leading 0 kept


@pytest.mark.parametrize("gender", ["X", "m", "", "MF"])
def test_read_ml100k_users_bad_gender(tmp_path, write_file, gender):
    rows = [*USERS[:2], f"3|23|{gender}|writer|32067", USERS[3]]
    path = write_file(tmp_path / "u.user", "\n".join(rows) + "\n")
    assert_format_error(lambda: read_ml100k_users(path), path, 3, "gender", repr(gender))


def test_read_ml100k_users_malformed(tmp_path, write_file):
    path = write_file(tmp_path / "u.user", "\n".join([USERS[0], "2|5O|F|other|94043"]) + "\n")
    assert_format_error(lambda: read_ml100k_users(path), path, 2, "'age'")
    path = write_file(tmp_path / "u.user", "\n".join([USERS[0], "2|50|F|other"]) + "\n")
    assert_format_error(lambda: read_ml100k_users(path), path, 2, "found 4")


def item_line(item: int, title: bytes, genres: list[int]) -> bytes:
    fields = [str(item).encode(), title, b"01-Jan-1995", b"", b"http://us.imdb.com/x"]
    return b"|".join(fields + [str(g).encode() for g in genres])


def test_read_ml100k_items_latin1(tmp_path, write_file):
    action_comedy = [0] * 19
    action_comedy[1] = action_comedy[5] = 1
    lines = [item_line(1, b"Toy Story (1995)", [0, 0, 0, 1, 1, 1] + [0] * 13),
             item_line(2, b"Ap\xe9ritif (1995)", action_comedy)]
    got = read_ml100k_items(write_file(tmp_path / "u.item", b"\r\n".join(lines) + b"\r\n"))
    assert list(got.columns) == ["item", "title", *ML100K_GENRES]
    assert got["title"].tolist() == ["Toy Story (1995)", "Apéritif (1995)"]
    assert got.loc[1, ["Action", "Comedy", "Drama"]].tolist() == [1, 1, 0]
    assert got.loc[0, ["Animation", "Children's", "Comedy", "Action"]].tolist() == [1, 1, 1, 0]
    assert str(got["Western"].dtype) == "int64"


def test_read_ml100k_items_malformed(tmp_path, write_file):
    good = item_line(1, b"A", [0] * 19)
    path = write_file(tmp_path / "u.item", good + b"\n" + item_line(2, b"B", [0] * 18) + b"\n")
    assert_format_error(lambda: read_ml100k_items(path), path, 2, "expected 24 fields", "found 23")
    path = write_file(tmp_path / "u.item", good + b"\n" + item_line(2, b"B|C", [0] * 19) + b"\n")
    assert_format_error(lambda: read_ml100k_items(path), path, 2, "found 25")
