"""Near-duplicate detection: MinHash signatures over word shingles, with LSH band keys.

The same story carried by two outlets differs in its header, its lead and a dropped
sentence or two; most three-word shingles survive. A signature is ``PERMUTATIONS``
minimum hashes; two texts' estimated Jaccard similarity is the share of equal slots.
Band keys let storage find candidates by index lookup, without holding signatures in
memory. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

PERMUTATIONS = 64
BANDS = 16
ROWS = PERMUTATIONS // BANDS
SHINGLE = 3
_PRIME = np.uint64((1 << 61) - 1)
_MASK32 = np.uint64(0xFFFFFFFF)
_rng = np.random.default_rng(20260101)  # fixed: signatures must be stable across runs
_A = _rng.integers(1, 1 << 32, size=PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, 1 << 32, size=PERMUTATIONS, dtype=np.uint64)


def shingles(words: Sequence[str], size: int = SHINGLE) -> set[str]:
    """Consecutive word n-grams; a short text falls back to its words."""
    if len(words) < size:
        return set(words)
    return {"\x1f".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def _hash32(items: set[str]) -> np.ndarray:
    # CRC-32 is stable across processes (unlike hash()) and far cheaper than a crypto
    # hash; the permutations in signature() do the mixing.
    return np.fromiter((zlib.crc32(s.encode()) for s in items), dtype=np.uint64, count=len(items))


def signature(words: Sequence[str]) -> bytes:
    """The MinHash signature of a text's words, as ``PERMUTATIONS`` 32-bit values."""
    items = shingles(words)
    if not items:
        return np.full(PERMUTATIONS, 0xFFFFFFFF, dtype="<u4").tobytes()
    hashes = _hash32(items)
    # (a*x + b) mod p, folded to 32 bits; a, x < 2^32 so the product fits in 64 bits.
    mixed = ((hashes[:, None] * _A[None, :] + _B[None, :]) % _PRIME) & _MASK32
    return mixed.min(axis=0).astype("<u4").tobytes()


def choose_story(
    signature: bytes, candidates: Mapping[int, Sequence[bytes]], threshold: float
) -> int | None:
    """The candidate story whose closest article is most similar to ``signature``, when
    that similarity reaches ``threshold``; ties go to the later candidate (the newer story).

    ``candidates`` maps a story id to its articles' signatures, as storage found them by
    band keys. The merge decision is this function's alone: storage only gathers.
    """
    best, best_score = None, threshold
    for story_id, signatures in candidates.items():
        score = max((similarity(signature, s) for s in signatures), default=0.0)
        if score >= best_score:
            best, best_score = story_id, score
    return best


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the texts behind two signatures."""
    va = np.frombuffer(a, dtype="<u4")
    vb = np.frombuffer(b, dtype="<u4")
    if va.shape != vb.shape:
        return 0.0
    return float(np.count_nonzero(va == vb)) / len(va)


def band_keys(sig: bytes) -> list[int]:
    """One signed 63-bit key per band: equal keys mean an identical band."""
    keys = []
    for band in range(BANDS):
        chunk = sig[band * ROWS * 4 : (band + 1) * ROWS * 4]
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True) >> 1)
    return keys
