"""``json_text.make_encoder``: the text ``json.dumps`` gives, from an encoder built once."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2e.protocol.json_text import make_encoder

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
DEFAULT = make_encoder()
COMPACT_UNICODE = make_encoder(separators=(",", ":"), ensure_ascii=False)


@given(VALUES)
def test_the_text_is_json_dumps_text(value: object) -> None:
    assert DEFAULT(value) == json.dumps(value)
    assert COMPACT_UNICODE(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_other_values_go_through_default_or_raise_as_json_dumps_does() -> None:
    assert make_encoder(default=str)({"on": date(2030, 1, 2)}) == '{"on": "2030-01-02"}'
    with pytest.raises(TypeError):
        DEFAULT({"on": date(2030, 1, 2)})
    assert DEFAULT("after an error") == '"after an error"'  # the encoder is still usable
