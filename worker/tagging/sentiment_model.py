"""A learned sentiment model that backs the lexicon of :mod:`worker.tagging.rules` up.

The lexicon misses complaints written without emotional words (a factual letter disputing a charge)
and sometimes reads a plain request as a feeling. This model is fitted once, at build time, from
``data/sentiment_train.jsonl`` (a few hundred labelled French and English calls and written
complaints kept in the package), by ``python -m worker.tagging.sentiment_model fit`` (bin/setup runs
it), which writes ``data/sentiment_model.npz``: plain arrays (terms, IDF, coefficients; 450 KiB, so
built rather than committed), read with ``allow_pickle=False`` on first use in under 0.1 s.
tests/test_sentiment_model.py refits from the corpus and checks the arrays are the same.

Features: TF-IDF of word 1-2-grams and of char_wb 3-5-grams over the text as the lexicon reads it
(lowercase, accents folded, "jai" read "j ai"), plus the lexicon's own signal (its label, confidence
and weight of positive and negative cues). Classifier: logistic regression, balanced classes, fixed
seed, so the fit is the same every time. Prediction does not go through scikit-learn (whose input
checks cost more than the arithmetic, and whose import takes a second): the vocabulary, IDF and
coefficients are dicts and a text is scored in pure Python, in a few tens of microseconds, with the
same n-grams as scikit-learn's analyzers (worker/tagging/features.py, shared with the topic model).

:func:`combine` is how :func:`worker.tagging.tagger.tag` merges both: the lexicon decides unless the
model is sure of another class (rule and thresholds chosen by cross-validation on the training set).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from worker.tagging import features, rules

# shared with the topic model, named here too (the tests and bin/setup's callers use them)
from worker.tagging.features import char_grams as char_grams
from worker.tagging.features import data_path as data_path
from worker.tagging.features import save as save
from worker.tagging.features import word_grams as word_grams

CLASSES = (rules.NEUTRAL, rules.SATISFIED, rules.UNHAPPY)
RANDOM_STATE = 0
#: The labelled corpus and the fitted arrays, in worker/tagging/data/.
CORPUS = "sentiment_train.jsonl"
FITTED = "sentiment_model.npz"
_BLOCKS = features.BLOCKS

#: combine(): the model overrides the lexicon when its probability for another class reaches this.
#: When the lexicon says neutral (no cue, or faint ones) a majority of the model wins; when the
#: lexicon saw a feeling, only a sure model overrides it, which keeps the lexicon's handling of
#: negation, contrast and irony where it found cues. 5-fold cross-validation on the training set
#: (3 shuffles), macro-F1: lexicon 0.70, model 0.88, this rule 0.87 (0.88 with the model's best class
#: overriding any neutral; 0.5 leaves coin flips such as "merci au revoir" to the lexicon).
OVERRIDE_NEUTRAL = 0.5
OVERRIDE_POLAR = 0.8


# ---------------------------------------------------------------------------------------------
# Training data and features
# ---------------------------------------------------------------------------------------------

def train_path() -> Path:
    """The labelled corpus the model is fitted on (one JSON object a line: text, lang, kind, sentiment)."""
    return data_path(CORPUS)


def load_rows(path: Path | None = None) -> list[dict[str, str]]:
    with (path or train_path()).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@dataclass(frozen=True, slots=True)
class LexiconSignal:
    """What the lexicon said of a text: its label and confidence, and the weight of each polarity."""

    sentiment: str
    confidence: float
    positive: int
    negative: int


def lexicon_signal(text: str, lang: str | None = None) -> LexiconSignal:
    """Run the lexicon of :mod:`worker.tagging.rules` (read-only use of its internals)."""
    tokens = rules._tokenize(text)
    languages = rules._languages(lang, tokens.words)
    evidence: dict[str, list[tuple[int, int]]] = {}
    sentiment, confidence = rules._find_sentiment(tokens, rules._lexicon(languages), evidence)
    return LexiconSignal(sentiment, confidence, len(evidence.get(rules.SATISFIED, ())),
                         len(evidence.get(rules.UNHAPPY, ())))


def normalise(text: str) -> str:
    """The text as the lexicon reads it: folded words separated by spaces."""
    return " ".join(rules._tokenize(text).words)


def _dense(signal: LexiconSignal) -> list[float]:
    return [
        signal.confidence if signal.sentiment == label else 0.0 for label in CLASSES
    ] + [math.log1p(signal.positive), math.log1p(signal.negative)]


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Model:
    blocks: tuple[features.Block, ...]
    dense: tuple[tuple[float, float, float], ...]  # coefficients of the lexicon features
    intercept: tuple[float, float, float]
    classes: tuple[str, ...]

    def predict(self, text: str, signal: LexiconSignal | None = None) -> dict[str, float]:
        """Class probabilities of one text (``signal``: the lexicon's, computed when not given)."""
        return self.predict_words(rules._tokenize(text).words, signal or lexicon_signal(text))

    def predict_words(self, words: Sequence[str], signal: LexiconSignal,
                      grams: features.Counts | None = None) -> dict[str, float]:
        """Class probabilities of a text already cut into folded words (``rules._tokenize``), whose
        n-gram counts are ``grams`` (:func:`worker.tagging.features.counts`, computed when not given)."""
        scores = list(self.intercept)
        for block, block_grams in zip(self.blocks, grams or features.counts(words), strict=True):
            block.add(block_grams, scores)
        for value, coefs in zip(_dense(signal), self.dense, strict=True):
            for k in range(3):
                scores[k] += value * coefs[k]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {label: e / total for label, e in zip(self.classes, exps, strict=True)}


def from_arrays(arrays: Mapping[str, NDArray[Any]]) -> Model:
    """The model of fitted arrays (see :func:`fit` for their names and shapes)."""
    dense = tuple((c[0], c[1], c[2]) for c in arrays["dense_coef"].tolist())
    intercept = arrays["intercept"].tolist()
    classes = tuple(arrays["classes"].tolist())
    if classes != CLASSES:
        raise ValueError(f"the fitted arrays are for the classes {classes}, not {CLASSES}")
    return Model(features.blocks_from_arrays(arrays), dense, (intercept[0], intercept[1], intercept[2]), classes)


# ---------------------------------------------------------------------------------------------
# Fitting (build time) and the arrays file
# ---------------------------------------------------------------------------------------------

def _vectorizers() -> list[Any]:
    return features.vectorizers()


def fit(texts: Sequence[str], labels: Sequence[str], signals: Sequence[LexiconSignal] | None = None,
        c: float = 4.0) -> dict[str, NDArray[Any]]:
    """Fit the model on labelled texts (``signals``: the lexicon's, computed when not given); its arrays.

    ``word_terms``/``char_terms`` (n,) the vocabulary in column order, ``*_idf`` (n,), ``*_coef``
    (n, 3) the coefficient of each class, ``dense_coef`` (5, 3) those of the lexicon's signal,
    ``intercept`` (3,) and ``classes`` (3,), all in the order of :data:`CLASSES`.
    """
    # scipy and scikit-learn: only to fit (build time and tests), never to tag
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    docs = [normalise(t) for t in texts]
    signals = signals if signals is not None else [lexicon_signal(t) for t in texts]
    vectorizers = _vectorizers()
    matrices = [v.fit_transform(docs) for v in vectorizers]
    dense = csr_matrix(np.array([_dense(s) for s in signals]))
    matrix = hstack([*matrices, dense]).tocsr()
    classifier = LogisticRegression(C=c, class_weight="balanced", solver="newton-cg", max_iter=200,
                                    random_state=RANDOM_STATE)
    classifier.fit(matrix, list(labels))
    if len(classifier.classes_) != len(CLASSES):
        raise ValueError("the training set needs the three classes")
    order = [list(classifier.classes_).index(label) for label in CLASSES]
    coef = classifier.coef_[order]
    arrays: dict[str, NDArray[Any]]
    arrays, offset = features.block_arrays(vectorizers, coef)
    arrays["dense_coef"] = np.ascontiguousarray(coef[:, offset:].T, dtype=np.float64)
    arrays["intercept"] = np.asarray(classifier.intercept_[order], dtype=np.float64)
    arrays["classes"] = np.array(CLASSES, dtype=np.str_)
    return arrays


def fit_corpus(path: Path | None = None) -> dict[str, NDArray[Any]]:
    """The arrays fitted on the corpus (the packaged one unless ``path``), each text read in its language."""
    rows = load_rows(path)
    return fit([r["text"] for r in rows], [r["sentiment"] for r in rows],
               [lexicon_signal(r["text"], r.get("lang")) for r in rows])


def train(texts: Sequence[str], labels: Sequence[str], signals: Sequence[LexiconSignal] | None = None,
          c: float = 4.0) -> Model:
    """Fit the model on labelled texts and return it ready to predict."""
    return from_arrays(fit(texts, labels, signals, c))


def load(path: Path | None = None) -> dict[str, NDArray[Any]]:
    """The arrays of an ``.npz`` written by :func:`save` (the shipped one unless ``path``); no pickle."""
    return features.load(path or data_path(FITTED), "python -m worker.tagging.sentiment_model fit")


_lock = threading.Lock()
_model: Model | None = None


def model() -> Model:
    """The shipped model, read once per process (thread-safe)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = from_arrays(load())
    return _model


def predict(text: str, lang: str | None = None) -> dict[str, float]:
    """Class probabilities ("neutral", "satisfied", "unhappy") for one text."""
    return model().predict(text, lexicon_signal(text, lang))


def combine(signal: LexiconSignal, probabilities: dict[str, float],
            override_neutral: float = OVERRIDE_NEUTRAL, override_polar: float = OVERRIDE_POLAR) -> tuple[str, float]:
    """The final sentiment and confidence: the lexicon's, unless the model is sure of another class.

    When the lexicon says neutral, the model overrides it from ``override_neutral``; when the lexicon
    says satisfied or unhappy (it saw cues), only from ``override_polar``. The confidence of an
    override is the model's probability.
    """
    best = max(probabilities, key=lambda label: probabilities[label])
    if best == signal.sentiment:
        return signal.sentiment, signal.confidence
    bar = override_neutral if signal.sentiment == rules.NEUTRAL else override_polar
    if probabilities[best] >= bar:
        return best, round(probabilities[best], 3)
    return signal.sentiment, signal.confidence


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m worker.tagging.sentiment_model fit``: refit the shipped arrays from the corpus."""
    parser = argparse.ArgumentParser(prog="python -m worker.tagging.sentiment_model", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fitting = commands.add_parser("fit", help="fit on the corpus and write the arrays")
    fitting.add_argument("--corpus", type=Path, default=None, help=f"labelled texts (default: data/{CORPUS})")
    fitting.add_argument("--out", type=Path, default=None, help=f"arrays file (default: data/{FITTED})")
    args = parser.parse_args(argv)
    arrays = fit_corpus(args.corpus)
    out: Path = args.out or data_path(FITTED)
    save(arrays, out)
    terms = sum(len(arrays[f"{name}_terms"]) for name in _BLOCKS)
    print(f"{out}: {terms} terms, {out.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
