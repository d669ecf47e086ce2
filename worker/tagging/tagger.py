"""The tagger: the lexicon's reading of a text (:mod:`worker.tagging.rules`), backed up by the learned
sentiment model (:mod:`worker.tagging.sentiment_model`).

The model overrides a neutral (a factual complaint without emotional words) and, when sure, a
feeling the lexicon misread; topics and evidence are the lexicon's.
"""

from __future__ import annotations

from collections.abc import Sequence

from webapp.services.default_taxonomy import DEFAULT_TAXONOMY, Topic
from worker.tagging import rules, sentiment_model
from worker.tagging.rules import Tags


def tag(text: str, lang: str | None = None, taxonomy: Sequence[Topic] = DEFAULT_TAXONOMY) -> Tags:
    """Tag one text: the customer's sentiment, the topics it raises and those it mentions in passing,
    where in the text each was seen, and the complaint expressions said.

    ``lang`` is a language code ("fr", "en", "fr-FR"); None guesses it, and any other language uses
    both lexicons. Pure and thread-safe; the lexicons are compiled, and the model read, on first use.
    """
    reading = rules.read(text, lang, taxonomy)
    signal = sentiment_model.LexiconSignal(reading.sentiment, reading.sentiment_confidence, reading.positive,
                                           reading.negative)
    probabilities = sentiment_model.model().predict_words(reading.words, signal)
    sentiment, confidence = sentiment_model.combine(signal, probabilities)
    return Tags(sentiment, confidence, reading.topics, reading.evidence, reading.mentions,
                reading.complaint_expressions)
