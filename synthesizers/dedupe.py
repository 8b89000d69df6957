"""Exact and near-duplicate removal for synthesized trajectories.

Exact duplicates share a content hash over what a model would learn from (user turns, assistant text and calls,
tool results — not ids or provenance). Near duplicates are found with MinHash over word 3-gram shingles and
locality-sensitive hashing (bands of rows), so each new sample is checked against the run in near-constant time.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections import defaultdict

from toolkit.records import Trajectory

__all__ = ["Deduplicator", "content_text"]

_WORD = re.compile(r"\w+", re.UNICODE)
_MERSENNE = (1 << 61) - 1


def content_text(traj: Trajectory) -> str:
    """The learnable content of a trajectory as one canonical string (subagents included)."""
    parts: list[str] = []
    for m in traj.messages:
        if m.role == "system":
            continue
        parts.append(m.role + ":" + (m.content or ""))
        for c in m.calls():
            parts.append("call:" + c.name + json.dumps(c.arguments, sort_keys=True, ensure_ascii=False))
    for key in sorted(traj.subagents):
        parts.append("sub:" + content_text(traj.subagents[key]))
    return "\n".join(parts)


class Deduplicator:
    """Remembers what it has seen; ``check`` says whether a trajectory duplicates an earlier one.

    ``threshold`` is the estimated Jaccard similarity of shingle sets at or above which two samples count as near
    duplicates; ``None`` turns near-duplicate detection off (exact duplicates are always removed).
    """

    def __init__(self, *, threshold: float | None = 0.9, num_perm: int = 128, bands: int = 32, seed: int = 1):
        if threshold is not None and not 0 < threshold <= 1:
            raise ValueError("near-duplicate threshold must be in (0, 1]")
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.threshold = threshold
        self.bands, self.rows = bands, num_perm // bands
        gen = hashlib.sha256(f"minhash:{seed}".encode()).digest()
        coeffs: list[tuple[int, int]] = []
        counter = 0
        while len(coeffs) < num_perm:
            block = hashlib.sha256(gen + counter.to_bytes(4, "big")).digest()
            a, b = struct.unpack(">QQ", block[:16])
            coeffs.append((a % (_MERSENNE - 1) + 1, b % _MERSENNE))
            counter += 1
        self._coeffs = coeffs
        self._exact: set[str] = set()
        self._buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
        self._sigs: list[tuple[int, ...]] = []

    def _signature(self, text: str) -> tuple[int, ...] | None:
        words = _WORD.findall(text.lower())
        shingles = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))} if words else set()
        if not shingles:
            return None
        hashes = [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big") for s in shingles]
        return tuple(min((a * h + b) % _MERSENNE for h in hashes) for a, b in self._coeffs)

    def check(self, traj: Trajectory) -> str | None:
        """Return ``"exact duplicate"``/``"near duplicate"`` for a repeat, else remember the sample and return None."""
        text = content_text(traj)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest in self._exact:
            return "exact duplicate"
        sig = self._signature(text) if self.threshold is not None else None
        if sig is not None:
            keys = [(b, repr(sig[b * self.rows : (b + 1) * self.rows]).encode()) for b in range(self.bands)]
            candidates = {i for k in keys for i in self._buckets.get(k, ())}
            for i in candidates:
                other = self._sigs[i]
                similarity = sum(x == y for x, y in zip(sig, other)) / len(sig)
                if similarity >= self.threshold:  # type: ignore[operator]
                    return "near duplicate"
            idx = len(self._sigs)
            self._sigs.append(sig)
            for k in keys:
                self._buckets[k].append(idx)
        self._exact.add(digest)
        return None
