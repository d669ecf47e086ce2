"""A company's own model (worker.tagging.tenant_model): learnt from its corrections, trusted only where sure.

Two companies: a telecom operator whose people speak in-house jargon ("la box clignote orange" is a
faulty product, "le forfait a sauté" a billing problem, "c'est carré" means all is well), and a
grocer whose "rayon frais" is a shelf, not a fee. Texts are written the way Whisper writes them
as often as the way customers type them.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from webapp.services.default_taxonomy import DEFAULT_TAXONOMY
from worker.tagging import rules, tenant_model
from worker.tagging.rules import NEUTRAL, SATISFIED, UNHAPPY, Tags
from worker.tagging.tagger import tag
from worker.tagging.tenant_model import MIN_EXAMPLES, Example, Prediction, TenantModel, blend, train

TOPICS = [topic.id for topic in DEFAULT_TAXONOMY]
BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "data"


def example(text: str, sentiment: str | None, *topics: str) -> Example:
    return Example(text, sentiment, frozenset(topics))


TELECOM = [
    example("le voyant clignote orange depuis ce matin", UNHAPPY, "product"),
    example("ça clignote orange sur le boîtier depuis hier soir", UNHAPPY, "product"),
    example("mon décodeur clignote orange et plus rien", UNHAPPY, "product"),
    example("encore le voyant orange qui clignote", UNHAPPY, "product"),
    example("le forfait a sauté ce mois ci", UNHAPPY, "billing"),
    example("mon forfait a sauté sans prévenir", UNHAPPY, "billing"),
    example("encore une fois le forfait a sauté", UNHAPPY, "billing"),
    example("ils m ont fait sauter mon forfait", UNHAPPY, "billing"),
    example("installation terminée c'est carré", SATISFIED),
    example("le technicien est passé, c'est carré", SATISFIED, "staff"),
    example("tout est rétabli c'est carré pour moi", SATISFIED),
    example("je voudrais changer mon adresse email", NEUTRAL),
    example("je souhaite connaître les horaires de l agence", NEUTRAL),
    example("pouvez vous m envoyer le contrat", NEUTRAL),
]

_WHEN = ["ce matin", "hier soir", "le dimanche", "à 18h", "encore une fois", "depuis une semaine", "ce midi",
         "samedi"]
GROCER = [
    *(example(f"rayon frais vide {when}", UNHAPPY) for when in _WHEN),
    example("j'ai été débité deux fois pour la même commande", UNHAPPY, "billing"),
    example("la facture ne correspond pas au ticket de caisse", UNHAPPY, "billing"),
    example("le prix affiché en rayon n'est pas celui payé en caisse", UNHAPPY, "billing"),
    example("je voudrais une copie de ma facture", NEUTRAL, "billing"),
    example("quels sont vos horaires le dimanche", NEUTRAL),
]


@pytest.fixture(scope="module")
def telecom() -> TenantModel:
    payload = train(TELECOM)
    assert payload is not None
    return TenantModel.load(payload)


@pytest.fixture(scope="module")
def grocer() -> TenantModel:
    payload = train(GROCER)
    assert payload is not None
    return TenantModel.load(payload)


def tagged(text: str, model: TenantModel | None) -> tuple[str, float, tuple[str, ...]]:
    return blend(tag(text), model.predict(text) if model else None, topics_known=TOPICS)


def lexicon_answer(tags: Tags) -> tuple[str, float, tuple[str, ...]]:
    return tags.sentiment, tags.sentiment_confidence, tags.topics


def benchmark_rows() -> list[dict[str, str]]:
    """The tagging benchmark's texts: the development set, and the evaluation set where there is one."""
    paths = [BENCHMARK / "tagging_dev.jsonl", BENCHMARK / "tagging_eval.jsonl"]
    return [json.loads(line) for path in paths if path.name == "tagging_dev.jsonl" or path.exists()
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- (a) no model: the lexicon's answer -------------------------------------------------------

@pytest.mark.parametrize("text", [
    "le voyant clignote orange depuis ce matin",
    "mon colis n'est jamais arrivé, c'est inadmissible",
    "the advisor was really helpful thank you so much",
    "",
])
def test_without_a_model_the_lexicon_answer_passes_unchanged(text: str) -> None:
    tags = tag(text)
    assert blend(tags, None, topics_known=TOPICS) == lexicon_answer(tags)
    assert blend(tags, None, topics_known=[]) == lexicon_answer(tags)


# --- (b) the company's phrasing is tagged like its corrections ---------------------------------

@pytest.mark.parametrize(("text", "sentiment", "topic"), [
    # (Only phrasings the general tagger still misreads: "le voyant de la box clignote orange depuis deux
    # jours" and "le raccordement est fait c'est carré merci" it now reads right by itself.)
    ("mon décodeur clignote en orange depuis hier", UNHAPPY, "product"),
    ("ca clignotte orange", UNHAPPY, "product"),  # the recognizer's spelling
    ("mon forfait a sauté encore", UNHAPPY, "billing"),
    ("le forfait a encore saute hier soir", UNHAPPY, "billing"),
    ("c'est carré de mon côté", SATISFIED, None),
])
def test_new_texts_with_the_company_s_phrasing_are_tagged_like_its_corrections(
        telecom: TenantModel, text: str, sentiment: str, topic: str | None) -> None:
    lexicon = tag(text)
    assert lexicon.sentiment != sentiment or (topic is not None and topic not in lexicon.topics)

    found_sentiment, confidence, topics = tagged(text, telecom)

    assert found_sentiment == sentiment
    assert confidence >= tenant_model.SENTIMENT_THRESHOLD
    if topic is not None:
        assert topic in topics


def test_a_topic_people_keep_removing_from_a_phrasing_is_removed(grocer: TenantModel) -> None:
    # "frais": fees, to the lexicon; the default topic model now mostly reads the text as no topic at all,
    # so the company model is tested on the lexicon's answer, the one the grocer's people kept correcting
    reading = rules.read("rayon frais vide ce soir", "fr")
    assert "billing" in reading.topics
    lexicon = Tags(reading.sentiment, reading.sentiment_confidence, reading.topics, reading.evidence,
                   reading.mentions)
    assert "billing" not in blend(lexicon, grocer.predict("rayon frais vide ce soir"), topics_known=TOPICS)[2]
    # the fees the grocer does charge are still billing
    assert "billing" in tagged("frais de port offerts", grocer)[2]


# --- (c) texts unrelated to the corrections keep the lexicon's answer ---------------------------

@pytest.mark.parametrize("text", [
    "mon colis n'est jamais arrivé, c'est inadmissible",
    "le conseiller était très aimable, merci beaucoup",
    "bonjour",
    "I was charged twice on my bill and nobody called me back",
])
def test_texts_unrelated_to_the_corrections_keep_the_lexicon_answer(telecom: TenantModel, text: str) -> None:
    assert tagged(text, telecom) == lexicon_answer(tag(text))


@pytest.mark.parametrize("corrections", [
    TELECOM,
    [e for e in TELECOM if e.sentiment != SATISFIED],  # a two-class sentiment model: unhappy or neutral
    [e for e in TELECOM if e.sentiment != NEUTRAL],
    GROCER,
], ids=["telecom", "telecom-unhappy-neutral", "telecom-unhappy-satisfied", "grocer"])
def test_the_tagging_benchmark_keeps_the_lexicon_answer(corrections: list[Example]) -> None:
    payload = train(corrections)
    assert payload is not None
    model = TenantModel.load(payload)
    rows = benchmark_rows()
    assert len(rows) > 100

    changed = [row["text"] for row in rows
               if blend(tag(row["text"], row["lang"]), model.predict(row["text"]), topics_known=TOPICS)
               != lexicon_answer(tag(row["text"], row["lang"]))]

    assert changed == []


def test_a_company_s_corrections_never_reach_another_company(telecom: TenantModel) -> None:
    grocer_before = train(GROCER)
    train(TELECOM)
    grocer_after = train(GROCER)
    assert grocer_before is not None
    assert grocer_after == grocer_before  # nothing learnt from one company lingers for the next

    grocer = TenantModel.load(grocer_after)
    for text in ("mon décodeur clignote en orange depuis hier", "mon forfait a sauté encore"):
        assert tagged(text, telecom) != lexicon_answer(tag(text))
        assert tagged(text, grocer) == lexicon_answer(tag(text))


# --- (d) payload round trip, determinism ------------------------------------------------------

def test_a_payload_loads_back_to_the_same_predictions() -> None:
    payload = train(TELECOM)
    assert payload is not None
    first, second = TenantModel.load(payload), TenantModel.load(payload)

    for text in ("le voyant clignote orange", "c'est carré", "rien à voir", ""):
        assert first.predict(text) == second.predict(text)
    assert first.dump() == payload
    assert first.examples == len(TELECOM)
    assert first.sentiment_classes == (NEUTRAL, SATISFIED, UNHAPPY)
    assert first.topics == ("billing", "product")


def test_training_is_deterministic_whatever_the_order_of_the_corrections() -> None:
    shuffled = list(TELECOM)
    random.Random(7).shuffle(shuffled)  # noqa: S311 - a fixed order for the test

    assert train(shuffled) == train(TELECOM)


def test_predictions_are_scikit_learn_s_own() -> None:
    """The loaded model recomputes what scikit-learn's fitted estimators would answer."""
    payload = train(TELECOM)
    assert payload is not None
    model = TenantModel.load(payload)
    labelled = sorted(TELECOM, key=lambda e: e.text)  # train's order (unique texts here)
    grams = [tenant_model._ngrams(e.text) for e in labelled]
    vectorizer = tenant_model._Vectorizer.fit(grams)
    sentiment = LogisticRegression(C=tenant_model._C, class_weight="balanced", fit_intercept=False,
                                   max_iter=1000, random_state=0)
    sentiment.fit(vectorizer.transform(grams), [e.sentiment for e in labelled])
    billing = LogisticRegression(C=tenant_model._C, class_weight="balanced", fit_intercept=False,
                                 max_iter=1000, random_state=0)
    billing.fit(vectorizer.transform(grams), ["billing" in (e.topics or ()) for e in labelled])

    for text in ("le forfait a encore sauté", "ma box clignote orange", "c'est carré merci", "bonjour"):
        features = vectorizer.transform([tenant_model._ngrams(text)])
        prediction = model.predict(text)
        assert prediction.sentiment is not None
        expected = dict(zip(sentiment.classes_, sentiment.predict_proba(features)[0], strict=True))
        assert prediction.sentiment == pytest.approx(expected, abs=1e-5)
        assert prediction.topics["billing"] == pytest.approx(billing.predict_proba(features)[0][1], abs=1e-5)


@pytest.mark.parametrize("payload", [
    b"",
    b"not a model",
    b"PK\x03\x04 truncated",
])
def test_what_is_not_a_payload_does_not_load(payload: bytes) -> None:
    with pytest.raises(ValueError, match="not a"):
        TenantModel.load(payload)


def test_a_payload_never_unpickles() -> None:
    """Loading reads plain arrays only: a payload smuggling a pickled object is refused, not run."""
    buffer = io.BytesIO()
    np.savez(buffer, header=np.array([{"format": "ecoute-tenant-model"}], dtype=object))

    with pytest.raises(ValueError, match="not a tenant model payload"):
        TenantModel.load(buffer.getvalue())


def test_a_payload_of_another_version_does_not_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tenant_model, "VERSION", tenant_model.VERSION + 1)
    payload = train(TELECOM)
    assert payload is not None
    monkeypatch.undo()

    with pytest.raises(ValueError, match="version"):
        TenantModel.load(payload)


