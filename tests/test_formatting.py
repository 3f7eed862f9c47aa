"""The number formatters and the table printer shared by the report and the command line."""

from __future__ import annotations

import math

import pytest

from ruimteverdeling.formatting import (
    Column,
    measure,
    num,
    number,
    percent,
    signed,
    signed_measure,
    table,
)


def test_num_picks_decimals_by_size() -> None:
    assert num(1234567.891) == "1,234,568"  # from 100 up: whole numbers
    assert num(12.3456) == "12.35"  # from 1 up: 2 decimals
    assert num(0.012345) == "0.0123"  # below 1: 4 decimals
    assert num(7.0) == "7" and num(0) == "0"  # whole numbers stay whole
    assert num(12.3456, 1) == "12.3"
    assert num(None) == "" and num("") == ""
    assert num(True) == "yes" and num(False) == "no"
    assert num("n/a") == "n/a"  # text as it is (the templates escape it)
    assert num(math.inf) == "∞" and num(-math.inf) == "−∞" and num(math.nan) == "n/a"


def test_signs_use_a_true_minus() -> None:
    assert signed(1200.4) == "+1,200" and signed(-35.0) == "−35" and signed(0.0) == "+0"
    assert signed(-1.234, 2) == "−1.23" and signed(None) == "n/a"
    assert signed_measure(-1234.0) == "−1,234" and signed_measure(3.0) == "+3"
    assert signed_measure(0.4) == "+0.4"  # below 10 and not whole: one decimal
    assert signed_measure(None) == "n/a"


def test_measure_and_percent() -> None:
    assert measure(430500.0) == "430,500" and measure(37.391, 2) == "37.39"
    assert measure(0.4) == "0.4" and measure(12.4) == "12"
    assert measure(None) == "n/a"
    assert percent(0.012345, 2) == "1.23%" and percent(1, 0) == "100%"
    assert percent(None) == "n/a"


def test_number_for_terminal_tables() -> None:
    assert number(None) == "-" and number(None, none="n/a") == "n/a"
    assert number(1234567.891) == "1,234,568" and number(0.0509, ".4%") == "5.0900%"
    assert number(-1234.5, "+,.1f") == "-1,234.5" and number(3, "+,.0f") == "+3"
    # what prints as zero carries no minus sign; a real negative keeps it
    assert number(-0.00001, ",.4f") == "0.0000" and number(-0.3, "+,.0f") == "+0"
    assert number(-0.00001, ".4g") == "-1e-05"
    assert number(-math.inf, ".1f") == "-inf" and number(math.nan, ".3%") == "nan%"


def test_table_fits_columns_to_their_widest_cell() -> None:
    cols = [Column("id"), Column("value", ">", 8), Column("note", gap=2)]
    lines = table(cols, [["a", "1.0", ""], ["longer-id", "1,234,567.0", "x y"]])
    assert lines == ["  id              value  note",
                     "  a                 1.0",
                     "  longer-id 1,234,567.0  x y"]
    assert table([Column(width=4), Column()], [["k", "v"]], header=False, indent="") \
        == ["k    v"]
    with pytest.raises(ValueError, match="2 cells for 3 columns"):
        table(cols, [["a", "b"]])
