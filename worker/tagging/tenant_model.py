"""A company's own tagging model, learnt from its quality managers' corrections.

The lexicon tagger (:mod:`worker.tagging.rules`) is the same for every company. When a company's people
correct tags (set the sentiment, add or remove topics), :func:`train` fits a small model on that
company's corrections only; the worker keeps the payload in the company's own row, loads it with
:meth:`TenantModel.load` for that company's texts only, and :func:`blend` lets it override the
lexicon where it is confident. A correction on tenant A never influences tenant B: nothing here is
shared between companies or kept between calls, not even the vocabulary or the IDF weights.

Pure: no database, no Flask, no I/O. Training needs scikit-learn (imported inside :func:`train`);
loading and predicting need numpy only, so tagging never imports scikit-learn.

**Features.** The text is lowercased and accent-folded (``Ça`` -> ``ca``, ``œ`` -> ``oe``) and cut
into words (apostrophes and punctuation separate them); this folding is this module's own, not the
lexicon's, so that a change to the lexicon never changes the features of a stored model. Two blocks
of TF-IDF features (sublinear term frequency, smoothed IDF, L2-normalised per block), as
scikit-learn's ``TfidfVectorizer`` would give them in a ``FeatureUnion``:

- word 1- and 2-grams ("forfait", "a saute"), which carry a company's jargon;
- character 3- to 5-grams inside word boundaries (scikit-learn's ``char_wb``: " cli", "gnot",
  "ote "), which survive the speech recognizer's misspellings ("clignotte") and inflections
  ("clignotait").

Only n-grams seen in at least two corrected texts are kept (one text's n-grams can't generalise,
and they would make the payload grow with every correction), but a block's norm counts the pruned
and unknown n-grams of the text too (see :class:`_Vectorizer`): a text made mostly of words the
corrections never showed gets a short vector, so the models stay near their prior on it.

**Models.** Sentiment: one ``LogisticRegression`` (multinomial from three classes on) over the
classes people used. Topics: one binary ``LogisticRegression`` per topic that has at least
:data:`MIN_TOPIC_POSITIVES` corrected texts with it and :data:`MIN_TOPIC_NEGATIVES` without it.
All are fit with ``class_weight="balanced"`` and *without an intercept*: corrections are not a
sample of a company's calls (people correct where the machine was wrong), so their class shares
say nothing about the next call; without an intercept a text that shares nothing with the
corrections scores exactly 1/k (sentiment) or 0.5 (topic), the point of no information, where
:func:`blend` abstains. ``lbfgs`` is deterministic, ``random_state`` is fixed anyway, and training
runs on one thread (see :func:`_fit`): the same corrections, in any order, give the same bytes.

**Payload.** Only the learnt numbers are stored: the vocabulary, the IDF weights, and each model's
coefficients and class names, in a numpy ``.npz`` archive with a small JSON header carrying a
format version, read back with ``allow_pickle=False``. Prediction is re-implemented here (a dot
product, then a sigmoid or a softmax), so:

- a payload loads and predicts the same after a scikit-learn or Python upgrade (a pickled
  estimator is only promised to load in the scikit-learn version that wrote it);
- loading a payload can't run code, even a tampered one (unpickling can);
- the feature code is one function, the same at training and at prediction time.

When the features or the layout change, bump :data:`VERSION`: :meth:`TenantModel.load` rejects
other versions with ``ValueError``, and the company's model is to be retrained from its corrections
(which stay in the database; the payload is only what was learnt from them).
"""

from __future__ import annotations

import io
import json
import math
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from worker.tagging.rules import Tags

#: Bumped whenever the features or the payload layout change; other versions don't load.
VERSION = 1
_FORMAT = "ecoute-tenant-model"

