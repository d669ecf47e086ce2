"""What the learned models of the tagger share: TF-IDF n-grams scored in pure Python, and their arrays files.

The sentiment model (:mod:`worker.tagging.sentiment_model`) and the topic model
(:mod:`worker.tagging.topic_model`) read a text as the lexicon does (folded words separated by
spaces) and score TF-IDF word 1-2-grams and char_wb 3-5-grams with linear coefficients. They are
fitted with scikit-learn at set-up; tagging does not import it (its import takes a second and its
input checks cost more than the arithmetic): the n-grams below are those of scikit-learn's analyzers,
counted once per text (:func:`counts`) and shared by both models, and a :class:`Block` holds a
block's IDF and coefficients in a dict of its terms. The fitted arrays are written without pickles (:func:`save`),
byte for byte the same for the same arrays, and read with ``allow_pickle=False`` (:func:`load`).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

SPACE_SEPARATED = r"\S+"  # the words of a normalised text
#: The blocks of TF-IDF features, in the order of the classifiers' columns.
BLOCKS = ("word", "char")

_TOKEN = re.compile(SPACE_SEPARATED)
_WHITE_SPACES = re.compile(r"\s\s+")


def data_path(name: str) -> Path:
    """A file of worker/tagging/data/ (the package is installed from a checkout or a wheel: a real file)."""
    return Path(str(resources.files("worker.tagging").joinpath("data", name)))


# ---------------------------------------------------------------------------------------------
# The n-grams of scikit-learn's analyzers, in pure Python
# ---------------------------------------------------------------------------------------------

def word_grams(doc: str) -> list[str]:
    """Word 1- and 2-grams, as ``TfidfVectorizer(analyzer="word", ngram_range=(1, 2))`` with words split on spaces."""
    tokens = _TOKEN.findall(doc)
    return [*tokens, *(f"{first} {second}" for first, second in zip(tokens, tokens[1:], strict=False))]


def char_grams(doc: str) -> list[str]:
    """Character 3- to 5-grams inside words padded with a space, as ``analyzer="char_wb"``."""
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", doc).split():
        padded = f" {word} "
        for n in (3, 4, 5):
            if len(padded) <= n:  # a short word counts once, whole
                grams.append(padded)
                break
            grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams


#: The n-gram counts of one text, per block (in the order of :data:`BLOCKS`).
Counts = tuple[Counter[str], ...]


def counts(words: Sequence[str]) -> Counts:
    """The n-gram counts of a text already cut into folded words (``rules._tokenize``)."""
    doc = " ".join(words)
    return Counter(word_grams(doc)), Counter(char_grams(doc))


def vectorizers() -> list[Any]:
    """The scikit-learn vectorizers whose analyzers are :func:`word_grams` and :func:`char_grams`."""
    # scikit-learn is imported only to fit (build time and tests), never to tag: it takes a second
    from sklearn.feature_extraction.text import TfidfVectorizer

    # the text is normalised already: no lowercasing, words are what the lexicon sees
    return [
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=SPACE_SEPARATED, lowercase=False,
                        sublinear_tf=True, min_df=1),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=False, sublinear_tf=True, min_df=2),
    ]


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------

_SUBLINEAR = [0.0, *(1.0 + math.log(count) for count in range(1, 1024))]  # sublinear TF of small counts


@dataclass(frozen=True, slots=True)
class Block:
    """One TF-IDF block: per term, its IDF followed by the coefficient of each output (class or topic)."""

    weights: dict[str, tuple[float, ...]]
    outputs: int

    def add(self, grams: Counter[str], scores: list[float]) -> None:
        """Add this block's share of the linear scores (sublinear TF, IDF, L2-normalised) to ``scores``."""
        weights = self.weights
        found = [(count, w) for term, count in grams.items() if (w := weights.get(term)) is not None]
        if not found:
            return
        values = [(_SUBLINEAR[count] if count < 1024 else 1.0 + math.log(count)) * w[0] for count, w in found]
        norm = math.sqrt(sum(v * v for v in values))
        for k in range(self.outputs):
            scores[k] += sum(v * w[k + 1] for v, (_, w) in zip(values, found, strict=True)) / norm


def blocks_from_arrays(arrays: Mapping[str, NDArray[Any]], names: Sequence[str] = BLOCKS) -> tuple[Block, ...]:
    """The blocks of fitted arrays (``<block>_terms`` (n,), ``<block>_idf`` (n,), ``<block>_coef`` (n, outputs))."""
    blocks = []
    for name in names:
        terms: list[str] = arrays[f"{name}_terms"].tolist()
        idf: list[float] = arrays[f"{name}_idf"].tolist()
        coefs: list[list[float]] = arrays[f"{name}_coef"].tolist()
        blocks.append(Block({t: (i, *c) for t, i, c in zip(terms, idf, coefs, strict=True)},
                            arrays[f"{name}_coef"].shape[1]))
    return tuple(blocks)


def block_arrays(fitted: Sequence[Any], coef: NDArray[Any],
                 names: Sequence[str] = BLOCKS) -> tuple[dict[str, NDArray[Any]], int]:
    """The arrays of fitted vectorizers' blocks (``names``), ``coef`` (outputs, columns) being a
    classifier's coefficients with the blocks' columns first; and the number of those columns."""
    arrays: dict[str, NDArray[Any]] = {}
    offset = 0
    for name, vectorizer in zip(names, fitted, strict=True):
        vocabulary: dict[str, int] = vectorizer.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        columns = np.array([vocabulary[term] for term in terms], dtype=np.intp)
        arrays[f"{name}_terms"] = np.array(terms, dtype=np.str_)
        arrays[f"{name}_idf"] = np.asarray(vectorizer.idf_, dtype=np.float64)[columns]
        arrays[f"{name}_coef"] = np.ascontiguousarray(coef[:, offset + columns].T, dtype=np.float64)
        offset += len(vocabulary)
    return arrays, offset


# ---------------------------------------------------------------------------------------------
# The arrays files
# ---------------------------------------------------------------------------------------------

def save(arrays: Mapping[str, NDArray[Any]], path: Path) -> None:
    """Write ``arrays`` as an ``.npz`` without pickles, byte for byte the same for the same arrays."""
    with zipfile.ZipFile(path, "w") as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def load(path: Path, fit_command: str) -> dict[str, NDArray[Any]]:
    """The arrays of an ``.npz`` written by :func:`save`; no pickle (``fit_command``: what builds it)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: bin/setup fits it ({fit_command})")
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}
