"""Encryption of secrets at rest (credential values) with a key derived from the server secret.

A sealed value is ``version (1 byte) | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM
ciphertext and tag``. The AES key and the key id are both derived from the server's
secret key with HKDF-SHA256 (different ``info`` strings), so the key id names the
secret that sealed a value without revealing it: a later key rotation can tell old
blobs from new ones. Callers bind each blob to where it is stored (``context``, the
AEAD's associated data), so a ciphertext copied to another row does not open.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT_VERSION = 1
KEY_ID_BYTES = 4
NONCE_BYTES = 12
_HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES
_SALT = b"a2e/secret-box"


class SealedValueError(ValueError):
    """A sealed value cannot be opened (another secret key, another row, or damaged)."""


def derive_key(secret_key: str, info: bytes, length: int) -> bytes:
    """A key for one purpose (``info``) derived from the server secret with HKDF-SHA256."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=info).derive(
        secret_key.encode("utf-8")
    )


class SecretBox:
    """Seals and opens short text values with one server secret key."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("the server secret key is empty")
        self._aead = AESGCM(derive_key(secret_key, b"credentials aes-256-gcm v1", 32))
        self.key_id = derive_key(secret_key, b"key id v1", KEY_ID_BYTES)

    def seal(self, plaintext: str, *, context: bytes) -> bytes:
        """The sealed form of ``plaintext``, bound to ``context``."""
        nonce = os.urandom(NONCE_BYTES)
        header = bytes([FORMAT_VERSION]) + self.key_id + nonce
        return header + self._aead.encrypt(nonce, plaintext.encode("utf-8"), header[:5] + context)

    def open(self, sealed: bytes, *, context: bytes) -> str:
        """The plaintext of ``sealed``; SealedValueError if it cannot be opened here."""
        sealed = bytes(sealed)
        if len(sealed) <= _HEADER_BYTES or sealed[0] != FORMAT_VERSION:
            raise SealedValueError("unknown sealed value format")
        if sealed[1:5] != self.key_id:
            raise SealedValueError("sealed with another server secret key")
        nonce = sealed[5:_HEADER_BYTES]
        try:
            plaintext = self._aead.decrypt(nonce, sealed[_HEADER_BYTES:], sealed[:5] + context)
        except InvalidTag:
            raise SealedValueError("sealed value is damaged or belongs elsewhere") from None
        return plaintext.decode("utf-8")