#: Corrected texts a part (sentiment, topics) needs before it is fit at all.
MIN_EXAMPLES = 6
#: Sentiment classes those corrections must span: a model that saw one class learns nothing.
MIN_SENTIMENT_CLASSES = 2
#: Corrected texts with the topic, and without it, that a topic needs to get its own classifier.
MIN_TOPIC_POSITIVES = 3
MIN_TOPIC_NEGATIVES = 3

#: The model's sentiment replaces the lexicon's from this probability on, or from where the text
#: triples the prior odds of the class if that is higher (0.75 with two classes; see :func:`blend`).
SENTIMENT_THRESHOLD = 0.6
SENTIMENT_ODDS_RATIO = 3.0
#: A topic the lexicon missed is added from this probability on: the text triples the prior odds (1 : 1).
TOPIC_ADD_THRESHOLD = 0.75
#: A topic the lexicon found is removed only at this probability or below.
TOPIC_REMOVE_THRESHOLD = 0.15

#: Inverse regularisation strength. At scikit-learn's default (1) a phrase corrected the same way
#: three or four times stays below the thresholds; at 10 a model fit on a dozen corrections is sure
#: of itself on unrelated texts. 3 is where, on the tagging benchmark, a dozen agreeing corrections
#: carry their phrasing over the thresholds and no unrelated text changes (tests/test_tenant_model.py).
_C = 3.0
_MIN_DF = 2
#: Bounds the payload: about (sentiment classes + topics) x 4 bytes per feature, plus the words.
_MAX_FEATURES = 30_000
_CHAR_NGRAMS = (3, 4, 5)

_WORD = re.compile(r"[^\W_]+")

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Example:
    """One text a person corrected, with what they said about it."""

    text: str
    #: the person's sentiment for this text, or None if they did not set it
    sentiment: str | None
    #: the full set of topics the person confirmed for this text (after their corrections), or None
    #: if they did not touch the topics
    topics: frozenset[str] | None


@dataclass(frozen=True)
class Prediction:
    """What a company's model thinks of one text."""

    #: probability per sentiment class the model was fit on; None if the model has no sentiment part
    sentiment: dict[str, float] | None
    #: probability per topic the model has a classifier for (may be empty)
    topics: dict[str, float]


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------

def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


#: Lowercase letters folded to their base letters; combining marks (text in NFD) dropped.
_FOLD = {cp: _fold_char(chr(cp)) for cp in range(0x80, 0x250)}
_FOLD.update({ord(k): v for k, v in {"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ı": "i"}.items()})
_FOLD.update({cp: "" for cp in range(0x300, 0x370)})


def _words(text: str) -> list[str]:
    """Lowercased, accent-folded words: "J'ai reçu" -> ["j", "ai", "recu"]."""
    return _WORD.findall(text.lower().translate(_FOLD))


#: A text's n-gram counts, one Counter per block: "w" + word 1- and 2-grams, "c" + character 3- to
#: 5-grams within words (the prefixes keep a word and a piece of a longer word apart).
_Grams = tuple[Counter[str], Counter[str]]


def _ngrams(text: str) -> _Grams:
    """The text's n-gram counts, per block."""
    words = _words(text)
    word_grams = ["w" + word for word in words]
    word_grams.extend(f"w{a} {b}" for a, b in zip(words, words[1:], strict=False))
    char_grams: list[str] = []
    for word in words:
        char_grams.extend(_char_ngrams(word))
    return Counter(word_grams), Counter(char_grams)


@lru_cache(maxsize=1 << 16)
def _char_ngrams(word: str) -> tuple[str, ...]:
    """The character n-grams of one word padded with spaces, cut as scikit-learn's ``char_wb`` cuts them."""
    padded = f" {word} "
    grams: list[str] = []
    for n in _CHAR_NGRAMS:
        if len(padded) <= n:  # a short word counts once, whole
            grams.append("c" + padded)
            break
        grams.extend("c" + padded[i:i + n] for i in range(len(padded) - n + 1))
    return tuple(grams)


