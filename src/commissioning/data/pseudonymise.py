"""Pseudonymisation at the door: NHS numbers become keyed pseudonyms on reading.

``person_id = HMAC-SHA256(key, nhs_number)`` truncated to 20 hex characters (80
bits: for 70 million people the chance of any collision is about 2 in a billion).
Without the key the pseudonym cannot be reversed or recomputed from a guessed
number; with the same key the same person always gets the same pseudonym, so
extracts from different sources link.  The key lives outside the store; the
store keeps only a salted scrypt check of it (:func:`key_fingerprint`), so a copy of the
store does not let anyone test guesses at the key cheaply. Whoever holds the key can
recompute the pseudonym of any NHS number, so the key is kept like a password: see
docs/loading.md, "Key custody and rotation".

The NHS number check digit is the modulus 11 algorithm of the NHS Data
Dictionary ("NHS NUMBER"): weights 10 down to 2 on the first nine digits,
check = 11 - (sum mod 11), 11 becomes 0 and 10 means the number is invalid.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import numpy as np
import numpy.typing as npt

DEMO_KEY = b"commissioning demo key: synthetic data only, never for real patients"
PSEUDONYM_HEX_CHARS = 20


class KeyError_(Exception):
    """No usable pseudonymisation key (message says how to give one)."""


def nhs_number_valid(values: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where a value is a 10-digit NHS number passing the modulus 11 check.

    Spaces are ignored (``943 476 5919`` is valid); anything else is invalid.
    """
    arr = np.asarray(values, dtype=object)
    cleaned = np.array(["" if v is None else str(v).replace(" ", "") for v in arr], dtype=object)
    lengths = np.fromiter((len(v) for v in cleaned), dtype=np.int64, count=cleaned.shape[0])
    ok = (lengths == 10) & np.fromiter(
        (v.isascii() and v.isdigit() for v in cleaned), dtype=bool, count=cleaned.shape[0]
    )
    digits = np.zeros((cleaned.shape[0], 10), dtype=np.int64)
    if ok.any():
        as_bytes = np.frombuffer(cleaned[ok].astype("S10").tobytes(), dtype=np.uint8)
        digits[ok] = as_bytes.reshape(-1, 10) - ord("0")
    total = (digits[:, :9] * np.arange(10, 1, -1)).sum(axis=1)
    check = (11 - total % 11) % 11
    return ok & (check != 10) & (check == digits[:, 9])


def pseudonym(nhs_number: str, key: bytes) -> str:
    """Keyed pseudonym of one NHS number (spaces removed first)."""
    digest = hmac.new(key, nhs_number.replace(" ", "").encode(), hashlib.sha256)
    return digest.hexdigest()[:PSEUDONYM_HEX_CHARS]


#: SHA-256's block: a longer HMAC key is hashed first (RFC 2104, section 2).
_BLOCK_BYTES = 64


def hmac_pads(key: bytes) -> dict[str, bytes]:
    """The padded keys of HMAC-SHA256 (RFC 2104): the key (hashed first if longer than
    the 64-byte block), filled to 64 bytes with zeros, XOR 0x36 (``ipad``) and XOR 0x5c
    (``opad``); the parameters of :func:`pseudonym_sql`."""
    block = hashlib.sha256(key).digest() if len(key) > _BLOCK_BYTES else key
    block = block.ljust(_BLOCK_BYTES, b"\0")
    return {"ipad": bytes(b ^ 0x36 for b in block), "opad": bytes(b ^ 0x5C for b in block)}


def pseudonym_sql(digits: str) -> str:
    """DuckDB SQL of :func:`pseudonym` of an NHS number given as its ten digits (a SQL
    expression), with the padded keys of :func:`hmac_pads` bound as ``$ipad`` and
    ``$opad``: ``HMAC(K, m) = H((K xor opad) || H((K xor ipad) || m))`` (RFC 2104). The
    engine hashes every number in parallel, and the key is never in the SQL text."""
    inner = f"unhex(sha256($ipad || encode({digits})))"
    return f"left(sha256($opad || {inner}), {PSEUDONYM_HEX_CHARS})"


def pseudonymise(values: npt.ArrayLike, key: bytes) -> list[str | None]:
    """Pseudonyms for many NHS numbers, each distinct number hashed once.

    Invalid numbers get ``None``: they are rejected by the loader, never stored.
    """
    arr = np.asarray(values, dtype=object)
    valid = nhs_number_valid(arr)
    uniques, inverse = np.unique(arr[valid].astype(str), return_inverse=True)
    hashed = np.array([pseudonym(u, key) for u in uniques], dtype=object)
    out = np.full(arr.shape[0], None, dtype=object)
    out[valid] = hashed[inverse] if uniques.shape[0] else []
    return list(out)


def key_fingerprint(key: bytes) -> str:
    """A check that a later load uses the same key, costly to guess against: scrypt
    (RFC 7914; n=2**14, r=8, p=1) of the key with a random salt, as ``scrypt$salt$hash``.
    Each guess at the key costs a guesser about as much as one load's check."""
    salt = os.urandom(16)
    return "scrypt$" + salt.hex() + "$" + _scrypt(key, salt)


def _scrypt(key: bytes, salt: bytes) -> str:
    return hashlib.scrypt(key, salt=salt, n=2**14, r=8, p=1, dklen=32).hex()


def key_matches(key: bytes, stored: str) -> bool:
    """Does ``key`` match a stored check (this form, or the earlier unsalted HMAC)?"""
    if stored.startswith("scrypt$"):
        _, salt, digest = stored.split("$")
        return hmac.compare_digest(_scrypt(key, bytes.fromhex(salt)), digest)
    legacy = hmac.new(key, b"commissioning key fingerprint", hashlib.sha256).hexdigest()[:16]
    return hmac.compare_digest(legacy, stored)


#: Secrets that look long enough but are guessable.
_WEAK_WORDS = ("password", "passw0rd", "qwerty", "123456", "letmein", "changeme")


def key_problem(value: str) -> str | None:
    """Why a secret is too weak to be a key, or None. At least 16 characters, not only
    spaces, at least 8 different characters, about 64 bits by a crude estimate (length
    times log2 of the distinct characters), and no common password in it."""
    import math

    if len(value) < 16:
        return "it is shorter than 16 characters"
    if not value.strip():
        return "it is only spaces"
    distinct = len(set(value))
    if distinct < 8:
        return f"it uses only {distinct} different characters"
    if any(word in value.lower() for word in _WEAK_WORDS):
        return "it contains a common password"
    if len(value) * math.log2(distinct) < 64:
        return "it is too predictable (make it longer, or random)"
    return None
