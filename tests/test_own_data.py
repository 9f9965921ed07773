"""`daeptr.data.own.read_posts`: your own tag assignments from a CSV/TSV, and one-line errors
that name the file, the line and the column."""

import numpy as np
import pytest

from daeptr.data.own import Columns, read_posts
from daeptr.data.readers import DataFormatError


def _write(tmp_path, text, name="posts.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_ids_stay_the_files_strings_and_timestamps_order_the_assignments(tmp_path):
    path = _write(tmp_path, "user,item,tag,timestamp\nAnna,Song 1, Rock,5\nAnna,Song 1,rock,7\n"
                            "Bo,Song 1, Rock,3\n")
    frame = read_posts(path)
    assert list(frame["tag"]) == [" Rock", "rock", " Rock"]  # no trimming, no case folding
    assert list(frame["user"]) == ["Anna", "Anna", "Bo"]
    np.testing.assert_array_equal(frame["timestamp"], [5, 7, 3])


def test_without_a_timestamp_column_the_row_order_is_the_time_order(tmp_path):
    frame = read_posts(_write(tmp_path, "u\ti\tt\nx\ty\ta\nx\ty\tb\n", "posts.tsv"),
                       columns=Columns("u", "i", "t"))
    np.testing.assert_array_equal(frame["timestamp"], [0, 1])  # a tab for .tsv
    assert list(frame.columns) == ["user", "item", "tag", "timestamp"]


def test_blank_lines_at_the_end_mean_nothing(tmp_path):
    assert len(read_posts(_write(tmp_path, "user,item,tag\nu,i,t\n\n\n"))) == 1


@pytest.mark.parametrize("text, message", [
    ("", "posts.csv: the file is empty"),
    ("user,item,tag\n", "posts.csv: no tag assignments after the header"),
    ("user,item,label\nu,i,t\n", "posts.csv, line 1: no column 'tag'"),
    ("user,item,tag\nu,i,t\nu2,,t\n", "posts.csv, line 3, column 'item': missing value"),
    ("user,item,tag\nu,i,t\nu2,i\n", "posts.csv, line 3, column 'tag': missing value"),
    ("user,item,tag\nu,i,t\n\nu2,i,t\n", "posts.csv, line 3, column 'user': missing value"),
    ("user,item,tag,timestamp\nu,i,t,1\nu,i,s,yesterday\n",
     "posts.csv, line 3, column 'timestamp': 'yesterday' is not a number"),
    ("user,item,tag,timestamp\nu,i,t,1\nu,i,s,inf\n",
     "posts.csv, line 3, column 'timestamp': 'inf' is not a number"),
    ("user,item,tag\nu,i,t\nu,i,s\nu,i,t\n",
     "posts.csv, line 4: ('u', 'i', 't') is assigned again (first at line 2)"),
    ("user,item,tag\nu,i,t\nu,i,s,x\n", "Expected 3 fields in line 3, saw 4"),
])
def test_bad_input_is_one_line_naming_the_file_line_and_column(tmp_path, text, message):
    with pytest.raises(DataFormatError) as error:
        read_posts(_write(tmp_path, text))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_missing_file_and_a_timestamp_column_asked_for_by_name(tmp_path):
    with pytest.raises(DataFormatError, match="nothing.csv: no such file"):
        read_posts(tmp_path / "nothing.csv")
    path = _write(tmp_path, "user,item,tag\nu,i,t\n")
    with pytest.raises(DataFormatError, match="line 1: no column 'when'"):
        read_posts(path, columns=Columns(timestamp="when"))
