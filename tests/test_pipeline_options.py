"""Per-request options: parsing from strings, validation, clear errors."""

from __future__ import annotations

import pytest

from model_code.pipeline import OptionsError, PipelineOptions


def test_defaults_and_string_values():
    assert PipelineOptions.from_mapping({}) == PipelineOptions()
    options = PipelineOptions.from_mapping(
        {
            "threshold": "0.3",
            "min_wall_length": "12",
            "backend": " OpenCV ",
            "render": "overlay",
            "resolution": "Input",
        }
    )
    assert options == PipelineOptions(
        threshold=0.3, min_wall_length=12.0, backend="opencv", render="overlay", resolution="input"
    )
    assert PipelineOptions().resolution == "working"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"threshold": "1.5"}, "threshold must be strictly between 0 and 1"),
        ({"threshold": "abc"}, "non-numeric"),
        ({"min_wall_length": "-1"}, "min_wall_length must be a finite number >= 0"),
        ({"min_wall_length": "nan"}, "min_wall_length must be a finite number >= 0"),
        ({"min_wall_length": "1e309"}, "min_wall_length must be a finite number >= 0"),
        ({"threshold": "nan"}, "threshold must be strictly between 0 and 1"),
        ({"backend": "magic"}, "backend must be one of"),
        ({"render": "svg"}, "render must be one of"),
        ({"resolution": "full"}, "resolution must be one of"),
        ({"colour": "red"}, "unknown option"),
    ],
)
def test_bad_values_are_clear_errors(values, message):
    with pytest.raises(OptionsError, match=message):
        PipelineOptions.from_mapping(values)
