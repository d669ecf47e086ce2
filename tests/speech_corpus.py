"""Customer-call sentences, in French and English, for the speech fixtures and the word-error-rate benchmark.

Each sentence is what a caller (or an agent) really says on a support line, 10 to 25 words, so that
Whisper is measured on the vocabulary the product meets. Numbers are written as words: Whisper writes
some as digits, and a benchmark should count what it mishears, not how it spells "three".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["fr", "en"]
Speaker = Literal["agent", "customer"]


@dataclass(frozen=True)
class Utterance:
    """One sentence of the corpus: ``key`` names it in test ids and benchmark results."""

    key: str
    lang: Lang
    text: str


FRENCH: tuple[Utterance, ...] = (
    Utterance("fr-late-delivery", "fr",
              "Bonjour, j'ai commandé un lave-linge il y a trois semaines et je n'ai toujours rien reçu."),
    Utterance("fr-double-charge", "fr",
              "J'ai été prélevé deux fois pour le même abonnement ce mois-ci, pouvez-vous me rembourser "
              "le second paiement ?"),
    Utterance("fr-thanks-technician", "fr",
              "Je voulais remercier le technicien venu ce matin, il a été très aimable et internet "
              "fonctionne de nouveau."),
    Utterance("fr-change-address", "fr",
              "Je voudrais changer l'adresse de livraison de ma commande, car je déménage à Lyon la "
              "semaine prochaine."),
    Utterance("fr-cancel-contract", "fr",
              "Pouvez-vous m'envoyer une confirmation par courriel dès que la résiliation de mon contrat "
              "sera enregistrée ?"),
)

ENGLISH: tuple[Utterance, ...] = (
    Utterance("en-late-delivery", "en",
              "Hello, I ordered a washing machine three weeks ago and it still has not been delivered."),
    Utterance("en-double-charge", "en",
              "I was charged twice for the same subscription this month, could you please refund the "
              "second payment?"),
    Utterance("en-thanks-technician", "en",
              "I just wanted to thank the technician who came this morning, he was very polite and the "
              "internet works again."),
    Utterance("en-change-address", "en",
              "I would like to change the delivery address on my order because I am moving to Boston "
              "next week."),
    Utterance("en-cancel-contract", "en",
              "Could you send me a confirmation email as soon as the cancellation of my contract has "
              "been processed?"),
)

#: Every sentence, French first.
CORPUS: tuple[Utterance, ...] = FRENCH + ENGLISH

#: Short two-party calls for stereo fixtures: (speaker, text) turns; the agent speaks first.
DIALOGUES: dict[Lang, tuple[tuple[Speaker, str], ...]] = {
    "fr": (
        ("agent", "Service client, bonjour, que puis-je faire pour vous ?"),
        ("customer", FRENCH[0].text),
        ("agent", "Je suis désolé, je regarde tout de suite où en est votre colis."),
    ),
    "en": (
        ("agent", "Customer service, good morning, how can I help you today?"),
        ("customer", ENGLISH[0].text),
        ("agent", "I am sorry about that, let me check where your parcel is right now."),
    ),
}