# --- (e) too little to learn from -------------------------------------------------------------

@pytest.mark.parametrize("corrections", [
    [],
    TELECOM[:MIN_EXAMPLES - 1],
    # enough texts, but one sentiment and no topic with 3 positives and 3 negatives
    [example(f"le forfait a sauté {when}", UNHAPPY, "billing", "product") for when in _WHEN],
    # nobody set anything
    [Example(e.text, None, None) for e in TELECOM],
], ids=["none", "five", "one-class", "untouched"])
def test_too_few_corrections_give_no_model(corrections: list[Example]) -> None:
    assert train(corrections) is None


def test_each_part_is_fit_only_from_enough_corrections() -> None:
    sentiment_only = train([Example(e.text, e.sentiment, None) for e in TELECOM])
    topics_only = train([Example(e.text, None, e.topics) for e in TELECOM])
    assert sentiment_only is not None and topics_only is not None

    prediction = TenantModel.load(sentiment_only).predict("le forfait a sauté")
    assert prediction.topics == {}
    assert prediction.sentiment is not None
    assert max(prediction.sentiment, key=prediction.sentiment.__getitem__) == UNHAPPY
    prediction = TenantModel.load(topics_only).predict("le forfait a sauté")
    assert prediction.sentiment is None
    assert set(prediction.topics) == {"billing", "product"}  # "staff": one correction only
    assert TenantModel.load(topics_only).examples == len(TELECOM)


