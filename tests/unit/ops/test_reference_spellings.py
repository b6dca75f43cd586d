"""The reference implementation's config spellings of the utility operations, beside ours.

Where both spellings mean the same thing they give the same result."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from a2e.engine.ops import REGISTRY
from a2e.errors import DataError

STAMP = 1719835200  # 2024-07-01T12:00:00Z, the fake clock's time


def run(make_ctx, op_type: str, config: dict, data: dict | None = None):
    spec = REGISTRY[op_type]
    errors = [finding.message for finding in spec.check(config) if not finding.warning]
    assert errors == [], errors
    return spec.run(make_ctx(data), config)


def errors_of(op_type: str, config: dict) -> list[str]:
    return [finding.message for finding in REGISTRY.check_config(op_type, config) if not finding.warning]


# --- date and time -----------------------------------------------------------------


@pytest.mark.parametrize(("reference", "ours", "expected"), [
    ({"format": "iso8601"}, {"format": "iso"}, "2024-07-01T14:00:00+02:00"),
    ({}, {"format": "iso"}, "2024-07-01T14:00:00+02:00"),
    ({"format": "timestamp"}, {"format": "timestamp"}, STAMP),
    ({"format": "custom", "formatString": "%d/%m/%Y %H:%M"}, {"format": "%d/%m/%Y %H:%M"}, "01/07/2024 14:00"),
])
def test_get_current_datetime_formats(make_ctx, reference, ours, expected):
    base = {"timezone": "Europe/Paris", "outputPath": "/workflow/now"}
    assert run(make_ctx, "GetCurrentDateTime", {**base, **reference}) == expected
    assert run(make_ctx, "GetCurrentDateTime", {**base, **ours}) == expected


def test_a_custom_format_string_is_strftime_as_is(make_ctx):
    config = {"format": "custom", "formatString": "hello world", "outputPath": "/workflow/t"}
    assert run(make_ctx, "GetCurrentDateTime", config) == "hello world"


def test_format_checks_point_at_the_right_spelling():
    (custom,) = REGISTRY.check_config("GetCurrentDateTime", {"format": "custom", "outputPath": "/workflow/t"})
    assert "needs 'formatString'" in custom.message and not custom.warning
    (unknown,) = REGISTRY.check_config("GetCurrentDateTime", {"format": "iso-8601", "outputPath": "/workflow/t"})
    assert unknown.suggestion == "did you mean 'iso8601'?"
    (ignored,) = REGISTRY.check_config("GetCurrentDateTime", {"formatString": "%Y", "outputPath": "/workflow/t"})
    assert ignored.warning and "custom" in ignored.suggestion


@pytest.mark.parametrize("moment", [
    "2024-07-01T12:00:00Z",
    STAMP,
    float(STAMP),
    {"year": 2024, "month": 7, "day": 1, "hour": 12},
])
def test_convert_timezone_reads_iso_timestamps_and_date_objects(make_ctx, moment):
    config = {"inputPath": "/workflow/t", "fromTimezone": "UTC", "toTimezone": "America/New_York",
              "outputPath": "/workflow/ny"}
    assert run(make_ctx, "ConvertTimezone", config, {"/workflow/t": moment}) == "2024-07-01T08:00:00-04:00"
    as_stamp = run(make_ctx, "ConvertTimezone", {**config, "format": "timestamp"}, {"/workflow/t": moment})
    assert as_stamp == STAMP
    custom = {**config, "format": "custom", "formatString": "%H:%M %Z"}
    assert run(make_ctx, "ConvertTimezone", custom, {"/workflow/t": moment}) == "08:00 EDT"


@pytest.mark.parametrize(("moment", "message"), [
    ({"year": 2024, "month": 7}, "needs day"),
    ({"year": 2024, "month": 13, "day": 1}, "not a valid date-time"),
    ({"year": "2024", "month": 7, "day": 1}, "must be integers"),
    (True, "got boolean"),
    ([2024, 7, 1], "got array"),
    (10**20, "out of range"),
])
def test_bad_date_inputs_name_the_path(make_ctx, moment, message):
    config = {"inputPath": "/workflow/t", "toTimezone": "UTC", "outputPath": "/workflow/x"}
    with pytest.raises(DataError, match=message) as caught:
        run(make_ctx, "ConvertTimezone", config, {"/workflow/t": moment})
    assert "/workflow/t" in caught.value.message or caught.value.details.get("path") == "/workflow/t"


def test_date_calculation_with_the_reference_keys(make_ctx):
    base = {"inputPath": "/workflow/now", "operation": "add", "outputPath": "/workflow/later"}
    data = {"/workflow/now": "2024-07-01T12:00:00+00:00"}
    config = {**base, "days": 30, "hours": 12, "minutes": 30, "format": "iso8601"}
    assert run(make_ctx, "DateCalculation", config, data) == "2024-08-01T00:30:00+00:00"
    tomorrow = {**base, "days": 1, "format": "custom", "formatString": "%Y-%m-%d"}
    assert run(make_ctx, "DateCalculation", tomorrow, data) == "2024-07-02"
    back = {**base, "operation": "subtract", "hours": 24, "format": "timestamp"}
    assert run(make_ctx, "DateCalculation", back, {"/workflow/now": STAMP}) == STAMP - 86400


def test_date_calculation_keeps_calendar_months(make_ctx):
    config = {"inputPath": "/workflow/d", "operation": "add", "months": 1, "format": "iso8601",
              "outputPath": "/workflow/x"}
    moment = {"year": 2024, "month": 1, "day": 31}
    assert run(make_ctx, "DateCalculation", config, {"/workflow/d": moment}) == "2024-02-29T00:00:00"
    assert run(make_ctx, "DateCalculation", config, {"/workflow/d": "2024-01-31"}) == "2024-02-29"


def test_date_calculation_timezone_reads_an_input_without_offset(make_ctx):
    config = {"inputPath": "/workflow/d", "operation": "add", "hours": 1, "timezone": "Europe/Madrid",
              "outputPath": "/workflow/x"}
    assert run(make_ctx, "DateCalculation", config, {"/workflow/d": "2024-07-01T10:00:00"}) == \
        "2024-07-01T11:00:00+02:00"
    assert run(make_ctx, "DateCalculation", config, {"/workflow/d": "2024-07-01T10:00:00Z"}) == \
        "2024-07-01T11:00:00+00:00"
    (unknown,) = REGISTRY.check_config("DateCalculation", {**config, "timezone": "Europe/Madird"})
    assert unknown.suggestion == "did you mean 'Europe/Madrid'?"


def test_a_naive_result_as_timestamp_counts_as_utc(make_ctx):
    config = {"inputPath": "/workflow/d", "operation": "add", "days": 1, "format": "timestamp",
              "outputPath": "/workflow/x"}
    assert run(make_ctx, "DateCalculation", config, {"/workflow/d": "2024-06-30T12:00:00"}) == STAMP
    assert datetime.fromtimestamp(STAMP, UTC).isoformat() == "2024-07-01T12:00:00+00:00"


# --- text ----------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "text", "expected"), [
    ("upper", "hello world", "HELLO WORLD"),
    ("lower", "Hello World", "hello world"),
    ("title", "hello big world", "Hello Big World"),
    ("capitalize", "hello WORLD", "Hello world"),
    ("trim", "  padded \n", "padded"),
])
def test_format_text_transforms(make_ctx, fmt, text, expected):
    config = {"inputPath": "/workflow/t", "format": fmt, "outputPath": "/workflow/f"}
    assert run(make_ctx, "FormatText", config, {"/workflow/t": text}) == expected


def test_format_text_template_and_replace(make_ctx):
    data = {"/workflow/user": {"name": "Alice", "points": 100}, "/workflow/t": "old test string"}
    template = {"inputPath": "/workflow/user", "template": "Hello {name}, you have {points} points",
                "outputPath": "/workflow/m"}
    expected = "Hello Alice, you have 100 points"
    assert run(make_ctx, "FormatText", {**template, "format": "template"}, data) == expected
    assert run(make_ctx, "FormatText", template, data) == expected
    replace = {"inputPath": "/workflow/t", "format": "replace", "replacements": {"old": "new", "test": "example"},
               "outputPath": "/workflow/f"}
    assert run(make_ctx, "FormatText", replace, data) == "new example string"


def test_format_text_reads_other_values_as_json_text(make_ctx):
    config = {"inputPath": "/workflow/t", "format": "upper", "outputPath": "/workflow/f"}
    assert run(make_ctx, "FormatText", config, {"/workflow/t": {"a": "b"}}) == '{"A":"B"}'
    assert run(make_ctx, "FormatText", config, {"/workflow/t": 5}) == "5"


@pytest.mark.parametrize(("config", "message"), [
    ({"format": "upper", "outputPath": "/workflow/f"}, "format 'upper' needs 'inputPath'"),
    ({"format": "replace", "inputPath": "/workflow/t", "outputPath": "/workflow/f"}, "needs 'replacements'"),
    ({"format": "template", "inputPath": "/workflow/t", "outputPath": "/workflow/f"}, "needs 'template'"),
    ({"inputPath": "/workflow/t", "outputPath": "/workflow/f"}, "needs 'template'"),
    ({"format": "uppercase", "inputPath": "/workflow/t", "outputPath": "/workflow/f"}, "unknown value"),
])
def test_format_text_config_errors(config, message):
    assert any(message in error for error in errors_of("FormatText", config)), errors_of("FormatText", config)


def test_extract_text_extract_all(make_ctx):
    data = {"/workflow/t": "Prices: 100, 200, 300"}
    base = {"inputPath": "/workflow/t", "pattern": "[0-9]+", "outputPath": "/workflow/x"}
    assert run(make_ctx, "ExtractText", {**base, "extractAll": False}, data) == "100"
    assert run(make_ctx, "ExtractText", {**base, "extractAll": True}, data) == ["100", "200", "300"]
    assert run(make_ctx, "ExtractText", {**base, "all": True}, data) == ["100", "200", "300"]
    assert run(make_ctx, "ExtractText", {**base, "all": False}, data) == "100"
    group = {**base, "pattern": "@([a-z.]+)", "extractAll": False}
    assert run(make_ctx, "ExtractText", group, {"/workflow/t": "user@example.com"}) == "@example.com"
    assert run(make_ctx, "ExtractText", {**group, "extractAll": True}, {"/workflow/t": "a@b.c d@e.f"}) == ["b.c", "e.f"]
    ours = {**base, "pattern": "@([a-z.]+)", "all": True}
    assert run(make_ctx, "ExtractText", ours, {"/workflow/t": "a@b.c"}) == [["b.c"]]
    pairs = {**base, "pattern": "([a-z])=([0-9])", "extractAll": True}
    assert run(make_ctx, "ExtractText", pairs, {"/workflow/t": "a=1 b=2"}) == [["a", "1"], ["b", "2"]]
    assert run(make_ctx, "ExtractText", {**base, "extractAll": False}, {"/workflow/t": "none"}) is None


def test_extract_text_spelling_suggestions():
    base = {"inputPath": "/workflow/t", "pattern": "x", "outputPath": "/workflow/x"}
    (typo,) = REGISTRY.check_config("ExtractText", {**base, "extractall": True})
    assert typo.suggestion == "did you mean 'extractAll'? (also spelled 'all')"
    (both,) = REGISTRY.check_config("ExtractText", {**base, "all": True, "extractAll": True})
    assert "two spellings" in both.message and not both.warning


# --- ValidateData ------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "value", "valid"), [
    ("email", "user@example.com", True),
    ("email", "invalid-email", False),
    ("url", "https://example.com/path", True),
    ("url", "example.com", False),
    ("number", "123.45", True),
    ("number", 7, True),
    ("number", "12abc", False),
    ("integer", "42", True),
    ("integer", 42, True),
    ("integer", "4.2", False),
    ("phone", "+1 (555) 123-4567", True),
    ("phone", "555-1234", False),
    ("date", "2024-07-01", True),
    ("date", "2024-07-01T12:00:00Z", True),
    ("date", "01/07/2024", False),
])
def test_validation_types(make_ctx, kind, value, valid):
    config = {"inputPath": "/workflow/v", "validationType": kind, "outputPath": "/workflow/r"}
    result = run(make_ctx, "ValidateData", config, {"/workflow/v": value})
    assert result["valid"] is valid and result["value"] == value
    assert ("error" in result) is (not valid)


def test_custom_validation_and_wrong_types(make_ctx):
    config = {"inputPath": "/workflow/v", "validationType": "custom", "pattern": "^[A-Z]{2}[0-9]{4}$",
              "outputPath": "/workflow/r"}
    assert run(make_ctx, "ValidateData", config, {"/workflow/v": "AB1234"}) == {"valid": True, "value": "AB1234"}
    wrong = run(make_ctx, "ValidateData", config, {"/workflow/v": "ab12"})
    assert wrong["valid"] is False and "does not match" in wrong["error"]
    email = {"inputPath": "/workflow/v", "validationType": "email", "outputPath": "/workflow/r"}
    as_object = run(make_ctx, "ValidateData", email, {"/workflow/v": {"a": 1}})
    assert as_object == {"valid": False, "value": {"a": 1}, "error": "expected text or a number, got object"}


@pytest.mark.parametrize(("config", "message"), [
    ({"validationType": "custom"}, "needs 'pattern'"),
    ({"validationType": "emial"}, "unknown value 'emial'"),
    ({}, "exactly one of 'schema' and 'validationType'"),
    ({"validationType": "email", "schema": {}}, "exactly one of"),
])
def test_validate_data_config_errors(config, message):
    full = {"inputPath": "/workflow/v", "outputPath": "/workflow/r", **config}
    assert any(message in error for error in errors_of("ValidateData", full)), errors_of("ValidateData", full)


def test_json_schema_validation_stays(make_ctx):
    config = {"inputPath": "/workflow/v", "schema": {"type": "integer"}, "outputPath": "/workflow/r"}
    assert run(make_ctx, "ValidateData", config, {"/workflow/v": 3}) == {"valid": True, "errors": []}


# --- Calculate -----------------------------------------------------------------------------


@pytest.mark.parametrize(("operation", "value", "operand", "expected"), [
    ("add", 5, 10, 15),
    ("subtract", 5, 10, -5),
    ("multiply", 5, 3, 15),
    ("divide", 7, 2, 3.5),
    ("power", 2, 10, 1024),
    ("modulo", 7, 3, 1),
    ("max", 5, 9, 9),
    ("min", 5, 9, 5),
    ("add", "5", "2.5", 7.5),
])
def test_binary_operations(make_ctx, operation, value, operand, expected):
    config = {"inputPath": "/workflow/n", "operation": operation, "operand": operand, "outputPath": "/workflow/r"}
    assert run(make_ctx, "Calculate", config, {"/workflow/n": value}) == expected


def test_the_operand_may_be_a_path(make_ctx):
    data = {"/workflow/n": 5, "/workflow/m": 4}
    config = {"inputPath": "/workflow/n", "operation": "multiply", "operand": {"path": "/workflow/m"},
              "outputPath": "/workflow/r"}
    assert run(make_ctx, "Calculate", config, data) == 20
    assert REGISTRY["Calculate"].read_paths(config) == ["/workflow/n", "/workflow/m"]


@pytest.mark.parametrize(("config", "value", "expected"), [
    ({"operation": "round", "precision": 2}, 3.14159, 3.14),
    ({"operation": "round", "precision": 2}, "3.14159", 3.14),
    ({"operation": "ceil"}, 2.1, 3),
    ({"operation": "floor"}, -2.1, -3),
    ({"operation": "abs"}, -4, 4),
    ({"operation": "abs"}, [-1, 2], [1, 2]),
    ({"operation": "sum"}, [1, 2, 3, 4, 5], 15),
    ({"operation": "sum"}, ["1", 2, "3.5"], 6.5),
    ({"operation": "average"}, [10, 20, 30], 20),
    ({"operation": "average"}, 4, 4),
    ({"operation": "max"}, [3, 9, 1], 9),
    ({"operation": "min"}, [3, 9, 1], 1),
])
def test_single_and_list_operations(make_ctx, config, value, expected):
    full = {"inputPath": "/workflow/n", "outputPath": "/workflow/r", **config}
    assert run(make_ctx, "Calculate", full, {"/workflow/n": value}) == expected


@pytest.mark.parametrize(("config", "value", "message"), [
    ({"operation": "divide", "operand": 0}, 1, "division by zero"),
    ({"operation": "modulo", "operand": 0}, 1, "division by zero"),
    ({"operation": "add", "operand": "ten"}, 1, "operand is string"),
    ({"operation": "add", "operand": 1}, "ten", "expected a number at /workflow/n, got string"),
    ({"operation": "power", "operand": 0.5}, -8, "finite number"),
    ({"operation": "sum"}, [1, "x"], "item 1 is not a number"),
])
def test_calculate_errors(make_ctx, config, value, message):
    full = {"inputPath": "/workflow/n", "outputPath": "/workflow/r", **config}
    with pytest.raises(DataError, match=message):
        run(make_ctx, "Calculate", full, {"/workflow/n": value})


def test_calculate_config_errors():
    base = {"inputPath": "/workflow/n", "outputPath": "/workflow/r"}
    assert "operation 'add' needs 'operand'" in errors_of("Calculate", {**base, "operation": "add"})
    assert any("'operand' goes with" in error for error in
               errors_of("Calculate", {**base, "operation": "sum", "operand": 1}))
    (typo,) = REGISTRY.check_config("Calculate", {**base, "operation": "multiplyy", "operand": 2})
    assert typo.suggestion == "did you mean 'multiply'?"


# --- EncodeDecode ------------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "text", "encoded"), [
    ("base64", "Hello World", "SGVsbG8gV29ybGQ="),
    ("url", "hello world", "hello%20world"),
    ("html", "<script>alert('test')</script>", "&lt;script&gt;alert(&#x27;test&#x27;)&lt;/script&gt;"),
])
def test_operation_is_a_synonym_of_action(make_ctx, encoding, text, encoded):
    for key in ("operation", "action"):
        encode = {"inputPath": "/workflow/t", key: "encode", "encoding": encoding, "outputPath": "/workflow/e"}
        assert run(make_ctx, "EncodeDecode", encode, {"/workflow/t": text}) == encoded
        decode = {**encode, key: "decode"}
        assert run(make_ctx, "EncodeDecode", decode, {"/workflow/t": encoded}) == text


def test_encode_decode_spelling_errors():
    base = {"inputPath": "/workflow/t", "encoding": "base64", "outputPath": "/workflow/e"}
    assert "needs 'action' (or 'operation')" in errors_of("EncodeDecode", base)
    assert any("two spellings" in error for error in
               errors_of("EncodeDecode", {**base, "action": "encode", "operation": "encode"}))
    (typo,) = REGISTRY.check_config("EncodeDecode", {**base, "action": "encode", "operatoin": "x"})
    assert typo.suggestion == "did you mean 'operation'? (also spelled 'action')"
