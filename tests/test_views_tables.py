"""Tables show whole values, readable times, and escape everything."""
import pandas as pd

from trailtools.views.tables import Table


def test_table_escapes_and_formats():
    frame = pd.DataFrame({"time": [pd.Timestamp("2026-10-07T04:32:50Z"), pd.NaT],
                          "who": ["<img src=x onerror=alert(1)>", None], "ids": [["i-1", "i-2"], []]})
    out = Table(frame)._repr_html_()
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "2026-10-07 04:32:50Z" in out and "NaT" not in out and "i-1 i-2" in out


def test_long_values_are_whole_and_long_tables_say_what_is_left_out():
    frame = pd.DataFrame({"detail": ["x" * 300] * 3})
    out = Table(frame, max_rows=2)._repr_html_()
    assert "x" * 300 in out and "1 more rows not shown" in out