# --- blend's thresholds -----------------------------------------------------------------------

LEXICON = Tags(NEUTRAL, 0.9, ("delivery", "billing"), {})


@pytest.mark.parametrize(("probabilities", "expected"), [
    ({UNHAPPY: 0.6, NEUTRAL: 0.2, SATISFIED: 0.2}, (UNHAPPY, 0.6)),
    ({UNHAPPY: 0.59, NEUTRAL: 0.21, SATISFIED: 0.2}, (NEUTRAL, 0.9)),
    # agreeing with the lexicon keeps the higher confidence
    ({NEUTRAL: 0.7, UNHAPPY: 0.2, SATISFIED: 0.1}, (NEUTRAL, 0.9)),
    # two classes: the text must triple the prior odds, 0.75
    ({UNHAPPY: 0.75, SATISFIED: 0.25}, (UNHAPPY, 0.75)),
    ({UNHAPPY: 0.74, SATISFIED: 0.26}, (NEUTRAL, 0.9)),
])
def test_the_model_s_sentiment_overrides_only_when_sure(probabilities: dict[str, float],
                                                        expected: tuple[str, float]) -> None:
    sentiment, confidence, topics = blend(LEXICON, Prediction(probabilities, {}), topics_known=TOPICS)

    assert (sentiment, confidence) == expected
    assert topics == LEXICON.topics


