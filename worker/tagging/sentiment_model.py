"""A learned sentiment model that backs the lexicon of :mod:`worker.tagging.rules` up.

The lexicon misses complaints written without emotional words (a factual letter disputing a charge)
and sometimes reads a plain request as a feeling. This model is trained once per process, at first
use, from ``benchmarks/data/sentiment_train.jsonl`` (a few hundred labelled French and English calls
and written complaints kept in the repository: no binary, no download). Training takes well under a
second.

Features: TF-IDF of word 1-2-grams and of char_wb 3-5-grams over the text as the lexicon reads it
(lowercase, accents folded, "jai" read "j ai"), plus the lexicon's own signal (its label, confidence
and weight of positive and negative cues). Classifier: logistic regression, balanced classes, fixed
seed, so the model is the same in every process. Prediction does not go through scikit-learn (whose
input checks cost more than the arithmetic): the vocabulary, IDF and coefficients are copied into
dicts and a text is scored in pure Python, in a few tens of microseconds.

:func:`combine` is how :func:`worker.tagging.rules.tag` merges both: the lexicon decides unless the model
is sure of another class (rule and thresholds chosen by cross-validation on the training set).
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from worker.tagging import rules

CLASSES = (rules.NEUTRAL, rules.SATISFIED, rules.UNHAPPY)
RANDOM_STATE = 0
#: Environment variable that points at another training file.
TRAIN_ENV = "ECOUTE_SENTIMENT_TRAIN"
_SPACE_SEPARATED = r"\S+"  # the words of normalise()
_TRAIN_RELATIVE = Path("benchmarks") / "data" / "sentiment_train.jsonl"

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
    """The training file: $ECOUTE_SENTIMENT_TRAIN, else benchmarks/data/ of the checkout holding this package.

    The repository is installed in editable mode, so ``__file__`` is in the checkout; the current
    directory is searched too, for a copy of the package installed elsewhere.
    """
    if os.environ.get(TRAIN_ENV):
        return Path(os.environ[TRAIN_ENV])
    for root in (Path(__file__).resolve().parents[2], *Path.cwd().resolve().parents, Path.cwd().resolve()):
        candidate = root / _TRAIN_RELATIVE
        if candidate.is_file():
            return candidate
    return Path(__file__).resolve().parents[2] / _TRAIN_RELATIVE


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
class _Block:
    """One TF-IDF block: its analyzer and, per term, its IDF and the coefficient of each class."""

    analyzer: Callable[[str], list[str]]
    weights: dict[str, tuple[float, float, float]]
    idf: dict[str, float]


@dataclass(frozen=True, slots=True)
class Model:
    blocks: tuple[_Block, ...]
    dense: tuple[tuple[float, float, float], ...]  # coefficients of the lexicon features
    intercept: tuple[float, float, float]
    classes: tuple[str, ...]

    def predict(self, text: str, signal: LexiconSignal | None = None) -> dict[str, float]:
        """Class probabilities of one text (``signal``: the lexicon's, computed when not given)."""
        return self.predict_words(rules._tokenize(text).words, signal or lexicon_signal(text))

    def predict_words(self, words: Sequence[str], signal: LexiconSignal) -> dict[str, float]:
        """Class probabilities of a text already cut into folded words (``rules._tokenize``)."""
        doc = " ".join(words)
        scores = list(self.intercept)
        for block in self.blocks:
            counts = Counter(block.analyzer(doc))
            norm = 0.0
            partial = [0.0, 0.0, 0.0]
            for term, count in counts.items():
                idf = block.idf.get(term)
                if idf is None:
                    continue
                value = (1.0 + math.log(count)) * idf
                norm += value * value
                w = block.weights[term]
                partial[0] += value * w[0]
                partial[1] += value * w[1]
                partial[2] += value * w[2]
            if norm > 0:
                norm = math.sqrt(norm)
                for k in range(3):
                    scores[k] += partial[k] / norm
        for value, coefs in zip(_dense(signal), self.dense, strict=True):
            for k in range(3):
                scores[k] += value * coefs[k]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {label: e / total for label, e in zip(self.classes, exps, strict=True)}


def _vectorizers() -> list[object]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    # the text is normalised already: no lowercasing, words are what the lexicon sees
    return [
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=_SPACE_SEPARATED, lowercase=False,
                        sublinear_tf=True, min_df=1),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=False, sublinear_tf=True, min_df=2),
    ]


def train(texts: Sequence[str], labels: Sequence[str], signals: Sequence[LexiconSignal] | None = None,
          c: float = 4.0) -> Model:
    """Fit the model on labelled texts (``signals``: the lexicon's, computed when not given)."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    docs = [normalise(t) for t in texts]
    signals = signals if signals is not None else [lexicon_signal(t) for t in texts]
    vectorizers = _vectorizers()
    matrices = [v.fit_transform(docs) for v in vectorizers]  # type: ignore[attr-defined]
    dense = csr_matrix(np.array([_dense(s) for s in signals]))
    features = hstack([*matrices, dense]).tocsr()
    classifier = LogisticRegression(C=c, class_weight="balanced", solver="newton-cg", max_iter=200,
                                    random_state=RANDOM_STATE)
    classifier.fit(features, list(labels))
    order = [list(classifier.classes_).index(label) for label in CLASSES]
    coef = classifier.coef_ if len(classifier.classes_) > 2 else None
    if coef is None:
        raise ValueError("the training set needs the three classes")
    coef = coef[order]
    blocks: list[_Block] = []
    offset = 0
    for vectorizer in vectorizers:
        vocabulary: dict[str, int] = vectorizer.vocabulary_  # type: ignore[attr-defined]
        idf_ = vectorizer.idf_  # type: ignore[attr-defined]
        idf: dict[str, float] = {}
        weights: dict[str, tuple[float, float, float]] = {}
        for term, index in vocabulary.items():
            idf[term] = float(idf_[index])
            column = coef[:, offset + index]
            weights[term] = (float(column[0]), float(column[1]), float(column[2]))
        blocks.append(_Block(vectorizer.build_analyzer(), weights, idf))  # type: ignore[attr-defined]
        offset += len(vocabulary)
    dense_coefs = tuple(
        (float(coef[0, j]), float(coef[1, j]), float(coef[2, j])) for j in range(offset, coef.shape[1])
    )
    intercept = classifier.intercept_[order]
    return Model(tuple(blocks), dense_coefs, (float(intercept[0]), float(intercept[1]), float(intercept[2])),
                 CLASSES)


_lock = threading.Lock()
_model: Model | None = None


def model() -> Model:
    """The model trained on the repository's training file, once per process (thread-safe)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                rows = load_rows()
                _model = train([r["text"] for r in rows], [r["sentiment"] for r in rows],
                               [lexicon_signal(r["text"], r.get("lang")) for r in rows])
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
