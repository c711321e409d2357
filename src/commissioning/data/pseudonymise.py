"""Pseudonymisation at the door: NHS numbers become keyed pseudonyms on reading.

``person_id = HMAC-SHA256(key, nhs_number)`` truncated to 20 hex characters (80
bits: for 70 million people the chance of any collision is about 2 in a billion).
Without the key the pseudonym cannot be reversed or recomputed from a guessed
number; with the same key the same person always gets the same pseudonym, so
extracts from different sources link.  The key lives outside the store; the
store keeps only a fingerprint of it (:func:`key_fingerprint`).

The NHS number check digit is the modulus 11 algorithm of the NHS Data
Dictionary ("NHS NUMBER"): weights 10 down to 2 on the first nine digits,
check = 11 - (sum mod 11), 11 becomes 0 and 10 means the number is invalid.
"""

from __future__ import annotations

import hashlib
import hmac

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
    """A fingerprint that identifies a key without revealing it."""
    return hmac.new(key, b"commissioning key fingerprint", hashlib.sha256).hexdigest()[:16]
