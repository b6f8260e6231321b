"""Each lead's top three reasons: the rules that moved its score most, with their points."""

from __future__ import annotations

import numpy as np

__all__ = ["top_reasons"]

TOP = 3


def _pieces(rule: np.ndarray, value: np.ndarray, labels: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Code per lead of its (rule, points) piece in this slot, and the text of each code ('' for 0 points)."""
    offset = int(np.abs(value).max()) if len(value) else 0
    width = 2 * offset + 1
    uniques, inverse = np.unique(rule.astype(np.int64) * width + value + offset, return_inverse=True)
    texts = []
    for pair in uniques.tolist():
        points = pair % width - offset
        texts.append(f"{labels[pair // width]} {points:+d}" if points else "")
    return inverse.reshape(-1), texts


def top_reasons(points: np.ndarray, labels: tuple[str, ...]) -> np.ndarray:
    """'demo_request +43, VP title +30, gmail.com -50' per lead, from a (n_leads, n_rules) points matrix.

    Rules are ranked by absolute points rounded to whole points (ties: earlier rule first); rules that
    round to 0 are left out. Text is built once per distinct combination of pieces, not once per lead.
    """
    n, k = points.shape
    if n == 0 or k == 0:
        return np.full(n, "", dtype=object)
    whole = np.rint(points).astype(np.int32)
    # A key unique within a row: larger |points| first, then earlier rule; picked by repeated argmax,
    # which is several times faster than argpartition on a (n_leads, n_rules) matrix.
    key = np.abs(whole)
    key *= k
    key += (k - 1 - np.arange(k, dtype=np.int32))
    take = min(TOP, k)
    rows = np.arange(n)
    top = np.empty((n, take), dtype=np.intp)
    for slot in range(take):
        top[:, slot] = key.argmax(axis=1)
        key[rows, top[:, slot]] = -1
    slots = [_pieces(top[:, s], whole[rows, top[:, s]], labels) for s in range(take)]
    combined = np.zeros(n, dtype=np.int64)
    for codes, texts in slots:
        combined = combined * len(texts) + codes
    uniques, inverse = np.unique(combined, return_inverse=True)
    sizes = [len(texts) for _, texts in slots]
    strings = []
    for code in uniques.tolist():
        parts = []
        for size, (_, texts) in zip(reversed(sizes), reversed(slots)):
            code, index = divmod(code, size)
            parts.append(texts[index])
        strings.append(", ".join(p for p in reversed(parts) if p))
    return np.array(strings, dtype=object)[inverse.reshape(-1)]