@pytest.mark.parametrize(("probabilities", "expected"), [
    ({}, ("delivery", "billing")),
    ({"product": 0.75}, ("delivery", "billing", "product")),
    ({"product": 0.74, "delivery": 0.16}, ("delivery", "billing")),
    ({"delivery": 0.15}, ("billing",)),
    ({"delivery": 0.1, "waiting": 0.9, "staff": 0.95}, ("billing", "staff", "waiting")),
    # a topic the company retired since the model was trained
    ({"retired": 0.99, "billing": 0.01}, ("delivery",)),
])
def test_a_topic_is_added_when_likely_and_removed_only_when_very_unlikely(
        probabilities: dict[str, float], expected: tuple[str, ...]) -> None:
    prediction = Prediction({NEUTRAL: 0.4, UNHAPPY: 0.3, SATISFIED: 0.3}, probabilities)

    assert blend(LEXICON, prediction, topics_known=TOPICS) == (NEUTRAL, 0.9, expected)


# --- size ------------------------------------------------------------------------------------

def test_a_model_learnt_from_500_corrections_is_small_and_predicts() -> None:
    """How fast it learns and predicts is measured by benchmarks/tenant_model.py, not asserted here."""
    rows = benchmark_rows()
    pick = random.Random(0)  # noqa: S311 - a fixed sample for the test
    corrections = []
    for index in range(500):
        first, second = pick.choice(rows), pick.choice(rows)
        text = f"{first['text']} {second['text']}" if index % 2 else first["text"]
        corrections.append(Example(text, first["sentiment"], frozenset(first["topics"])))
    payload = train(corrections)
    assert payload is not None
    model = TenantModel.load(payload)
    texts = [row["text"] for row in rows]

    assert len(payload) < 1_000_000
    assert np.isfinite(list(model.predict(texts[0]).topics.values())).all()