def _idf(documents: int, frequency: int) -> float:
    """Smoothed inverse document frequency, as scikit-learn's ``TfidfTransformer`` computes it."""
    return math.log((1 + documents) / (1 + frequency)) + 1


@dataclass(frozen=True)
class _Vectorizer:
    """TF-IDF over :func:`_ngrams`: a block of word features and a block of character features.

    A block's norm counts the text's n-grams outside the vocabulary too, each weighted as an
    n-gram seen in one corrected text (``unseen_idf``). What the corrections never showed thus
    dilutes what they did: a text that shares only a few common n-grams with them gets a short
    vector, and the models' answer stays near their prior. (scikit-learn's vectorizer would scale
    those few n-grams up to unit norm and make a model sure of itself on a text it knows nothing of.)
    """

    vocabulary: dict[str, int]
    idf: FloatArray
    unseen_idf: float

    @classmethod
    def fit(cls, grams: Sequence[_Grams]) -> _Vectorizer:
        frequency: Counter[str] = Counter()
        for blocks in grams:
            for counts in blocks:
                frequency.update(counts.keys())
        kept = [g for g, df in frequency.items() if df >= _MIN_DF]
        if len(kept) > _MAX_FEATURES:
            # the most frequent, ties in lexical order: deterministic whatever the order of the texts
            kept = sorted(kept, key=lambda g: (-frequency[g], g))[:_MAX_FEATURES]
        kept.sort()
        idf = np.array([_idf(len(grams), frequency[g]) for g in kept], dtype=np.float64)
        return cls({g: i for i, g in enumerate(kept)}, idf, _idf(len(grams), 1))

    def transform_one(self, grams: _Grams) -> tuple[NDArray[np.intp], FloatArray]:
        """The text's features in the vocabulary: (indices ascending, values)."""
        all_indices: list[NDArray[np.intp]] = []
        all_values: list[FloatArray] = []
        for counts in grams:
            indices = np.array([self.vocabulary.get(g, -1) for g in counts], dtype=np.intp)
            weights = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
            known = indices >= 0
            values = weights[known] * self.idf[indices[known]]
            unseen = weights[~known] * self.unseen_idf
            norm = math.sqrt(float(values @ values) + float(unseen @ unseen))
            all_indices.append(indices[known])
            all_values.append(values / norm if norm > 0 else values)
        indices, values = np.concatenate(all_indices), np.concatenate(all_values)
        order = np.argsort(indices)
        return indices[order], values[order]

    def transform(self, grams: Sequence[_Grams]) -> Any:  # a scipy.sparse.csr_matrix: untyped library
        # scipy: only to train a company's model, never to tag
        from scipy.sparse import csr_matrix

        rows = [self.transform_one(counts) for counts in grams]
        indptr = np.cumsum([0] + [len(indices) for indices, _ in rows])
        indices = np.concatenate([indices for indices, _ in rows])
        values = np.concatenate([values for _, values in rows])
        return csr_matrix((values, indices, indptr), shape=(len(rows), len(self.vocabulary)))


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Linear:
    """Fitted logistic regressions without intercept: ``coef`` holds one row per binary model
    (the probability of its second class) or one per class of a multinomial one."""

    #: class names (sentiment) or topic ids (topics: one binary model each)
    classes: tuple[str, ...]
    coef: FloatArray


