"""An event's details are stored scrubbed and as plain JSON: exactly what a trip through
JSON would make of them (so that what is hashed is what reads back), by the shorter way
when they are plain already."""

import json
from datetime import datetime, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from a2e.audit.log import REDACTED, plain_details, scrub

KEYS = st.one_of(st.sampled_from(["api_key", "Token", "PASSWORD", "secret", "name", "n"]),
                 st.text(max_size=6), st.integers(-3, 3), st.booleans(), st.none())
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
    st.datetimes(timezones=st.just(timezone.utc)), st.decimals(allow_nan=False, places=2),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=20,
)


def through_json(details):
    return json.loads(json.dumps(scrub(details), default=str))


@given(st.dictionaries(KEYS, VALUES, max_size=5))
def test_details_are_what_json_reads_back_with_secrets_masked(details):
    made = plain_details(details)
    assert made == through_json(details)
    assert json.dumps(made) == json.dumps(through_json(details))


def test_plain_details_keep_their_order_and_mask_at_any_depth():
    details = {"b": 1, "a": [{"Api_Key": "k-1"}, ("x", 2)],
               "when": datetime(2026, 12, 1, tzinfo=timezone.utc), "cost": Decimal("1.50"),
               7: {"token": "t"}}
    made = plain_details(details)
    assert list(made) == ["b", "a", "when", "cost", "7"]
    assert made["a"] == [{"Api_Key": REDACTED}, ["x", 2]]
    assert made["when"] == "2026-12-01 00:00:00+00:00" and made["cost"] == "1.50"
    assert made["7"] == {"token": REDACTED}
