from __future__ import annotations

import pytest

from champion.errors import InvalidInput
from champion.registry.manifest import FieldSpec
from champion.registry.signature import SignatureChecker

CHECK = SignatureChecker(
    [
        FieldSpec(name="tenure", type="integer"),
        FieldSpec(name="charges", type="number", nullable=True),
        FieldSpec(name="contract", type="string"),
    ]
)


def test_valid_rows_pass_and_ints_are_numbers() -> None:
    rows = CHECK([{"tenure": 3, "charges": 5, "contract": "x"}])
    assert rows == [{"tenure": 3, "charges": 5.0, "contract": "x"}]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"charges": 1.0, "contract": "x"}, r"instances\[0\]\.tenure: Field required"),
        (
            {"tenure": 1, "charges": 1.0, "contract": "x", "zip": 1},
            r"instances\[0\]\.zip: Extra inputs are not permitted",
        ),
        (
            {"tenure": "1", "charges": 1.0, "contract": "x"},
            r"instances\[0\]\.tenure: Input should be a valid integer, got '1'",
        ),
        ({"tenure": 1, "charges": True, "contract": "x"}, r"instances\[0\]\.charges"),
        ({"tenure": 1, "charges": 1.0, "contract": None}, r"instances\[0\]\.contract"),
        (
            {"tenure": 1, "charges": float("nan"), "contract": "x"},
            r"instances\[0\]\.charges: Input should be a finite number, got nan",
        ),
        (
            {"tenure": 1, "charges": float("-inf"), "contract": "x"},
            r"instances\[0\]\.charges: Input should be a finite number, got -inf",
        ),
    ],
)
def test_bad_rows_name_the_field(row: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        CHECK([row])
