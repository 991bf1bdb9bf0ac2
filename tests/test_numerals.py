"""parse_number: Chinese, Arabic and mixed numerals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.numerals import parse_number


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("十", 10),
        ("十二", 12),
        ("三十六", 36),
        ("两", 2),
        ("两百", 200),
        ("一百零五", 105),
        ("一千零一十", 1010),
        ("二〇二二", 2022),
        ("1.2万", 12_000),
        ("一百六十点六亿", 1.606e10),
        ("160.6亿", 1.606e10),
        ("2.5万亿", 2.5e12),
        ("3千万", 3e7),
        ("1亿2000万", 1.2e8),
        ("十万", 1e5),
        ("五点零五", 5.05),
        ("１２", 12),
        ("１．５万", 15_000),
        ("1,285", 1285),
        (" 57 ", 57),
        ("八十五億", 8.5e9),
        ("兩", 2),
    ],
)
def test_parses(written: str, value: float) -> None:
    assert parse_number(written) == pytest.approx(value, rel=1e-12)


def test_decimal_arithmetic_is_exact() -> None:
    assert parse_number("160.6亿") == 16_060_000_000.0
    assert parse_number("87.2亿") == 8_720_000_000.0


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "两两",
        "百",
        "千智",
        "万",
        "几十",
        "数百",
        "点五",
        "abc",
        "12a",
        "1.2.3",
        "十四五",
        "三三两两",
    ],
)
def test_rejects(garbage: str) -> None:
    assert parse_number(garbage) is None


@given(st.text(max_size=30))
def test_never_raises(text: str) -> None:
    result = parse_number(text)
    assert result is None or isinstance(result, float)


@given(st.integers(min_value=0, max_value=10**12))
def test_arabic_round_trip(number: int) -> None:
    assert parse_number(str(number)) == float(number)
