"""The learned sentiment model (worker.tagging.sentiment_model) and how tag() combines it with the lexicon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worker.tagging import sentiment_model
from worker.tagging.rules import NEUTRAL, SATISFIED, UNHAPPY
from worker.tagging.tagger import tag


def test_the_training_file_is_found_and_balanced() -> None:
    rows = sentiment_model.load_rows()
    assert len(rows) >= 500
    assert {r["sentiment"] for r in rows} == {NEUTRAL, SATISFIED, UNHAPPY}
    assert {r["lang"] for r in rows} == {"fr", "en"}
    assert {r["kind"] for r in rows} == {"call", "complaint"}
    assert len({r["text"] for r in rows}) == len(rows)


def test_the_model_trains_and_is_deterministic() -> None:
    rows = sentiment_model.load_rows()
    texts, labels = [r["text"] for r in rows], [r["sentiment"] for r in rows]
    first = sentiment_model.train(texts, labels)
    second = sentiment_model.train(texts, labels)
    text = "I was charged twice for the same order."
    assert first.predict(text) == second.predict(text)
    probabilities = sentiment_model.predict(text, "en")
    assert set(probabilities) == {NEUTRAL, SATISFIED, UNHAPPY}
    assert sum(probabilities.values()) == pytest.approx(1.0)


def test_the_fast_path_matches_scikit_learn() -> None:
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    rows = sentiment_model.load_rows()
    texts, labels = [r["text"] for r in rows], [r["sentiment"] for r in rows]
    signals = [sentiment_model.lexicon_signal(t) for t in texts]
    model = sentiment_model.train(texts, labels, signals)
    docs = [sentiment_model.normalise(t) for t in texts]
    vectorizers = sentiment_model._vectorizers()
    features = hstack([*(v.fit_transform(docs) for v in vectorizers),  # type: ignore[attr-defined]
                       csr_matrix(np.array([sentiment_model._dense(s) for s in signals]))]).tocsr()
    reference = LogisticRegression(C=4.0, class_weight="balanced", solver="newton-cg", max_iter=200,
                                   random_state=0).fit(features, labels)
    expected = reference.predict_proba(features[:20])
    for row, text, signal in zip(expected, texts[:20], signals[:20], strict=True):
        got = model.predict(text, signal)
        for label, probability in zip(reference.classes_, row, strict=True):
            assert got[label] == pytest.approx(probability, abs=1e-6)


# clear cases, none of them in the training file
CASES = [
    ("Je vous informe que le montant prélevé le 4 mars ne correspond pas au tarif de mon contrat. "
     "Je vous demande de régulariser la situation.", "fr", UNHAPPY),
    ("I cancelled my contract in March but you have taken two more payments since. Please refund them.",
     "en", UNHAPPY),
    ("le colis est arrivé avec l'écran fendu et personne ne répond au service client", "fr", UNHAPPY),
    ("Pourriez-vous m'indiquer les horaires d'ouverture de la boutique de Rennes ?", "fr", NEUTRAL),
    ("Could you tell me how to update the phone number on my account?", "en", NEUTRAL),
    ("um hi i'd like to know if you sell gift cards", "en", NEUTRAL),
    ("Merci beaucoup pour votre aide, le problème est résolu et la conseillère a été adorable.", "fr", SATISFIED),
    ("Thank you so much, the new router arrived yesterday and works perfectly.", "en", SATISFIED),
]


@pytest.mark.parametrize(("text", "lang", "expected"), CASES)
def test_the_model_predicts_clear_cases(text: str, lang: str, expected: str) -> None:
    probabilities = sentiment_model.predict(text, lang)
    assert max(probabilities, key=lambda label: probabilities[label]) == expected


@pytest.mark.parametrize(("text", "lang", "expected"), CASES)
def test_tag_gets_clear_cases_right(text: str, lang: str, expected: str) -> None:
    assert tag(text, lang).sentiment == expected


def test_none_of_the_cases_is_in_the_training_file() -> None:
    with sentiment_model.train_path().open(encoding="utf-8") as lines:
        texts = {json.loads(line)["text"] for line in lines if line.strip()}
    assert not texts & {text for text, _, _ in CASES}


def test_a_factual_complaint_the_lexicon_calls_neutral_is_unhappy() -> None:
    text = "Your letter dated 2 June says my account is overdue. It has been paid in full since April."
    signal = sentiment_model.lexicon_signal(text, "en")
    tags = tag(text, "en")
    assert tags.sentiment == UNHAPPY
    assert 0 <= tags.sentiment_confidence <= 1
    assert signal.sentiment in (NEUTRAL, UNHAPPY)


def test_combine_keeps_the_lexicon_unless_the_model_is_sure() -> None:
    neutral = sentiment_model.LexiconSignal(NEUTRAL, 0.9, 0, 0)
    unhappy = sentiment_model.LexiconSignal(UNHAPPY, 0.7, 0, 1)
    assert sentiment_model.combine(neutral, {NEUTRAL: 0.3, SATISFIED: 0.1, UNHAPPY: 0.6}) == (UNHAPPY, 0.6)
    assert sentiment_model.combine(neutral, {NEUTRAL: 0.4, SATISFIED: 0.15, UNHAPPY: 0.45}) == (NEUTRAL, 0.9)
    assert sentiment_model.combine(unhappy, {NEUTRAL: 0.6, SATISFIED: 0.1, UNHAPPY: 0.3}) == (UNHAPPY, 0.7)
    assert sentiment_model.combine(unhappy, {NEUTRAL: 0.9, SATISFIED: 0.05, UNHAPPY: 0.05}) == (NEUTRAL, 0.9)


def test_the_shipped_arrays_are_what_the_corpus_fits() -> None:
    """The arrays tagging loads (data/sentiment_model.npz, no pickle) are exactly a fresh fit of the corpus:
    they cannot drift from it (bin/setup refits them when the corpus, word lists or code change)."""
    import numpy as np

    shipped = sentiment_model.load()
    refitted = sentiment_model.fit_corpus()
    assert sorted(shipped) == sorted(refitted)
    for name, array in refitted.items():
        assert shipped[name].dtype == array.dtype and np.array_equal(shipped[name], array), name
    assert not any(a.dtype == object for a in shipped.values())
    assert sentiment_model.model().classes == (NEUTRAL, SATISFIED, UNHAPPY)


def test_the_pure_python_n_grams_are_scikit_learns() -> None:
    docs = [sentiment_model.normalise(row["text"]) for row in sentiment_model.load_rows()]
    docs += ["", "a", "ab c", "  spaced   out  ", "quatre-vingt-dix j ai"]
    word, char = (vectorizer.build_analyzer() for vectorizer in sentiment_model._vectorizers())
    for doc in docs:
        assert sentiment_model.word_grams(doc) == word(doc)
        assert sentiment_model.char_grams(doc) == char(doc)


def test_the_arrays_file_round_trips_byte_for_byte(tmp_path: Path) -> None:
    arrays = sentiment_model.load()
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    sentiment_model.save(arrays, first)
    sentiment_model.save(sentiment_model.load(first), second)
    assert first.read_bytes() == second.read_bytes()
