"""Tagging (worker.tagging.rules): sentiment with negation, contrast and politeness; topics; evidence spans.

Texts are written like Whisper writes them as often as like customers type them: no capitals,
no punctuation, "ca" for "ça", "j ai" for "j'ai".
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from webapp.services.default_taxonomy import DEFAULT_TAXONOMY, Topic
from worker.tagging import lexicons, pii, rules
from worker.tagging.rules import NEUTRAL, SATISFIED, UNHAPPY, Tags, guess_language
from worker.tagging.tagger import tag

DEV_SET = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "tagging_dev.jsonl"


def cues(tags: Tags, text: str, key: str) -> list[str]:
    """The pieces of ``text`` that the evidence of ``key`` points at."""
    return [text[start:end] for start, end in tags.evidence.get(key, [])]


# --- sentiment --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "lang", "expected"), [
    # plain cues, informal speech
    ("c'est nickel merci beaucoup", "fr", SATISFIED),
    ("service au top, conseillère géniale", "fr", SATISFIED),
    ("c'est inadmissible, vraiment scandaleux", "fr", UNHAPPY),
    ("ras-le-bol de vos prélèvements c'est n'importe quoi", "fr", UNHAPPY),
    ("great job, brilliant service", "en", SATISFIED),
    ("all sorted now, cheers", "en", SATISFIED),
    ("this is awful, absolutely unacceptable", "en", UNHAPPY),
    ("I am furious", "en", UNHAPPY),
    # negation
    ("je ne suis pas satisfait", "fr", UNHAPPY),
    ("pas content du tout", "fr", UNHAPPY),
    ("mon colis jamais reçu", "fr", UNHAPPY),
    ("l'imprimante ne marche pas", "fr", UNHAPPY),
    ("ca marche plus depuis hier", "fr", UNHAPPY),
    ("ma box ne s'allume plus", "fr", UNHAPPY),
    ("personne ne m'a rappelé", "fr", UNHAPPY),
    ("je n'ai pas été remboursé", "fr", UNHAPPY),
    ("c'est pas terrible", "fr", UNHAPPY),
    ("I'm not happy with this", "en", UNHAPPY),
    ("not satisfied at all", "en", UNHAPPY),
    ("my parcel never arrived", "en", UNHAPPY),
    ("the heater no longer works", "en", UNHAPPY),
    ("nobody called me back", "en", UNHAPPY),
    ("I haven't been refunded", "en", UNHAPPY),
    ("no response for weeks", "en", UNHAPPY),
    # a negated complaint is praise, mildly
    ("c'est pas mal", "fr", SATISFIED),
    ("je ne suis pas déçu", "fr", SATISFIED),
    ("not bad at all", "en", SATISFIED),
    ("I've never had a problem with you", "en", SATISFIED),
    # a thank-you about a past problem, now solved
    ("j'ai eu un problème mais le technicien l'a réparé, merci", "fr", SATISFIED),
    ("j avais eu un souci avec ma facture mais le conseiller a tout réglé merci beaucoup", "fr", SATISFIED),
    ("I had a problem but the technician fixed it, thank you", "en", SATISFIED),
    # a politely phrased complaint
    ("je me permets de vous signaler que ma commande n'est toujours pas arrivée", "fr", UNHAPPY),
    ("I would like to point out that my order still hasn't arrived", "en", UNHAPPY),
    ("Madame, Monsieur, je vous serais reconnaissant de bien vouloir me rembourser, merci d'avance. "
     "Je n'ai toujours rien reçu.", "fr", UNHAPPY),
    # mixed feelings: the conclusion weighs more
    ("la livraison était rapide mais le produit est cassé", "fr", UNHAPPY),
    ("the product is broken but the delivery was fast and the courier was lovely", "en", SATISFIED),
    ("the guy at the counter was friendly but i waited an hour in the queue", "en", UNHAPPY),
    # questions and requests: neutral, even with a closing thank-you
    ("je voudrais changer mon adresse", "fr", NEUTRAL),
    ("rien à signaler de mon côté, je voulais juste une information", "fr", NEUTRAL),
    ("bonjour je voudrais des informations sur vos tarifs merci au revoir", "fr", NEUTRAL),
    ("merci de me rappeler au plus vite", "fr", NEUTRAL),
    ("what are your opening hours", "en", NEUTRAL),
    ("hello i'd like to know the price of the premium plan thank you", "en", NEUTRAL),
    ("I would appreciate it if you could send me my invoice", "en", NEUTRAL),
    # Whisper: no capitals, no punctuation, no cedilla, glued apostrophes
    ("jai pas recu mon colis cest inadmissible", "fr", UNHAPPY),
    ("ca fait trois semaines que j attends", "fr", UNHAPPY),
    ("le conseiller etait super sympa", "fr", SATISFIED),
    ("the advisor was really helpful thank you so much", "en", SATISFIED),
])
def test_sentiment(text: str, lang: str, expected: str) -> None:
    assert tag(text, lang).sentiment == expected


def test_negation_is_what_makes_it_unhappy() -> None:
    assert tag("je suis satisfait", "fr").sentiment == SATISFIED
    assert tag("je ne suis pas satisfait", "fr").sentiment == UNHAPPY
    assert tag("happy with it", "en").sentiment == SATISFIED
    assert tag("not happy with it", "en").sentiment == UNHAPPY


@pytest.mark.parametrize("text", ["je ne sais pas mais c'est parfait", "Je ne sais pas. Content quand même."])
def test_a_clause_break_stops_the_negation(text: str) -> None:
    tags = tag(text, "fr")
    assert tags.sentiment == SATISFIED
    assert UNHAPPY not in tags.evidence


def test_a_negation_reaches_no_further_back_than_the_previous_cue() -> None:
    text = "no response for weeks"
    tags = tag(text, "en")
    assert cues(tags, text, UNHAPPY) == ["no response", "for weeks"]
    assert SATISFIED not in tags.evidence


def test_what_follows_a_contrast_weighs_more() -> None:
    assert tag("le produit est excellent mais la livraison a été très lente", "fr").sentiment == UNHAPPY
    assert tag("la livraison a été très lente mais le produit est excellent", "fr").sentiment == SATISFIED
    assert tag("great product but a very slow delivery", "en").sentiment == UNHAPPY
    assert tag("a very slow delivery but a great product", "en").sentiment == SATISFIED


def test_intensifiers_raise_the_confidence() -> None:
    plain, intensified = tag("je suis déçu", "fr"), tag("je suis vraiment très déçu", "fr")
    assert plain.sentiment == intensified.sentiment == UNHAPPY
    assert intensified.sentiment_confidence > plain.sentiment_confidence


def test_super_intensifies_rather_than_praises() -> None:
    text = "super déçu"
    tags = tag(text, "fr")
    assert tags.sentiment == UNHAPPY
    assert SATISFIED not in tags.evidence


def test_mixed_feelings_lower_the_confidence() -> None:
    pure, mixed = tag("le produit est cassé", "fr"), tag("la livraison était rapide mais le produit est cassé", "fr")
    assert pure.sentiment == mixed.sentiment == UNHAPPY
    assert mixed.sentiment_confidence < pure.sentiment_confidence - 0.2
    assert cues(mixed, "la livraison était rapide mais le produit est cassé", SATISFIED) == ["rapide"]


def test_confidence_is_between_0_and_1() -> None:
    for text in ["", "merci", "nickel", "inadmissible scandaleux honteux lamentable inacceptable " * 20,
                 "super mais nul mais top mais horrible"]:
        assert 0 <= tag(text).sentiment_confidence <= 1


# --- complaints without emotional words, irony ----------------------------------------------

@pytest.mark.parametrize(("text", "lang"), [
    ("Je conteste ce prélèvement effectué sans mon accord.", "fr"),
    ("Par la présente, je vous mets en demeure de me rembourser sous huit jours.", "fr"),
    ("C'est la troisième fois que je vous écris à ce sujet.", "fr"),
    ("J'ai résilié en janvier et vous continuez à me prélever.", "fr"),
    ("l'article ne correspond pas à la description, je souhaite un remboursement", "fr"),
    ("I wish to dispute this charge.", "en"),
    ("Money was taken from my account without my consent.", "en"),
    ("This is the third time I have had to call about this.", "en"),
    ("I cancelled in March yet you continue to bill me.", "en"),
    ("The table arrived with a deep scratch, I would like a replacement.", "en"),
    ("We were promised a callback. Still nothing.", "en"),
    ("my email is still unanswered", "en"),
])
def test_a_polite_or_formal_complaint_is_unhappy(text: str, lang: str) -> None:
    assert tag(text, lang).sentiment == UNHAPPY


@pytest.mark.parametrize(("text", "lang"), [
    ("comment puis-je obtenir un remboursement ?", "fr"),
    ("how do I ask for a refund", "en"),
    ("Could you please confirm whether my order has been dispatched?", "en"),
    ("Je vous remercie de bien vouloir m'indiquer la procédure de résiliation.", "fr"),
])
def test_a_question_about_a_remedy_stays_neutral(text: str, lang: str) -> None:
    assert tag(text, lang).sentiment == NEUTRAL


@pytest.mark.parametrize(("text", "lang"), [
    ("génial, encore une coupure ce matin", "fr"),
    ("bravo pour la ponctualité, trois jours de retard", "fr"),
    ("great, another week without internet, thanks a lot", "en"),
    ("Wonderful, a third missed delivery. Well done.", "en"),
])
def test_praise_said_of_a_problem_is_irony(text: str, lang: str) -> None:
    tags = tag(text, lang)
    assert tags.sentiment == UNHAPPY
    assert SATISFIED not in tags.evidence


def test_irony_needs_no_contrast_and_no_sincere_praise() -> None:
    # a contrast: praise of one thing, a problem with another
    assert tag("great product but a very slow delivery", "en").sentiment == UNHAPPY
    assert tag("le colis avait du retard mais le produit est génial", "fr").sentiment == SATISFIED
    # a solved problem, thanked for
    assert tag("I had a problem but the technician fixed it, thank you", "en").sentiment == SATISFIED
    # thanks alone are ironic only with a repetition ("encore", "again")
    assert tag("merci beaucoup, le technicien a réparé la fuite", "fr").sentiment == SATISFIED


# --- topics -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("le livreur a laissé le colis devant la porte", "fr", ("delivery",)),
    ("the courier left my parcel outside in the rain", "en", ("delivery",)),
    ("j'ai été débité deux fois ce mois-ci", "fr", ("billing",)),
    ("I was charged twice, I want a refund", "en", ("billing",)),
    ("le grille-pain est tombé en panne, quel défaut de qualité", "fr", ("product",)),
    ("the kettle broke down after a week, poor quality", "en", ("product",)),
    ("la conseillère de l'accueil était désagréable", "fr", ("staff",)),
    ("the technician was rude", "en", ("staff",)),
    ("le temps d'attente au téléphone est interminable", "fr", ("waiting",)),
    ("forty minutes on hold listening to the hold music", "en", ("waiting",)),
    ("le SAV refuse la prise sous garantie", "fr", ("after_sales",)),
    ("I sent it back for repair under warranty", "en", ("after_sales",)),
    ("impossible de me connecter à l'appli, mot de passe refusé", "fr", ("website",)),
    ("the app keeps crashing when I log in", "en", ("website",)),
    # several topics, in taxonomy order whatever the order in the text
    # weak keywords: "ne marche pas" is about the app when the app is named, else about a product
    ("l'application ne marche pas", "fr", ("website",)),
    ("ma machine à laver ne marche pas", "fr", ("product",)),
    # a quality said of a named product is about the product, even with another topic named
    ("the sofa arrived today and it is even more comfortable than in the shop", "en", ("product",)),
    ("le pull est encore plus doux que le précédent", "fr", ("product",)),
    ("the blender is powerful and quiet", "en", ("product",)),
    # a late parcel is a delivery, not a wait; a wait is on the phone, in a queue, for a reply
    ("my parcel was ordered two weeks ago and is still not here", "en", ("delivery",)),
    ("ma commande n'est toujours pas arrivée, ça fait trois semaines", "fr", ("delivery",)),
    ("forty minutes on hold again", "en", ("waiting",)),
    # stop phrases: "de retour" is not a return, "in order to" not an order, "opening hours" no wait
    ("je suis de retour de vacances", "fr", ()),
    ("I called in order to ask a question", "en", ()),
    ("what are your opening hours", "en", ()),
    ("merci de me rappeler", "fr", ()),
    # nothing to do with any topic
    ("il fait beau aujourd'hui", "fr", ()),
])
def test_topics(text: str, lang: str, expected: tuple[str, ...]) -> None:
    assert tag(text, lang).topics == expected


def test_a_bare_weak_keyword_is_a_product_to_the_rules() -> None:
    """"It doesn't work" with nothing named is a product to the rules; the learned model, seeing no
    object, is not sure enough (0.21 when written) and keeps it a mention."""
    assert rules.read("it doesn't work", "en").topics == ("product",)
    assert tag("it doesn't work", "en").mentions == ("product",) or tag("it doesn't work", "en").topics == (
        "product",)


def test_small_talk_names_no_topic_to_the_rules() -> None:
    """The rules see no topic in small talk. The learned model can still call some of it product (a
    sentence about a cat sleeping in the sun did, at 0.87): off-topic texts are one in twenty of what
    customers send, and 74 of 240 of them got a topic in cross-validation (benchmarks/README.md)."""
    for text in ("my cat likes to sleep in the sun", "il fait beau aujourd'hui", "vive le printemps"):
        reading = rules.read(text)
        assert (reading.topics, reading.mentions) == ((), ())


def test_the_rules_find_three_topics_and_the_learned_model_weighs_them() -> None:
    """The rules name all three; the learned topic model (worker/tagging/topic_model.py) decides which
    are main, and keeps the others as mentions."""
    text = "le conseiller m'a raccroché au nez après une heure d'attente pour un colis perdu"
    assert rules.read(text, "fr").topics == ("delivery", "staff", "waiting")
    tags = tag(text, "fr")
    assert tags.topics[0] in {"staff", "waiting"}  # the agent who hung up, or the hour: not the parcel
    assert set(tags.topics) | set(tags.mentions) == {"delivery", "staff", "waiting"}


# --- main topics and passing mentions (issue #15) ----------------------------------------------

PASSING_CASES = [
    # praise for a delivery that mentions a polite driver is about the delivery
    ("Livraison rapide et le livreur était très poli, merci !", "fr", ("delivery",), ("staff",)),
    ("The parcel arrived a day early and the driver was really polite.", "en", ("delivery",), ("staff",)),
    # "pour ce prix" on a product failure is about the product
    ("Le grille-pain est tombé en panne au bout d'une semaine, pour ce prix c'est honteux.", "fr", ("product",),
     ("billing",)),
    ("Stopped working after two days. Really poor quality for the price.", "en", ("product",), ("billing",)),
    ("J'ai payé 80 euros pour cet aspirateur et il ne s'allume plus.", "fr", ("product",), ("billing",)),
    # a time said of something else is no wait
    ("Après une heure d'utilisation, le sèche-cheveux a surchauffé.", "fr", ("product",), ("waiting",)),
    ("J'ai attendu mon colis trois semaines.", "fr", ("delivery",), ("waiting",)),
    ("I have been waiting for my refund for a month.", "en", ("billing",), ("waiting",)),
    ("Monsieur, malgré mes relances, le technicien n'est jamais venu pour l'intervention.", "fr",
     ("staff", "after_sales"), ("waiting",)),
    # where it was bought, what the return was about
    ("Can I return an item bought online to one of your shops?", "en", ("after_sales",), ("website",)),
    ("j'ai renvoyé le colis il y a un mois et toujours pas de remboursement", "fr", ("billing", "after_sales"),
     ("delivery",)),
    # raised, not in passing: a wait on the phone, a rude driver, a price complained of
    ("j'ai attendu 45 minutes au téléphone", "fr", ("waiting",), ()),
    ("Le livreur était très désagréable.", "fr", ("delivery", "staff"), ()),
    ("Vos prix ont encore augmenté, c'est trop cher.", "fr", ("billing",), ()),
    # said only in passing, with nothing else raised: that is what the text is about
    ("pour ce prix c'est correct", "fr", ("billing",), ()),
    # the driver's manners are the whole point: staff (the labelling guide), the delivery named in passing
    ("the driver was very polite", "en", ("staff",), ("delivery",)),
    ("very polite, thank you", "en", ("staff",), ()),
]


@pytest.mark.parametrize(("text", "lang", "main", "mentions"), PASSING_CASES)
def test_a_topic_named_in_passing_is_a_mention(text: str, lang: str, main: tuple[str, ...],
                                               mentions: tuple[str, ...]) -> None:
    tags = tag(text, lang)
    assert set(tags.topics) | set(tags.mentions) == set(main) | set(mentions)  # every topic named is kept
    assert set(tags.evidence) >= set(main) | set(mentions)  # a mention shows where it was named too
    assert not tags.topics or tags.topics[0] in main  # what it calls main first is one of them


PASSING_MENTIONS = PASSING_CASES


def test_most_passing_mentions_are_told_from_main_topics() -> None:
    """The learned model decides main topics by what the text is about (worker/tagging/topic_model.py);
    on these short sentences it gets the exact split right at least twice in three (12 of 17 when
    written). Its misses are on the second topic: one kept as a mention ("le technicien n'est jamais
    venu", a rude driver) or made main (a month's wait for a refund), and "very polite, thank you"
    with no topic at all; the first main topic is never wrong (the test above). Fresh text is
    measured by benchmarks/tagging.py."""
    misses = [(text, tag(text, lang).topics, main) for text, lang, main, mentions in PASSING_MENTIONS
              if (tag(text, lang).topics, tag(text, lang).mentions) != (main, mentions)]
    assert len(misses) <= len(PASSING_MENTIONS) // 3, misses


def test_a_wait_for_a_parcel_or_a_refund_is_a_mention_whatever_the_words_in_between() -> None:
    text = "I waited two weeks for my parcel and it arrived damaged."
    tags = tag(text, "en")
    assert "waiting" in tags.mentions and "waiting" not in tags.topics
    assert cues(tags, text, "waiting") == ["waited two weeks for my parcel"]


# --- complaint expressions (issue #15: proposing an oral complaint) ---------------------------

@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("je veux faire une réclamation", "fr", ("faire une réclamation",)),
    ("c'est inadmissible, je vais saisir le médiateur", "fr", ("c'est inadmissible", "médiateur")),
    ("si rien ne bouge je vais porter plainte", "fr", ("porter plainte",)),  # negated in the condition only
    ("if nothing changes I will file a complaint", "en", ("file a complaint",)),
    ("Par la présente, je vous mets en demeure de me rembourser.", "fr", ("mets en demeure",)),
    ("I want to file a complaint", "en", ("file a complaint",)),
    ("I'll be taking this to the ombudsman", "en", ("ombudsman",)),
    ("this is unacceptable, I want to speak to a manager", "en", ("unacceptable", "speak to a manager")),
    # negated: no complaint made
    ("je ne veux pas faire de réclamation, juste une information", "fr", ()),
    ("je n'ai pas l'intention de porter plainte", "fr", ()),
    ("I don't want to make a complaint, I just have a question", "en", ()),
    ("no need to escalate this", "en", ()),
    # nothing of the kind
    ("je voudrais changer mon adresse", "fr", ()),
    ("where can I find my invoice", "en", ()),
])
def test_complaint_expressions(text: str, lang: str, expected: tuple[str, ...]) -> None:
    assert tag(text, lang).complaint_expressions == expected


def test_complaint_expressions_are_said_once_each_and_in_both_languages_when_the_language_is_unknown() -> None:
    tags = tag("C'est inadmissible ! C'est inadmissible, je veux faire une réclamation.")
    assert tags.complaint_expressions == ("C'est inadmissible", "faire une réclamation")
    assert tag("ombudsman", "de").complaint_expressions == ("ombudsman",)


def test_every_default_topic_has_stable_id_labels_and_keywords_in_both_languages() -> None:
    assert [t.id for t in DEFAULT_TAXONOMY] == [
        "delivery", "billing", "product", "staff", "waiting", "after_sales", "website"]
    for topic in DEFAULT_TAXONOMY:
        assert topic.fr and topic.en
        assert len(topic.keywords_fr) >= 20 and len(topic.keywords_en) >= 20


def test_a_custom_taxonomy_replaces_the_default() -> None:
    energy = Topic("energy", "Énergie", "Energy", keywords_fr=("compteur*", "relevé de compteur"),
                   keywords_en=("meter reading", "smart meter"))
    text = "Le relevé de compteur est faux, le colis aussi"
    tags = tag(text, "fr", taxonomy=[energy])
    assert tags.topics == ("energy",)
    assert cues(tags, text, "energy") == ["relevé de compteur"]
    assert tag("the smart meter is broken", "en", taxonomy=[energy]).topics == ("energy",)


def test_a_gap_in_a_phrase_takes_up_to_three_words() -> None:
    waiting = ("waiting",)
    assert rules.read("ça fait trois semaines", "fr").topics == waiting
    assert rules.read("ça fait plus de trois semaines", "fr").topics == waiting
    assert rules.read("ça fait vraiment beaucoup plus de trois semaines", "fr").topics == ()


# --- evidence ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "key", "expected"), [
    ("Le livreur était très désagréable.", "staff", ["désagréable"]),
    ("Le livreur était très désagréable.", "delivery", ["livreur"]),
    ("Le livreur était très désagréable.", UNHAPPY, ["désagréable"]),
    ("Nickel, merci beaucoup !", SATISFIED, ["Nickel", "merci beaucoup"]),
    ("Je ne suis PAS satisfait du SAV", UNHAPPY, ["PAS satisfait"]),
    ("Je ne suis PAS satisfait du SAV", "after_sales", ["SAV"]),
    ("I haven't been refunded", UNHAPPY, ["haven't been refunded"]),
    ("J’ai été débité deux fois !", "billing", ["débité deux fois"]),
    ("On m’a raccroché au nez", "staff", ["raccroché au nez"]),
    ("Service après-vente injoignable", "after_sales", ["Service après-vente"]),
    ("Ras-le-bol !", UNHAPPY, ["Ras-le-bol"]),
    ("le S.A.V. est nul", "after_sales", ["S.A.V"]),
    ("jai pas recu mon colis", "delivery", ["pas recu", "colis"]),
])
def test_evidence_slices_the_original_text(text: str, key: str, expected: list[str]) -> None:
    assert cues(tag(text), text, key) == expected


def test_evidence_offsets_survive_decomposed_accents_and_ligatures() -> None:
    text = unicodedata.normalize("NFD", "Cœur brisé : très déçue, colis abîmé")
    tags = tag(text, "fr")
    assert cues(tags, text, "delivery") == ["colis"]
    assert cues(tags, text, "product") == [unicodedata.normalize("NFD", "abîmé")]
    assert cues(tags, text, UNHAPPY) == [unicodedata.normalize("NFD", w) for w in ("déçue", "abîmé")]


def test_evidence_only_for_what_was_found() -> None:
    tags = tag("le colis est arrivé cassé", "fr")
    assert set(tags.evidence) == {"delivery", "product", UNHAPPY}
    assert all(spans == sorted(set(spans)) for spans in tags.evidence.values())


# --- normalisation ----------------------------------------------------------------------------

@pytest.mark.parametrize("variants", [
    ("J'ai été débité deux fois", "J’ai été débité deux fois", "j ai ete debite deux fois",
     "JAI ETE DEBITE DEUX FOIS", "jai été débité 2 fois"),
    ("Ça ne marche pas", "ca ne marche pas", "ÇA NE MARCHE PAS", "ça marche pas"),
    ("service après-vente", "service apres vente", "Service Après Vente", "SAV"),
    ("I haven't received my parcel", "I haven’t received my parcel", "i havent received my parcel"),
    ("c'est cher", "c’est cher", "cest cher", "C EST CHER"),
    ("très déçue", unicodedata.normalize("NFD", "très déçue"), "TRES DECUE"),
])
def test_accent_case_and_apostrophe_variants_read_the_same(variants: tuple[str, ...]) -> None:
    read = {(r.sentiment, r.topics, r.mentions) for r in map(rules.read, variants)}
    assert len(read) == 1
    assert read.pop()[:2] != (NEUTRAL, ())
    # the learned models read the folded words, and one sentence encoder the text lowercased (accents
    # kept: worker/tagging/embeddings.py): variants that fold to the same words get the same sentiment
    # and name the same topics, though a text in capitals without accents may hold one for a mention
    # ("jai" and "2" are other words, which the models may weigh differently)
    by_words: dict[tuple[str, ...], set[tuple[str, tuple[str, ...]]]] = {}
    main_by_words: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for text in variants:
        tags = tag(text)
        words = rules.read(text).words
        by_words.setdefault(words, set()).add((tags.sentiment, tuple(sorted(tags.topics + tags.mentions))))
        if not (text.isupper() and text.isascii()):  # all but capitals without accents: the same main topics
            main_by_words.setdefault(words, set()).add(tags.topics)
    assert all(len(found) == 1 for found in by_words.values()), by_words
    assert all(len(found) == 1 for found in main_by_words.values()), main_by_words


@pytest.mark.parametrize("text", ["", "   ", "...", "\n\n", "😡😡"])
def test_empty_text_is_neutral_without_topics(text: str) -> None:
    assert tag(text) == Tags(NEUTRAL, 0.9, (), {})


def test_words_match_whole() -> None:
    # "site" is not in "situation", "bug" not in "debugging", "sav" not in "savoir", "app" not in "apple"
    for text, lang in (("ma situation personnelle", "fr"), ("debugging apples", "en"), ("je voudrais savoir", "fr")):
        reading = rules.read(text, lang)
        assert (reading.topics, reading.mentions, reading.topic_cues) == ((), (), {})


def test_folded_accents_do_not_make_a_book_a_delivery() -> None:
    assert tag("j'ai lu un livre", "fr").topics == ()
    assert tag("le canapé a été livré hier", "fr").topics == ("delivery",)


# --- language ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("je n'ai toujours pas reçu mon colis", "fr"),
    ("bonjour oui alors voilà c'est pour une facture", "fr"),
    ("I still haven't received my parcel", "en"),
    ("hello yes it is about my bill", "en"),
    ("nickel", None),
    ("", None),
])
def test_guess_language(text: str, expected: str | None) -> None:
    assert guess_language(text) == expected


def test_lang_selects_the_lexicons() -> None:
    # "content" is happy in French, material in English
    assert tag("the content of the page", "en").sentiment == NEUTRAL
    assert tag("je suis content", "fr").sentiment == SATISFIED
    assert tag("terrible service, rude staff", "fr-FR").sentiment == NEUTRAL
    assert tag("terrible service, rude staff", "en_GB").sentiment == UNHAPPY
    # guessed when not given, both lexicons when it cannot be guessed or is another language
    assert tag("the staff were rude and the service terrible").sentiment == UNHAPPY
    assert tag("nickel").sentiment == SATISFIED
    assert tag("rude", "de").sentiment == UNHAPPY


# --- dev set ---------------------------------------------------------------------------------

def dev_set() -> list[dict[str, object]]:
    with DEV_SET.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def test_dev_set_accuracy() -> None:
    """A regression guard, not a measure: these texts were used to tune the lexicons."""
    rows = dev_set()
    assert len(rows) >= 30
    tagged = [tag(str(r["text"]), str(r["lang"])) for r in rows]
    sentiment = sum(t.sentiment == r["sentiment"] for t, r in zip(tagged, rows, strict=True))
    assert sentiment / len(rows) >= 0.95
    # main topics, micro-averaged: the second stage is regularised and says a topic only when sure, so
    # it misses some on its own training texts (0.872, precision 0.984, when written) rather than guess
    said = [(set(t.topics), set(map(str, r["topics"]))) for t, r in zip(tagged, rows, strict=True)]  # type: ignore[call-overload]
    tp = sum(len(p & g) for p, g in said)
    fp = sum(len(p - g) for p, g in said)
    fn = sum(len(g - p) for p, g in said)
    assert 2 * tp / (2 * tp + fp + fn) >= 0.85 and tp / (tp + fp) >= 0.95


# --- word lists as data -----------------------------------------------------------------------

def test_word_lists_load_as_they_were_written_in_python() -> None:
    """The lexicons moved from Python literals to worker/tagging/data/*.toml and the default topics to
    webapp/services/default_taxonomy.toml: same sizes, same items, same order, weights as floats."""
    sizes = {lang: {key: len(getattr(rules._SENTIMENT_LEXICONS[lang], key))
                    for key in ("positive", "negative", "events", "zero", "contrasts", "negators", "intensifiers")}
             for lang in ("fr", "en")}
    assert sizes == {
        "fr": {"positive": 206, "negative": 365, "events": 55, "zero": 32, "contrasts": 10, "negators": 11,
               "intensifiers": 18},
        "en": {"positive": 129, "negative": 300, "events": 51, "zero": 21, "contrasts": 9, "negators": 28,
               "intensifiers": 19},
    }
    fr, en = rules._SENTIMENT_LEXICONS["fr"], rules._SENTIMENT_LEXICONS["en"]
    assert list(fr.positive.items())[:2] == [("nickel", 1.5), ("au top", 1.5)]
    assert fr.negative["ca fait ... semaines"] == -0.8 and fr.negative["immediatement"] == -0.4
    assert en.negative["charged ... twice"] == -1.5 and en.negators["t"] == 3 and fr.negators["personne"] == 1
    assert all(isinstance(w, float) for w in (*fr.positive.values(), *en.negative.values()))
    assert fr.events[-2:] == ("venu", "passe") and en.zero[0] == "thanks in advance"
    assert (len(rules._FUNCTION_WORDS_FR), len(rules._FUNCTION_WORDS_EN), len(rules._GLUED), len(rules._IRONIC),
            len(rules._IRONIC_THANKS), len(rules._REPETITION), len(rules._NEGATION_WORDS),
            len(rules._CLAUSE_BREAKS)) == (54, 50, 16, 36, 13, 7, 6, 17)
    assert rules._GLUED["cest"] == ("c", "est")
    assert (len(pii._MAIL_PROVIDERS), len(pii._NOT_A_NAME), len(pii._NOT_A_NAME_CAPITALISED)) == (22, 101, 85)
    assert {"wanadoo", "s'il", "m.", "où"} <= pii._MAIL_PROVIDERS | pii._NOT_A_NAME | pii._NOT_A_NAME_CAPITALISED
    # (grown since for issue #15: passing keywords, stop phrases and new keywords)
    assert [(t.id, len(t.keywords_fr), len(t.keywords_en)) for t in DEFAULT_TAXONOMY] == [
        ("delivery", 137, 114), ("billing", 103, 82), ("product", 236, 202), ("staff", 93, 70), ("waiting", 97, 101),
        ("after_sales", 58, 53), ("website", 67, 80)]
    assert DEFAULT_TAXONOMY[0].keywords_fr[91] == "livre avant hier" and DEFAULT_TAXONOMY[0].keywords_en[74] == (
        "!out of order")
    assert lexicons.load("fr") is lexicons.load("fr")  # read once
