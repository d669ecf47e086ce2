"""Personal data in transcripts (worker.tagging.pii): each type in French and English, what must not be
flagged (order numbers, prices, dates, times, amounts, bad checksums), exact offsets, timings of
the words to bleep, and logs that never hold the data itself.

Texts are written as Whisper writes calls: punctuated and capitalised, numbers as digits, e-mail
addresses sometimes spelled out ("arobase", "dot"). Every value is made up: phone numbers shaped
like real ones (some in the ranges kept for fiction), the card networks' test numbers, and NIRs
and IBANs given valid keys.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from worker.tagging import pii
from worker.tagging.pii import PiiSpan, find_pii, word_spans, words_text

DEV_SET = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "tagging_dev.jsonl"


def found(text: str, lang: str | None) -> list[tuple[str, str]]:
    return [(span.type, text[span.start:span.end]) for span in find_pii(text, lang)]


@pytest.mark.parametrize(("lang", "text", "expected"), [
    # --- phone: French formats, international formats, as Whisper writes a dictated number
    ("fr", "Mon numéro c'est le 06 12 34 56 78, rappelez-moi.", [("phone", "06 12 34 56 78")]),
    ("fr", "Vous pouvez me joindre au 06.12.34.56.78 ou au 06-12-34-56-78.",
     [("phone", "06.12.34.56.78"), ("phone", "06-12-34-56-78")]),
    ("fr", "Mon portable : +33 6 12 34 56 78.", [("phone", "+33 6 12 34 56 78")]),
    ("fr", "Appelez le +33 (0)6 12 34 56 78 après 18h.", [("phone", "+33 (0)6 12 34 56 78")]),
    ("fr", "Le numéro c'est 0033612345678.", [("phone", "0033612345678")]),
    ("fr", "C'est le 06, 12, 34, 56, 78.", [("phone", "06, 12, 34, 56, 78")]),
    ("fr", "c'est le zéro 6 12 34 56 78 voilà", [("phone", "zéro 6 12 34 56 78")]),
    ("fr", "Au bureau c'est le 01 23 45 67 89.", [("phone", "01 23 45 67 89")]),
    ("en", "Call me on +44 20 7946 0958 tomorrow.", [("phone", "+44 20 7946 0958")]),
    ("en", "My number is (212) 555-0187.", [("phone", "(212) 555-0187")]),
    ("en", "You can reach me at +1 212-555-0187.", [("phone", "+1 212-555-0187")]),
    ("en", "My mobile is 07911 123456.", [("phone", "07911 123456")]),
    ("en", "The office is 020 7946 0958, ask for billing.", [("phone", "020 7946 0958")]),
    # --- email: written, and spelled out
    ("fr", "Mon adresse mail c'est jean.dupont@gmail.com merci.", [("email", "jean.dupont@gmail.com")]),
    ("fr", "j'ai envoyé un mail à jean-marc.dupont@wanadoo.fr hier", [("email", "jean-marc.dupont@wanadoo.fr")]),
    ("fr", "C'est jean point dupont arobase gmail point com.",
     [("email", "jean point dupont arobase gmail point com")]),
    ("fr", "Écrivez à contact at orange point fr.", [("email", "contact at orange point fr")]),
    ("en", "Email me at john.smith+orders@example.co.uk please.", [("email", "john.smith+orders@example.co.uk")]),
    ("en", "It's john dot smith at gmail dot com.", [("email", "john dot smith at gmail dot com")]),
    ("en", "Send it to john.smith at outlook.com please.", [("email", "john.smith at outlook.com")]),
    # --- iban
    ("fr", "Mon IBAN est FR76 3000 6000 0112 3456 7890 189.", [("iban", "FR76 3000 6000 0112 3456 7890 189")]),
    ("fr", "IBAN FR7630006000011234567890189 merci", [("iban", "FR7630006000011234567890189")]),
    ("en", "My IBAN is GB82 WEST 1234 5698 7654 32 thanks.", [("iban", "GB82 WEST 1234 5698 7654 32")]),
    ("en", "Use DE89 3704 0044 0532 0130 00 for the refund.", [("iban", "DE89 3704 0044 0532 0130 00")]),
    # --- card
    ("fr", "Ma carte c'est 4970 1012 3456 7893, expiration 12/27.", [("card", "4970 1012 3456 7893")]),
    ("fr", "Le numéro de la carte : 5555555555554444.", [("card", "5555555555554444")]),
    ("en", "Card number 4111-1111-1111-1111.", [("card", "4111-1111-1111-1111")]),
    ("en", "Amex 3782 822463 10005 please.", [("card", "3782 822463 10005")]),
    # --- nir
    ("fr", "Mon numéro de sécu c'est 1 85 05 78 006 084 91.", [("nir", "1 85 05 78 006 084 91")]),
    ("fr", "Numéro de sécurité sociale 185057800608491.", [("nir", "185057800608491")]),
    ("fr", "Sécurité sociale : 2 55 08 2A 123 456 46.", [("nir", "2 55 08 2A 123 456 46")]),
    # --- address
    ("fr", "J'habite au 12 rue des Lilas, 69003 Lyon.", [("address", "12 rue des Lilas, 69003 Lyon")]),
    ("fr", "Livrez au 3 bis avenue Jean Jaurès 75019 Paris s'il vous plaît.",
     [("address", "3 bis avenue Jean Jaurès 75019 Paris")]),
    ("fr", "j'habite 12 rue des lilas depuis deux ans", [("address", "12 rue des lilas")]),
    ("fr", "Le colis est parti au 8 boulevard de la Croix-Rousse.", [("address", "8 boulevard de la Croix-Rousse")]),
    ("fr", "Envoyez-le place Bellecour, 69002 Lyon.", [("address", "place Bellecour, 69002 Lyon")]),
    ("en", "I live at 221B Baker Street, London NW1 6XE.", [("address", "221B Baker Street, London NW1 6XE")]),
    ("en", "Send it to 1600 Pennsylvania Avenue NW, Washington, DC 20500.",
     [("address", "1600 Pennsylvania Avenue NW, Washington, DC 20500")]),
    ("en", "The parcel went to 42 Oak Road instead.", [("address", "42 Oak Road")]),
    # --- person: the models, and titles
    ("fr", "Bonjour, je suis Marie Dupont et j'appelle pour ma commande.", [("person", "Marie Dupont")]),
    ("fr", "Madame Lefèvre a dit que le colis arriverait mardi.", [("person", "Madame Lefèvre")]),
    ("fr", "Oui bonjour c'est monsieur Benali à l'appareil.", [("person", "monsieur Benali")]),
    ("fr", "J'ai eu M. Dupont au téléphone.", [("person", "M. Dupont")]),
    ("fr", "Merci Madame Durand pour votre aide.", [("person", "Madame Durand")]),
    ("en", "Hi, this is John Smith calling about my order.", [("person", "John Smith")]),
    ("en", "Mrs Thompson said the parcel would reach London on Tuesday.", [("person", "Mrs Thompson")]),
    ("en", "I spoke to Mr Patel yesterday.", [("person", "Mr Patel")]),
    # --- several types; the longest wins ("Jean Jaurès" is part of the address)
    ("en", "My name is Priya Patel and I live at 221B Baker Street.",
     [("person", "Priya Patel"), ("address", "221B Baker Street")]),
    ("fr", "Bonjour, c'est Jean-Pierre Martin, mon numéro est le 07 81 23 45 67.",
     [("person", "Jean-Pierre Martin"), ("phone", "07 81 23 45 67")]),
    (None, "Hello, this is Sarah Connor, my number is +44 7911 123456.",
     [("person", "Sarah Connor"), ("phone", "+44 7911 123456")]),
])
def test_finds_personal_data(lang: str | None, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text, lang) == expected


def test_a_number_not_allocated_but_written_like_a_phone_is_masked() -> None:
    """07700 900xxx is reserved by Ofcom for fiction: not a valid number, yet written as one, so masked."""
    text = "Call me back on 07700 900123 please, or on +44 7700 900456."
    assert [text[p.start:p.end] for p in find_pii(text, "en") if p.type == "phone"] == ["07700 900123",
                                                                                        "+44 7700 900456"]


@pytest.mark.parametrize(("lang", "text"), [
    # order numbers and references
    ("fr", "Ma commande 123456789 n'est jamais arrivée."),
    ("fr", "Le numéro de commande est 0612345678."),
    ("fr", "Numéro de contrat 0612345678, ça ne marche pas."),
    ("fr", "Mon numéro client est le 0123456789."),
    ("fr", "Ma facture 4970101234567893 est fausse."),
    ("fr", "Votre référence 2024-03-12-0001."),
    ("en", "My order number is 2125550187."),
    ("en", "Order #123456789 never arrived."),
    ("en", "My reference is 4111111111111111."),
    ("en", "Tracking number 1Z999AA10123456784."),
    # prices, amounts, quantities, dates, times
    ("fr", "J'ai payé 49,99 € le 12/03/2024 à 14h30 et ça fait 3 semaines."),
    ("fr", "Le montant est de 1 234 567,89 euros."),
    ("fr", "Ça coûte 1 299 euros et 12 centimes."),
    ("fr", "Rendez-vous le 12 04 2024 à 10 h 30."),
    ("fr", "Il reste 10 12 14 ou 16 places et 2 enfants de 12 et 14 ans."),
    ("fr", "Entre 2019 2020 2021 et 2022 j'ai eu 4 pannes."),
    ("en", "It cost $1,299.99 on 03/12/2024 at 2:30 pm."),
    ("en", "About 1,500 people were affected in 2023."),
    ("fr", "Total 0,99 € le 03/04, rendez-vous le 04/05/2026 à 09:30."),
    ("fr", "Mon IBAN est FR76 3000 6000 0112 3456 7890 188 mais la clé est fausse."),
    ("en", "The invoice total was 1 234 567 dollars."),
    # bad checksums and too few digits
    ("fr", "Ma carte c'est 4970 1012 3456 7894."),
    ("en", "Card 1234 5678 9012 3456 was declined."),
    ("fr", "Le code promo 4970 1012 3456 ne marche pas."),
    ("fr", "Mon IBAN est FR76 3000 6000 0112 3456 7890 188."),
    ("fr", "Mon numéro de sécu 1 85 05 78 006 084 92."),
    ("fr", "Mon code postal c'est 69003."),
    # places, companies and greetings are not addresses or people
    ("fr", "Je suis allé à Lyon puis à Paris."),
    ("fr", "J'ai réservé 2 places de concert et 3 cours de yoga."),
    ("fr", "On se retrouve place de la République à 18 h."),
    ("fr", "Merci Orange, la box ne marche toujours pas."),
    ("fr", "Bonjour Monsieur, je vous appelle pour ma facture."),
    ("fr", "Merci Madame. Je voulais savoir."),
    ("en", "I live on Main Street."),
    ("en", "The Amazon delivery was late again, three weeks now."),
    ("en", "Thank you Sir, and yes Mr President."),
    ("en", "Dear Sir or Madam, I am writing regarding invoice 44871."),
    ("en", "Email me the invoice please."),
    ("fr", "Veuillez annuler la seconde facture."),
    ("fr", "Félicitations, vous avez réussi à me facturer trois fois."),
    # "at" and "dot" in ordinary English
    ("en", "I looked at the site dot com yesterday."),
    ("en", "Send it to me at my office dot com."),
])
def test_leaves_ordinary_text_alone(lang: str, text: str) -> None:
    assert found(text, lang) == []


def test_dev_set_has_no_personal_data_but_two_first_names() -> None:
    """108 complaints and calls without personal data but two agents' first names (issue #5's set)."""
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    hits = [hit for row in rows for hit in found(row["text"], row["lang"])]
    assert hits == [("person", "Sophie"), ("person", "Julien")]


def test_offsets_slice_exactly_and_spans_are_sorted_and_disjoint() -> None:
    text = ("Bonjour, je suis Marie Dupont, 12 rue des Lilas, 69003 Lyon. Mon mail : marie.dupont@free.fr, "
            "mon portable le 06 12 34 56 78, ma carte 4970 1012 3456 7893, mon IBAN FR76 3000 6000 0112 3456 "
            "7890 189 et ma sécu 2 94 03 75 120 005 91.")
    spans = find_pii(text, "fr")
    assert [(s.type, text[s.start:s.end]) for s in spans] == [
        ("person", "Marie Dupont"),
        ("address", "12 rue des Lilas, 69003 Lyon"),
        ("email", "marie.dupont@free.fr"),
        ("phone", "06 12 34 56 78"),
        ("card", "4970 1012 3456 7893"),
        ("iban", "FR76 3000 6000 0112 3456 7890 189"),
        ("nir", "2 94 03 75 120 005 91"),
    ]
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    assert {s.type for s in spans} == set(pii.PII_TYPES)


def test_language_codes_and_empty_text() -> None:
    text = "Hi, this is John Smith calling about my order."
    assert found(text, "en-GB") == found(text, "en_US") == [("person", "John Smith")]
    # another language: rule-based spans only, a title still names a person
    assert found("Herr Schmidt, meine Nummer ist +49 30 123456.", "de") == [("phone", "+49 30 123456")]
    assert found("Ich bin Mr Schmidt.", "de") == [("person", "Mr Schmidt")]
    assert find_pii("", None) == []


# --- words and timings -----------------------------------------------------------------------

WORDS = [
    {"start": 0.0, "end": 0.4, "word": " Bonjour,"},
    {"start": 0.4, "end": 0.6, "word": " c'est"},
    {"start": 0.6, "end": 1.0, "word": " Marie"},
    {"start": 1.0, "end": 1.5, "word": " Dupont."},
    {"start": 2.0, "end": 2.3, "word": " Mon"},
    {"start": 2.3, "end": 2.6, "word": " numéro,"},
    {"start": 2.6, "end": 2.9, "word": " 06"},
    {"start": 3.0, "end": 3.3, "word": " 12"},
    {"start": 3.4, "end": 3.7, "word": " 34"},
    {"start": 3.8, "end": 4.1, "word": " 56"},
    {"start": 4.2, "end": 4.6, "word": " 78."},
    {"start": 5.0, "end": 5.4, "word": " Merci."},
]


def test_words_text_joins_stripped_words_with_single_spaces() -> None:
    text, spans = words_text(WORDS)
    assert text == "Bonjour, c'est Marie Dupont. Mon numéro, 06 12 34 56 78. Merci."
    assert [text[start:end] for start, end in spans] == [str(w["word"]).strip() for w in WORDS]
    assert words_text([]) == ("", [])


def test_word_spans_give_the_time_range_of_the_words_touched() -> None:
    text, _ = words_text(WORDS)
    spans = find_pii(text, "fr")
    assert [(s.type, text[s.start:s.end]) for s in spans] == [("person", "Marie Dupont"), ("phone", "06 12 34 56 78")]
    assert word_spans(spans, WORDS) == [
        {"type": "person", "start_s": 0.6, "end_s": 1.5},
        {"type": "phone", "start_s": 2.6, "end_s": 4.6},
    ]


def test_word_spans_of_hand_made_spans() -> None:
    # "Bonjour, c'est Marie..." : a span inside one word, one across a word boundary, one on a space
    assert word_spans([PiiSpan("person", 2, 4), PiiSpan("person", 12, 17), PiiSpan("person", 8, 9)], WORDS) == [
        {"type": "person", "start_s": 0.0, "end_s": 0.4},
        {"type": "person", "start_s": 0.4, "end_s": 1.0},
    ]


# --- logs, pipelines ---------------------------------------------------------------------------

def test_logs_never_contain_the_values(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    values = ["Marie Dupont", "12 rue des Lilas", "69003", "marie.dupont@free.fr", "06 12 34 56 78",
              "4970 1012 3456 7893", "FR76", "3456", "2 94 03 75 120 005 91", "Dupont", "Marie"]
    text = (f"Bonjour, je suis {values[0]}, {values[1]}, {values[2]} Lyon. Mon mail : {values[3]}, mon portable "
            f"le {values[4]}, ma carte {values[5]}, mon IBAN FR76 3000 6000 0112 3456 7890 189 et ma sécu {values[8]}.")
    monkeypatch.setattr(pii, "_pipelines", {})  # the load is logged too
    with caplog.at_level(logging.DEBUG, logger="worker.tagging.pii"):
        spans = find_pii(text, "fr")
        monkeypatch.setattr(pii, "PIPELINES", {"fr": ("fr_core_news_absent",)})
        monkeypatch.setattr(pii, "_pipelines", {})
        find_pii(text, "fr")
    assert len(spans) == 7
    messages = [record.getMessage() for record in caplog.records]
    assert any("person=1" in m and "phone=1" in m for m in messages)  # counts are logged
    assert any("fr_core_news_absent" in m for m in messages)
    for message in messages:
        for value in values:
            assert value not in message


def test_missing_pipeline_keeps_the_rules_and_warns_once(caplog: pytest.LogCaptureFixture,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pii, "PIPELINES", {"fr": ("fr_core_news_absent",), "en": ("en_core_web_absent",)})
    monkeypatch.setattr(pii, "_pipelines", {})
    text = "Je suis Marie Dupont, Madame Martin a mon numéro : 06 12 34 56 78."
    with caplog.at_level(logging.WARNING, logger="worker.tagging.pii"):
        first = found(text, "fr")
        second = found(text, "fr")
    assert first == second == [("person", "Madame Martin"), ("phone", "06 12 34 56 78")]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "fr_core_news_absent" in warnings[0].getMessage()


def test_pipelines_load_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    started = threading.Barrier(4)

    def slow_missing(language: str) -> None:
        calls.append(language)
        threading.Event().wait(0.05)  # long enough for the other threads to arrive

    monkeypatch.setattr(pii, "_pipelines", {})
    monkeypatch.setattr(pii, "_load", slow_missing)
    results: list[list[tuple[str, str]]] = []

    def work() -> None:
        started.wait()
        results.append(found("Mme Martin, 06 12 34 56 78", "fr"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["fr"]
    assert results == [[("person", "Mme Martin"), ("phone", "06 12 34 56 78")]] * 4


def test_loaded_pipelines_skip_the_parser_and_lemmatizer() -> None:
    find_pii("Bonjour Marie.", "fr")
    find_pii("Hello Mary.", "en")
    assert pii._pipelines["fr"] is not None and pii._pipelines["en"] is not None
    assert pii._pipelines["fr"].nlp.pipe_names == ["tok2vec", "morphologizer", "ner"]
    assert pii._pipelines["en"].nlp.pipe_names == ["tok2vec", "tagger", "ner"]
