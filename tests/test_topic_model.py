"""The learned topic model (worker.tagging.topic_model) and how tag() combines it with the rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.tagging import features, rules, topic_model
from worker.tagging.tagger import tag


def test_the_corpora_are_found_and_labelled() -> None:
    rows = topic_model.load_rows()
    assert len(rows) >= 300
    assert {r["lang"] for r in rows} == {"fr", "en"}
    for row in rows:
        assert set(row["topics"]) <= set(topic_model.TOPICS)
        assert not set(row.get("mentions", ())) & set(row["topics"])


def test_the_shipped_arrays_are_what_the_corpora_fit() -> None:
    """The arrays tagging loads (data/topic_model.npz, no pickle) are exactly a fresh fit of the corpora,
    thresholds included: they cannot drift from them (bin/setup refits them when anything they depend on changes)."""
    import numpy as np

    shipped = topic_model.load()
    refitted = topic_model.fit_corpus()
    assert sorted(shipped) == sorted(refitted)
    for name, array in refitted.items():
        assert shipped[name].dtype == array.dtype and np.array_equal(shipped[name], array), name
    assert not any(a.dtype == object for a in shipped.values())
    model = topic_model.model()
    assert model.topics == topic_model.TOPICS
    assert all(0 < t < 1 for t in model.thresholds) and 0 < model.bar <= 1


def test_the_fast_path_matches_scikit_learn() -> None:
    """The pure-Python probabilities are those of the fitted logistic regressions."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    rows = topic_model.load_rows()[:300]
    data = topic_model.examples(rows)
    arrays, _, _ = topic_model._fit_logistic(data, topic_model.C)
    model = topic_model._with_thresholds(arrays, [0.5] * len(topic_model.TOPICS), 1.0)
    docs = [" ".join(e.reading.words) for e in data]
    text_matrix = hstack([v.fit_transform(docs) for v in topic_model._vectorizers()]).tocsr()
    for k, topic in enumerate(topic_model.TOPICS[:3]):
        dense = csr_matrix(np.array([topic_model.rule_features(e.reading, e.text)[k] for e in data]))
        matrix = hstack([text_matrix, dense]).tocsr()
        reference = LogisticRegression(C=topic_model.C, solver="newton-cg", max_iter=300, random_state=0)
        reference.fit(matrix, [int(topic in e.topics) for e in data])
        expected = reference.predict_proba(matrix[:20])[:, 1]
        for probability, example in zip(expected, data[:20], strict=True):
            assert model.predict_reading(example.reading, example.text)[topic] == pytest.approx(probability, abs=1e-6)


# The three examples of issue #15, item 8, none of them in the corpora.
ISSUE_EXAMPLES = [
    # praise for a delivery that mentions a polite driver is no staff topic
    ("The parcel arrived a day early and the driver was really polite.", "en", "delivery", "staff"),
    # "pour ce prix" on a product failure is no billing topic
    ("Le grille-pain est tombé en panne au bout d'une semaine, pour ce prix c'est honteux.", "fr", "product",
     "billing"),
    # a time said of something else is no wait
    ("Après une heure d'utilisation, le sèche-cheveux a surchauffé.", "fr", "product", "waiting"),
]


@pytest.mark.parametrize(("text", "lang", "main", "mention"), ISSUE_EXAMPLES)
def test_the_issue_examples_come_out_as_mentions(text: str, lang: str, main: str, mention: str) -> None:
    tags = tag(text, lang)
    assert main in tags.topics
    assert mention in tags.mentions and mention not in tags.topics
    assert mention in tags.evidence  # where it was named


def test_none_of_the_examples_is_in_the_corpora() -> None:
    texts = {r["text"] for r in topic_model.load_rows()}
    assert not texts & {text for text, *_ in ISSUE_EXAMPLES}


def test_decide_keeps_main_what_the_model_is_sure_of_and_makes_the_rest_mentions() -> None:
    model = topic_model.Model((), (), (), topic_model.TOPICS, (0.5,) * len(topic_model.TOPICS), 0.8)
    reading = rules.read("The parcel arrived a day early and the driver was really polite.", "en")
    assert reading.topics == ("delivery",) and reading.mentions == ("staff",)
    low = dict.fromkeys(topic_model.TOPICS, 0.1)
    assert model.decide(reading, {**low, "delivery": 0.9}, topic_model.TOPICS) == (("delivery",), ("staff",))
    # a mention becomes main only past the bar; a topic no keyword named too
    assert model.decide(reading, {**low, "delivery": 0.9, "staff": 0.6}, topic_model.TOPICS) == (
        ("delivery",), ("staff",))
    assert model.decide(reading, {**low, "delivery": 0.9, "staff": 0.85, "billing": 0.9}, topic_model.TOPICS) == (
        ("delivery", "billing", "staff"), ())
    # the model calls nothing main: the rules' main topics stay
    assert model.decide(reading, low, topic_model.TOPICS) == (("delivery",), ("staff",))
    # a company's own topic is the rules'
    assert model.decide(reading, {**low, "delivery": 0.9}, ("delivery", "energy")) == (("delivery",), ())


def test_a_custom_taxonomy_keeps_the_rules_for_its_own_topics() -> None:
    from webapp.services.default_taxonomy import Topic

    energy = Topic("energy", "Énergie", "Energy", keywords_fr=("compteur*",), keywords_en=("smart meter",))
    assert tag("the smart meter is broken", "en", taxonomy=[energy]).topics == ("energy",)


def test_the_arrays_file_round_trips_byte_for_byte(tmp_path: Path) -> None:
    arrays = topic_model.load()
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    features.save(arrays, first)
    features.save(topic_model.load(first), second)
    assert first.read_bytes() == second.read_bytes()
