"""Sealing credential values: round trip, binding to the row, key ids."""

import pytest

from a2e.crypto import FORMAT_VERSION, SealedValueError, SecretBox


def test_round_trip_and_fresh_nonce_each_time():
    box = SecretBox("server-secret")
    first = box.seal("Bearer abc123", context=b"credential:1:api")
    second = box.seal("Bearer abc123", context=b"credential:1:api")
    assert first != second
    assert b"abc123" not in first
    assert first[0] == FORMAT_VERSION and first[1:5] == box.key_id
    assert box.open(first, context=b"credential:1:api") == "Bearer abc123"


def test_another_secret_key_is_told_apart_by_its_key_id():
    sealed = SecretBox("old-secret").seal("v", context=b"c")
    assert SecretBox("old-secret").key_id != SecretBox("new-secret").key_id
    with pytest.raises(SealedValueError, match="another server secret key"):
        SecretBox("new-secret").open(sealed, context=b"c")


@pytest.mark.parametrize("tamper", [
    lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]),   # flipped tag bit
    lambda blob: blob[:5],                             # truncated
    lambda blob: bytes([9]) + blob[1:],                # unknown version
])
def test_damaged_values_do_not_open(tamper):
    box = SecretBox("s")
    with pytest.raises(SealedValueError):
        box.open(tamper(box.seal("value", context=b"c")), context=b"c")


def test_a_value_moved_to_another_row_does_not_open():
    box = SecretBox("s")
    sealed = box.seal("value", context=b"credential:1:api")
    with pytest.raises(SealedValueError):
        box.open(sealed, context=b"credential:2:api")


def test_an_empty_secret_key_is_refused():
    with pytest.raises(ValueError):
        SecretBox("")