def train(examples: Sequence[Example]) -> bytes | None:
    """Fit the company's model on its corrections; None when there is too little to learn from.

    The sentiment part is fit on the examples that have a sentiment, when there are at least
    :data:`MIN_EXAMPLES` of them spanning :data:`MIN_SENTIMENT_CLASSES` classes; the topic part on
    those that have topics, when there are at least :data:`MIN_EXAMPLES`, with one classifier per
    topic that has :data:`MIN_TOPIC_POSITIVES` and :data:`MIN_TOPIC_NEGATIVES`. None when neither
    part can be fit. The bytes are what the company's row stores, for :meth:`TenantModel.load`.
    Deterministic: the same examples, in any order, give the same bytes. Needs scikit-learn.
    """
    # the database hands the corrections over in any order; the model must not depend on it
    labelled = sorted(
        (e for e in examples if e.sentiment is not None or e.topics is not None),
        key=lambda e: (e.text, e.sentiment or "", e.sentiment is None, sorted(e.topics or ()), e.topics is None),
    )
    sentiment_rows = [i for i, e in enumerate(labelled) if e.sentiment is not None]
    sentiments = [str(labelled[i].sentiment) for i in sentiment_rows]
    has_sentiment = len(sentiment_rows) >= MIN_EXAMPLES and len(set(sentiments)) >= MIN_SENTIMENT_CLASSES
    topic_rows = [i for i, e in enumerate(labelled) if e.topics is not None]
    topic_sets = [labelled[i].topics or frozenset() for i in topic_rows]
    topics: list[str] = []
    if len(topic_rows) >= MIN_EXAMPLES:
        positives = Counter(topic for found in topic_sets for topic in found)
        topics = sorted(topic for topic, count in positives.items()
                        if count >= MIN_TOPIC_POSITIVES and len(topic_rows) - count >= MIN_TOPIC_NEGATIVES)
    if not has_sentiment and not topics:
        return None

    grams = [_ngrams(e.text) for e in labelled]
    vectorizer = _Vectorizer.fit(grams)
    if not vectorizer.vocabulary:
        return None  # no n-gram is shared by two texts: nothing to generalise from
    features = vectorizer.transform(grams)
    width = len(vectorizer.vocabulary)
    sentiment = _fit(features[sentiment_rows], sentiments) if has_sentiment else _Linear((), np.zeros((0, width)))
    per_topic = [_fit(features[topic_rows], [topic in found for found in topic_sets]).coef for topic in topics]
    topic_part = _Linear(tuple(topics), np.vstack(per_topic) if per_topic else np.zeros((0, width)))
    return TenantModel(vectorizer, sentiment, topic_part, len(labelled)).dump()


def _fit(features: Any, labels: Sequence[str] | Sequence[bool]) -> _Linear:
    # scikit-learn takes a second to import: only to train, never to tag (typed for neither mypy nor numpy's
    # generics: its objects are Any here)
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    model = LogisticRegression(C=_C, class_weight="balanced", fit_intercept=False, max_iter=1000, random_state=0)
    # One thread: these problems are small, and BLAS threads fighting over a busy worker's cores made
    # a fit ten times slower; a fixed thread count also keeps the sums, so the bytes, the same.
    with threadpool_limits(limits=1):
        model.fit(features, list(labels))
    return _Linear(tuple(str(c) for c in model.classes_), np.asarray(model.coef_, dtype=np.float64))


# ---------------------------------------------------------------------------------------------
# The loaded model
# ---------------------------------------------------------------------------------------------

