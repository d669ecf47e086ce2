"""The tagger: the lexicon's reading of a text (:mod:`worker.tagging.rules`), backed up by the learned
sentiment model (:mod:`worker.tagging.sentiment_model`) and the learned topic model
(:mod:`worker.tagging.topic_model`).

The sentiment model overrides a neutral (a factual complaint without emotional words) and, when
sure, a feeling the lexicon misread. The topic model decides which of the default topics are main
and which are named in passing: a topic the rules found that it does not call main is a mention, and
one it is sure of is main even when the rules missed it (it reads the text's sentence embedding
too); a company's own topics are the rules'.
Evidence is the lexicon's. Both models read the same n-grams, counted once.
"""

from __future__ import annotations

from collections.abc import Sequence

from webapp.services.default_taxonomy import DEFAULT_TAXONOMY, Topic
from worker.tagging import features, rules, sentiment_model, topic_model
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
    grams = features.counts(reading.words)
    probabilities = sentiment_model.model().predict_words(reading.words, signal, grams)
    sentiment, confidence = sentiment_model.combine(signal, probabilities)
    topics, mentions, evidence = reading.topics, reading.mentions, reading.evidence
    known = [topic.id for topic in taxonomy]
    model = topic_model.model()
    if any(topic in model.topics for topic in known):
        topics, mentions = model.decide(reading, model.main_probabilities(reading, text, grams), known)
        added = [topic for topic in topics if topic not in evidence and topic in reading.topic_cues]
        if added:  # a topic the rules saw only by weak keywords beside stronger ones
            evidence = {**evidence, **{topic: sorted({(a, b) for _, a, b in reading.topic_cues[topic]})
                                       for topic in added}}
    return Tags(sentiment, confidence, topics, evidence, mentions, reading.complaint_expressions)
