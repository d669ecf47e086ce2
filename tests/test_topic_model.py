"""The learned topic model (worker.tagging.topic_model) and how tag() combines it with the rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from worker.tagging import embeddings, features, rules, topic_model
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
    # with a second stage, by rank: the rules' topics that are not main are mentions, nothing is kept
    about = topic_model.About(*([None] * 4), floor=0.3, second=0.7)  # type: ignore[arg-type]
    ranked = topic_model.Model((), (), (), topic_model.TOPICS, (0.5,) * len(topic_model.TOPICS), 0.8, about)
    assert ranked.decide(reading, {**low, "staff": 0.9, "delivery": 0.5}, topic_model.TOPICS) == (
        ("staff",), ("delivery",))
    assert ranked.decide(reading, low, topic_model.TOPICS) == ((), ("delivery", "staff"))
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


# --- the second stage: what a text is about ----------------------------------------------------

def test_the_second_stage_matches_scikit_learn() -> None:
    """The NumPy probabilities of the second stage are those of the fitted logistic regressions."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    data = topic_model.examples(topic_model.load_rows()[:300])
    first = [topic_model.model().predict_reading(e.reading, e.text) for e in data]
    matrix = topic_model._about_matrix(data, topic_model.corpus_vectors(data), first)
    about = topic_model._about(topic_model._fit_about(matrix, data))
    standard = (matrix - matrix.mean(axis=0)) / np.where(matrix.std(axis=0) < 1e-9, 1.0, matrix.std(axis=0))
    for topic in topic_model.TOPICS[:3]:
        weights = [1.0 if e.calibrates else topic_model.TEACHING_WEIGHT for e in data]
        reference = LogisticRegression(C=topic_model.ABOUT_C, solver="lbfgs", max_iter=2000, random_state=0)
        reference.fit(standard, [int(topic in e.topics) for e in data], sample_weight=weights)
        expected = reference.predict_proba(standard[:20])[:, 1]
        for row, probability in zip(matrix[:20], expected, strict=True):
            assert about.probabilities(row, topic_model.TOPICS)[topic] == pytest.approx(probability, abs=1e-6)


def test_the_shipped_model_has_its_second_stage() -> None:
    model = topic_model.model()
    assert model.about is not None
    assert 0 < model.about.floor <= model.about.second < 1
    assert model.about.coef.shape == (len(topic_model.TOPICS), embeddings.DIM + 10 * len(topic_model.TOPICS)
                                      + len(topic_model.TOPICS))


def test_arrays_fitted_on_another_encoder_are_refused() -> None:
    import numpy as np

    arrays = {**topic_model.load(), "encoder": np.array(["some other encoder"], dtype=np.str_)}
    with pytest.raises(ValueError, match="some other encoder"):
        topic_model.from_arrays(arrays)


def test_rank_decision_says_at_most_two_main_topics() -> None:
    p = dict.fromkeys(topic_model.TOPICS, 0.05)
    decide = topic_model.rank_decision
    assert decide({**p, "product": 0.4}, topic_model.TOPICS, 0.3, 0.7) == ["product"]
    assert decide({**p, "product": 0.2}, topic_model.TOPICS, 0.3, 0.7) == []  # under the floor: nothing
    assert decide({**p, "product": 0.9, "billing": 0.6}, topic_model.TOPICS, 0.3, 0.7) == ["product"]
    assert decide({**p, "product": 0.9, "billing": 0.8, "staff": 0.75}, topic_model.TOPICS, 0.3, 0.7) == [
        "product", "billing"]
    # among the company's known topics only
    assert decide({**p, "product": 0.9, "billing": 0.8}, ("billing", "staff"), 0.3, 0.7) == ["billing"]


def test_the_second_stage_finds_a_topic_no_keyword_names() -> None:
    """Forty-five minutes of music before anyone answers is a wait, though no word of the rules says so."""
    text = "quarante-cinq minutes de musique avant qu'on me réponde"
    reading = rules.read(text, "fr")
    assert reading.topics == () and reading.mentions == ()
    assert tag(text, "fr").topics == ("waiting",)


def _embed(texts: list[str]) -> Any:
    return embeddings.embed([topic_model.embedded_texts(rules.read(t), t)[0] for t in texts], texts)


def test_embeddings_are_stable_and_read_meaning_across_languages() -> None:
    import numpy as np

    texts = ["mon colis n'est jamais arrivé", "my parcel never arrived", "la facture est fausse", ""]
    first = _embed(texts)
    assert first.shape == (4, embeddings.DIM)
    assert np.array_equal(first, _embed(texts))  # the same text, the same vector
    for part in (first[:3, :embeddings.E5_DIM], first[:3, embeddings.E5_DIM:]):  # each encoder's, normalised
        assert np.allclose(np.linalg.norm(part, axis=1), 1.0, atol=1e-4)
        assert part[0] @ part[1] > part[0] @ part[2]  # the parcel in English is nearer than the invoice
    assert not first[3].any()  # no text, no direction


def test_both_encoders_read_a_letter_in_capitals_as_its_transcript() -> None:
    """e5 reads the folded words and USE the text lowercased: shouting changes nothing; an accent
    changes only what USE reads (it tells "pêche", fishing or a peach, from "péché", a sin)."""
    import numpy as np

    shouted, spoken = _embed(["MA MACHINE À CAFÉ FUIT ENCORE", "ma machine à café fuit encore"])
    assert np.allclose(shouted, spoken, atol=1e-6)
    fish, sin = embeddings.embed(["peche", "peche"], ["pêche", "péché"])
    assert np.array_equal(fish[:embeddings.E5_DIM], sin[:embeddings.E5_DIM])
    assert not np.allclose(fish[embeddings.E5_DIM:], sin[embeddings.E5_DIM:], atol=1e-3)


def test_embeddings_from_several_threads_are_those_of_one() -> None:
    """Neither engine is thread-safe: a lock serialises calls (a web process may tag from threads)."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    texts = [f"le colis numéro {n} est arrivé abîmé" for n in range(12)]
    alone = _embed(texts)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda t: _embed([t])[0], texts))
    assert np.allclose(np.stack(together), alone, atol=1e-5)