class TenantModel:
    """One company's model, as loaded from its payload; predicts with numpy alone, thread-safe."""

    def __init__(self, vectorizer: _Vectorizer, sentiment: _Linear, topics: _Linear, examples: int) -> None:
        self._vectorizer = vectorizer
        self._sentiment = sentiment
        self._topics = topics
        #: how many corrected texts it was fit on
        self.examples = examples

    @property
    def sentiment_classes(self) -> tuple[str, ...]:
        """The sentiment classes it predicts; empty when it has no sentiment part."""
        return self._sentiment.classes

    @property
    def topics(self) -> tuple[str, ...]:
        """The topic ids it has a classifier for."""
        return self._topics.classes

    def predict(self, text: str) -> Prediction:
        """The model's probabilities for one text."""
        indices, values = self._vectorizer.transform_one(_ngrams(text))
        sentiment: dict[str, float] | None = None
        if self._sentiment.classes:
            scores = self._sentiment.coef[:, indices] @ values
            if len(self._sentiment.classes) == 2:
                second = float(_sigmoid(scores)[0])
                probabilities = [1.0 - second, second]
            else:
                exp = np.exp(scores - scores.max())
                probabilities = [float(p) for p in exp / exp.sum()]
            sentiment = dict(zip(self._sentiment.classes, probabilities, strict=True))
        topic_probabilities = _sigmoid(self._topics.coef[:, indices] @ values)
        topics = {t: float(p) for t, p in zip(self._topics.classes, topic_probabilities, strict=True)}
        return Prediction(sentiment, topics)

    @classmethod
    def load(cls, payload: bytes) -> TenantModel:
        """Read a payload written by :func:`train`; ValueError if it is not one, or of another version."""
        if not payload.startswith(b"PK"):
            raise ValueError("not a tenant model payload: not an .npz archive")
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            header = json.loads(arrays["header"].tobytes().decode())
        except (OSError, EOFError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile) as error:
            raise ValueError(f"not a tenant model payload: {error!r}") from error
        if not isinstance(header, dict) or header.get("format") != _FORMAT or header.get("version") != VERSION:
            found = header.get("version") if isinstance(header, dict) else None
            raise ValueError(f"not a version {VERSION} tenant model payload (version {found!r}): retrain it")
        try:
            words = arrays["vocabulary"].tobytes().decode()
            vocabulary = words.split("\n") if words else []
            idf = arrays["idf"].astype(np.float64)
            sentiment = _Linear(tuple(header["sentiment_classes"]), arrays["sentiment"].astype(np.float64))
            topics = _Linear(tuple(header["topics"]), arrays["topics"].astype(np.float64))
            examples, unseen_idf = int(header["examples"]), float(header["unseen_idf"])
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"not a tenant model payload: {error!r}") from error
        width = len(vocabulary)
        classes = len(sentiment.classes)
        if (idf.shape != (width,) or sentiment.coef.shape != (1 if classes == 2 else classes, width)
                or topics.coef.shape != (len(topics.classes), width)):
            raise ValueError("not a tenant model payload: arrays of inconsistent shapes")
        return cls(_Vectorizer({g: i for i, g in enumerate(vocabulary)}, idf, unseen_idf), sentiment, topics, examples)

    def dump(self) -> bytes:
        """The payload :meth:`load` reads: an ``.npz`` archive of plain arrays; the same model, the same bytes."""
        vocabulary = sorted(self._vectorizer.vocabulary, key=self._vectorizer.vocabulary.__getitem__)
        header = {
            "format": _FORMAT, "version": VERSION, "examples": self.examples,
            "unseen_idf": self._vectorizer.unseen_idf,
            "sentiment_classes": list(self._sentiment.classes), "topics": list(self._topics.classes),
        }
        # float32 halves the payload; the loaded model computes in float64 from the stored values
        arrays: dict[str, NDArray[Any]] = {
            "header": np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8),
            "vocabulary": np.frombuffer("\n".join(vocabulary).encode(), dtype=np.uint8),
            "idf": self._vectorizer.idf.astype(np.float32),
            "sentiment": self._sentiment.coef.astype(np.float32),
            "topics": self._topics.coef.astype(np.float32),
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                # a fixed date: numpy.savez stamps the current time into the archive
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w") as member:
                    np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
        return buffer.getvalue()


def _sigmoid(scores: FloatArray) -> FloatArray:
    """1 / (1 + e^-x), without overflow warnings for large |x|."""
    result: FloatArray = np.exp(-np.logaddexp(0.0, -scores))
    return result


# ---------------------------------------------------------------------------------------------
# Blending with the lexicon
# ---------------------------------------------------------------------------------------------

def _sentiment_threshold(classes: int) -> float:
    """The probability the best of ``classes`` needs to override: at least 0.6, and odds 3 times the prior's."""
    odds = SENTIMENT_ODDS_RATIO / max(classes - 1, 1)
    return max(SENTIMENT_THRESHOLD, odds / (1 + odds))


