"""The operation catalog: each operation type's ``run(ctx, config) -> result`` function.

A function returns the operation's result; the runner writes it at ``outputPath`` when
the config has one. Operations without output return a small object (``{"branch": ...}``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from a2e.engine.ops import (
    api_call,
    calculate,
    conditional,
    convert_timezone,
    date_calculation,
    encode_decode,
    extract_text,
    filter_data,
    format_text,
    get_current_datetime,
    loop,
    merge_data,
    store_data,
    transform_data,
    validate_data,
    wait,
)

OpFunction = Callable[[Any, Mapping[str, Any]], Any]

CATALOG: Mapping[str, OpFunction] = MappingProxyType(
    {
        "ApiCall": api_call.run,
        "FilterData": filter_data.run,
        "TransformData": transform_data.run,
        "Conditional": conditional.run,
        "Loop": loop.run,
        "StoreData": store_data.run,
        "Wait": wait.run,
        "MergeData": merge_data.run,
        "GetCurrentDateTime": get_current_datetime.run,
        "ConvertTimezone": convert_timezone.run,
        "DateCalculation": date_calculation.run,
        "FormatText": format_text.run,
        "ExtractText": extract_text.run,
        "ValidateData": validate_data.run,
        "Calculate": calculate.run,
        "EncodeDecode": encode_decode.run,
    }
)