def blend(lexicon: Tags, prediction: Prediction | None, *,
          topics_known: Sequence[str]) -> tuple[str, float, tuple[str, ...]]:
    """(sentiment, confidence, topics): the lexicon's answer, overridden where the company's model is confident.

    ``topics_known`` are the company's topic ids, in its order; the model's opinion of a topic
    outside them (one retired since training) is ignored. Without a prediction, or where the model
    is not confident, the lexicon's answer comes back unchanged.

    Why these thresholds. A company's first model is fit on a few dozen corrections, so it
    overfits: it is sharp on what it saw and means little elsewhere. A text that shares nothing
    with the corrections scores the prior, 1/k for sentiment and 0.5 for a topic (no intercept,
    balanced classes, unknown n-grams diluting the known ones: see the module's docstring), so the
    model must move well away from the prior to override:

    - sentiment: the model's most likely class replaces the lexicon's when the text at least
      triples its prior odds (1 : k-1): from :data:`SENTIMENT_THRESHOLD` (0.6) with three classes,
      from 0.75 with two. A two-class model (people only ever set, say, "unhappy" and "neutral")
      has no third class to absorb what it doesn't know: on the tagging benchmark, such models fit
      on a dozen corrections gave up to 0.65 to unrelated texts, three-class ones up to 0.57. A
      model only has a sentiment part with :data:`MIN_EXAMPLES` corrections spanning two classes.
      The confidence is then the model's probability (the higher of the two when it agrees with
      the lexicon).
    - topics: a topic is added from :data:`TOPIC_ADD_THRESHOLD` (0.75) on, the same tripled odds.
      A binary model has the same weakness as a two-class one when one side is a single phrasing:
      the grocer's "billing" model, whose negatives are mostly "rayon frais vide ...", gave 0.60 to
      0.65 to texts unrelated to either side; and fit on one half of the benchmark, tagging the
      other, 0.6 added 29 topics, 28 of them wrongly, where 0.75 added 2.
    - a topic the lexicon found is removed only at :data:`TOPIC_REMOVE_THRESHOLD` (0.15) or below.
      Removing asks for more than adding: the lexicon's keyword is evidence found in the text
      itself, while a low probability only says the text resembles corrections that lacked the
      topic, most of which were about something else. On the benchmark as above, 0.15 removed 2 of
      the lexicon's topics, both rightly; 0.2 removed 7, 3 of them wrongly. A company loses the
      lexicon's hit once its people removed that topic from texts phrased like this one, several
      times (eight "rayon frais vide ..." for the grocer's "frais").
    """
    if prediction is None:
        return lexicon.sentiment, lexicon.sentiment_confidence, lexicon.topics
    sentiment, confidence = lexicon.sentiment, lexicon.sentiment_confidence
    if prediction.sentiment:
        best, probability = max(prediction.sentiment.items(), key=lambda item: (item[1], item[0]))
        if probability >= _sentiment_threshold(len(prediction.sentiment)):
            confidence = round(max(confidence, probability) if best == sentiment else probability, 3)
            sentiment = best
    known = set(topics_known)
    removed = {t for t in lexicon.topics
               if t in known and prediction.topics.get(t, 1.0) <= TOPIC_REMOVE_THRESHOLD}
    added = [t for t in topics_known
             if t not in lexicon.topics and prediction.topics.get(t, 0.0) >= TOPIC_ADD_THRESHOLD]
    if not removed and not added:
        return sentiment, confidence, lexicon.topics
    rank = {t: i for i, t in enumerate(topics_known)}
    # the company's order; a lexicon topic outside it (there should be none) keeps its place after them
    topics = sorted([t for t in lexicon.topics if t not in removed] + added, key=lambda t: rank.get(t, len(rank)))
    return sentiment, confidence, tuple(topics)
