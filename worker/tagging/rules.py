"""Tagging of a call transcript or a written complaint: the customer's sentiment and the topics raised.

First version (issue #5, step 3): pure rules, no dependency, no model, offline and fast (several
thousand complaints or short calls per second on one core). Per-tenant classifiers come later.

How it works:

- **Tokens.** The text is cut into words (letters and digits; apostrophes, hyphens and punctuation
  separate them), each folded to lowercase without accents (``Ça`` -> ``ca``, ``œ`` -> ``oe``), so
  "j'ai" / "j’ai" / "J AI" / "jai" all read the same. Every token keeps its character span in the
  *original* text, which is how evidence spans are given back for highlighting.
- **Phrases.** Keywords and cues are written as plain text and normalised the same way; they match
  whole tokens only. In a phrase, ``word*`` matches any word starting with ``word`` and ``...``
  stands for up to three words (``"ca fait ... semaines"``). Keyword lists (``Topic``) also take a
  leading ``~`` (a weak keyword: it counts only when no other topic was found, e.g. "ne marche pas"
  is about a product unless the text names the app or the site) and a leading ``!`` (a stop phrase:
  it hides the keywords it overlaps, e.g. "de retour" hides "retour") and a leading ``+`` (a qualifier:
  alone it reveals nothing, but it makes the weak keywords of its topic count as plain ones, e.g.
  "le canapé est confortable" is about the product even when a delivery is named too). Overlapping
  matches keep the leftmost, then longest one.
- **Sentiment.** Each cue has a weight (positive: satisfied, negative: unhappy). A negator just
  before a cue (``pas``, ``jamais``, ``not``, ``never``, ``n't``... within three words, not across a
  clause break) turns a positive cue into a negative one and a negative cue into a weak positive one
  ("pas déçu", "not bad"); some cues are *events*, neutral alone and negative when negated ("jamais
  reçu", "never arrived", "nobody called me back"). An intensifier ("très", "vraiment", "really")
  multiplies the cue by 1.5. Cues said before a contrast ("mais", "but", "par contre") count less
  than the ones after it: the end of the message is what the customer concludes with. The balance
  decides; a small total (a polite "merci" at the end of a request) stays neutral.
- **Language.** ``lang`` ("fr", "en", "fr-FR"...) picks the lexicons; without it, French and English
  function words are counted, and both lexicons are used when the count cannot tell.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

from webapp.services.default_taxonomy import DEFAULT_TAXONOMY, Topic

SATISFIED = "satisfied"
UNHAPPY = "unhappy"
NEUTRAL = "neutral"
LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class Tags:
    """What :func:`tag` found in one text."""

    #: "satisfied", "unhappy" or "neutral"
    sentiment: str
    #: 0..1; low for mixed feelings or faint cues
    sentiment_confidence: float
    #: topic ids, in taxonomy order
    topics: tuple[str, ...]
    #: character spans (start, end) in the original text that triggered each topic id, and each
    #: sentiment ("satisfied" / "unhappy": the cues of that polarity, a negated cue spanning its
    #: negator, e.g. "pas content"); sorted, no duplicates; only keys with spans are present
    evidence: dict[str, list[tuple[int, int]]]


# ---------------------------------------------------------------------------------------------
# Sentiment lexicons: phrase -> weight (satisfied > 0 > unhappy; 1 is a plain cue, 2 a strong one)
# ---------------------------------------------------------------------------------------------

#: Politeness and requests that carry no feeling; listed so that they hide the cues they contain
#: ("merci de me rappeler" is a request, "bonne journée" a sign-off).
_ZERO_FR = (
    "merci de", "merci d avance", "merci par avance", "merci de bien vouloir", "bonne journee",
    "bonne soiree", "bonne fin de journee", "bon courage", "bon ben", "bon bah", "bon alors", "bon euh",
    "ah bon", "bon de", "bien sur", "eh bien", "ou bien", "bien que", "aussi bien", "bien entendu",
    "serais reconnaissant", "serais reconnaissante", "serions reconnaissants", "je me permets",
    "super u", "super marche", "rien a signaler", "remercie de bien vouloir", "remercions de bien vouloir",
    "remercie par avance", "tiens a signaler", "tiens a vous signaler",
)
_ZERO_EN = (
    "thanks in advance", "thank you in advance", "thank you for your attention", "good morning",
    "good afternoon", "good evening", "good day", "goodbye", "good bye", "would appreciate",
    "d appreciate", "would love", "d love", "would be happy", "d be happy", "would be grateful",
    "d be grateful", "kind of", "kind regards", "best regards", "best wishes",
)

_POSITIVE_FR: dict[str, float] = {
    "nickel": 1.5, "au top": 1.5, "top": 1.0, "genial": 1.5, "geniale": 1.5, "super": 1.2, "parfait": 1.5,
    "parfaite": 1.5, "parfaitement": 1.0, "excellent": 1.5, "excellente": 1.5, "impeccable": 1.5,
    "formidable": 1.5, "merveilleux": 1.5, "extraordinaire": 1.5, "incroyable": 0.6, "bravo": 1.5,
    "felicitations": 1.5, "chapeau": 1.0, "merci": 0.5, "merci beaucoup": 1.5, "merci infiniment": 2.0,
    "mille mercis": 2.0, "mille merci": 2.0, "un grand merci": 2.0, "merci pour": 1.0,
    "merci de votre": 1.0, "merci pour votre": 1.0, "merci de m avoir": 1.2, "merci d avoir": 1.2,
    "merci encore": 1.2, "remercie": 1.0, "remercier": 1.0, "remercions": 1.0, "tiens a remercier": 1.8,
    "reconnaissant": 1.2, "reconnaissante": 1.2, "content": 1.0, "contente": 1.0, "contents": 1.0,
    "satisfait": 1.2, "satisfaite": 1.2, "satisfaits": 1.2, "satisfaction": 1.0, "ravi": 1.5, "ravie": 1.5,
    "ravis": 1.5, "heureux": 1.0, "heureuse": 1.0, "enchante": 1.0, "enchantee": 1.0, "efficace": 1.0,
    "efficaces": 1.0, "efficacite": 1.0, "rapide": 0.8, "rapides": 0.8, "rapidement": 0.6, "rapidite": 1.0,
    "reactif": 1.0, "reactive": 1.0, "reactivite": 1.0, "aimable": 1.0, "aimables": 1.0, "parfaits": 1.5,
    "parfaites": 1.5, "excellents": 1.5,
    "excellentes": 1.5, "geniaux": 1.5, "geniales": 1.5, "satisfaites": 1.2, "contentes": 1.0, "ravies": 1.5,
    "apprecie": 1.0, "appreciee": 1.0, "apprecies": 1.0, "j apprecie": 1.2, "geste commercial": 0.8, "gentil": 1.0,
    "gentille": 1.0, "gentils": 1.0, "gentilles": 1.0, "sympa": 1.0, "sympas": 1.0, "sympathique": 1.0,
    "agreable": 1.0, "chaleureux": 1.2,
    "chaleureuse": 1.2, "poli": 0.7, "polie": 0.7, "courtois": 1.0, "courtoise": 1.0, "professionnel": 0.8,
    "professionnelle": 0.8, "professionnalisme": 1.0, "competent": 1.0, "competente": 1.0,
    "serviable": 1.2, "a l ecoute": 1.0, "bien": 0.4, "bon": 0.4, "bonne": 0.5, "bonne qualite": 1.0,
    "tres bien": 1.2, "recommande": 1.0, "recommanderai": 1.0, "recommanderais": 1.0, "je recommande": 1.5,
    "rien a dire": 1.0, "rien a redire": 1.2, "cool": 0.8, "chouette": 1.0, "soulage": 1.0,
    "soulagee": 1.0, "plaisir": 0.8, "dans les temps": 0.8, "a l heure": 0.6, "en avance": 0.7,
    "comme prevu": 0.5, "conforme": 0.6, "soigne": 0.8, "soignee": 0.8, "resolu": 1.0, "resolue": 1.0,
    "regle": 0.5, "reglee": 0.5, "probleme regle": 1.5, "probleme resolu": 1.5, "c est regle": 1.0,
    "tout regle": 1.2, "a tout regle": 1.2, "repare": 1.0, "reparee": 1.0, "fonctionne a nouveau": 1.2,
    "marche a nouveau": 1.2, "remarche": 1.2, "refonctionne": 1.2, "tout fonctionne": 1.0,
    "tout marche": 1.0, "tout est rentre dans l ordre": 1.5, "pas mal": 0.8, "pas trop mal": 0.8,
    "sans probleme": 0.8, "jamais eu de probleme": 1.0, "jamais eu de souci": 1.0, "jamais eu de soucis": 1.0,
    "jamais eu aucun probleme": 1.0, "sans souci": 0.8, "aucun probleme": 0.8, "aucun souci": 0.8,
    "pas de probleme": 0.4, "pas de souci": 0.4, "fiable": 1.0, "pratique": 0.6, "facile": 0.6,
    "simple": 0.4, "clair": 0.5, "claire": 0.5, "fidele": 0.6, "top du top": 2.0, "trop bien": 1.5,
    "que du bonheur": 2.0, "nickel chrome": 2.0, "le top": 1.5,
    # qualities of a product
    "confortable": 1.0, "confortables": 1.0, "doux": 0.8, "douce": 0.8, "douces": 0.8, "solide": 0.8,
    "solides": 0.8, "silencieux": 0.8, "silencieuse": 0.8, "puissant": 0.8, "puissante": 0.8,
    "leger": 0.4, "legere": 0.4, "elegant": 1.0, "elegante": 1.0, "beau": 0.8, "belle": 0.8,
    "beaux": 0.8, "belles": 0.8, "superbe": 1.5, "superbes": 1.5, "magnifique": 1.5, "magnifiques": 1.5,
    "joli": 0.8, "jolie": 0.8, "delicieux": 1.2, "delicieuse": 1.2, "adore": 1.5, "j adore": 1.8,
    "on adore": 1.8, "resistant": 0.6, "resistante": 0.6, "bien fini": 1.0, "bien finie": 1.0,
    "bien fait": 0.8, "bien faite": 0.8, "encore plus": 0.4, "rien a voir avec l ancien": 1.0,
    "amabilite": 1.2, "gentillesse": 1.2, "merci a": 1.0, "acceptable": 0.5, "ponctualite": 0.8,
}
_NEGATIVE_FR: dict[str, float] = {
    "inadmissible": -2.0, "scandaleux": -2.0, "scandaleuse": -2.0, "scandale": -2.0, "honteux": -2.0,
    "honteuse": -2.0, "une honte": -2.0, "honte": -1.5, "lamentable": -2.0, "inacceptable": -2.0,
    "intolerable": -2.0, "inconcevable": -1.5, "n importe quoi": -1.8, "ras le bol": -2.0, "marre": -1.8,
    "j en ai marre": -2.0, "en ai assez": -1.8, "furieux": -2.0, "furieuse": -2.0, "en colere": -1.8,
    "colere": -1.5, "degoute": -1.8, "degoutee": -1.8, "ecoeure": -1.8, "ecoeuree": -1.8, "exaspere": -1.8,
    "exasperee": -1.8, "excede": -1.8, "excedee": -1.8, "agace": -1.2, "agacee": -1.2, "enerve": -1.5,
    "enervee": -1.5, "decu": -1.5, "decue": -1.5, "decus": -1.5, "decues": -1.5, "deception": -1.5,
    "decevant": -1.5, "decevante": -1.5, "nul": -1.5, "nulle": -1.5, "nuls": -1.5, "nulles": -1.5, "catastrophe": -1.8,
    "catastrophique": -2.0, "horrible": -1.8, "desastreux": -2.0, "desastre": -2.0, "pire": -1.5,
    "minable": -1.8, "pitoyable": -1.8, "arnaque": -2.0, "arnaques": -2.0, "arnaquee": -2.0,
    "voleurs": -2.0, "voleur": -1.5, "escroc": -2.0, "escrocs": -2.0, "escroquerie": -2.0,
    "porter plainte": -2.0, "plainte": -1.2, "reclamation": -1.0, "mecontent": -1.5, "mecontente": -1.5,
    "mecontentement": -1.5, "insatisfait": -1.5, "insatisfaite": -1.5, "pas normal": -1.5,
    "anormal": -1.2, "incomprehensible": -1.2, "galere": -1.2, "cauchemar": -1.8, "regrette": -1.0,
    "dommage": -0.7, "malheureusement": -0.5, "probleme": -1.0, "problemes": -1.0, "souci": -0.8,
    "soucis": -0.8, "avais un probleme": -0.3, "avais un souci": -0.3, "avais eu un probleme": -0.3,
    "avais eu un souci": -0.3, "panne": -0.7, "en panne": -0.8, "casse": -0.8, "cassee": -0.8,
    "defectueux": -0.8, "defectueuse": -0.8, "abime": -0.8, "abimee": -0.8, "endommage": -0.8,
    "endommagee": -0.8, "retard": -0.8, "en retard": -0.8, "perdu": -0.8, "perdue": -0.8, "vole": -1.0,
    "volee": -1.0, "erreur": -0.7, "impossible": -0.8, "personne ne repond": -1.5,
    "personne ne decroche": -1.5, "raccroche au nez": -2.0, "raccroche": -0.6, "mal": -0.7,
    "mauvais": -1.0, "mauvaise": -1.0, "mauvaises": -1.0, "mauvaise qualite": -1.5, "lent": -0.8, "lente": -0.8,
    "lenteur": -1.0, "trop long": -1.2, "trop longue": -1.2, "trop longs": -1.2, "trop longues": -1.2,
    "trop longtemps": -1.2, "longue attente": -1.0, "interminable": -1.5, "interminables": -1.5, "trop cher": -1.2,
    "hors de prix": -1.5,
    "desagreable": -1.5, "desagreables": -1.5, "impolis": -1.5, "horribles": -1.8, "lamentables": -2.0,
    "scandaleuses": -2.0, "catastrophiques": -2.0, "decevants": -1.5, "decevantes": -1.5, "impoli": -1.5,
    "impolie": -1.5, "malpoli": -1.5, "malpolie": -1.5,
    "incompetent": -1.8, "incompetente": -1.8, "incompetents": -1.8, "incompetence": -1.8,
    "irrespectueux": -1.8, "meprisant": -1.8, "meprisante": -1.8, "mepris": -1.5, "agressif": -1.5,
    "agressive": -1.5, "odieux": -2.0, "odieuse": -2.0, "arrogant": -1.5, "arrogante": -1.5,
    "penible": -1.0, "inutile": -1.0, "choque": -1.2, "choquee": -1.2, "abusif": -1.5, "abusifs": -1.5,
    "abusive": -1.5, "abusives": -1.5, "debite deux fois": -1.5, "debite 2 fois": -1.5,
    "preleve deux fois": -1.5, "preleve 2 fois": -1.5, "toujours pas": -1.5,
    "toujours rien": -1.5, "toujours en attente": -1.2, "derniere fois que": -1.5, "plus jamais": -1.5,
    "resilier": -0.5, "resiliation": -0.5, "bloque": -0.8, "bloquee": -0.8, "sans raison": -1.0,
    "peux plus": -0.8, "peux pas": -0.5, "arrive plus": -1.0, "a tort": -1.2, "par erreur": -0.8,
    "injustifie": -1.2, "injustifies": -1.2, "injustifiee": -1.2, "injustifiees": -1.2,
    "mal renseigne": -1.2, "mal renseignee": -1.2, "mal informe": -1.2, "mal informee": -1.2,
    "fausses informations": -1.2, "fausse information": -1.2, "balade": -1.2, "baladee": -1.2,
    "de service en service": -1.2, "trempe": -0.8, "detruit": -1.2, "detruite": -1.2, "ecrase": -1.0,
    "ecrasee": -1.0, "changer d operateur": -1.2, "aller voir ailleurs": -1.5,
    "signaler": -0.5, "vous signaler": -0.6, "marche pas": -1.2, "marche plus": -1.2,
    "fonctionne pas": -1.2, "fonctionne plus": -1.2, "marchait pas": -1.2, "fonctionnait pas": -1.2,
    "repond pas": -1.2, "repond plus": -1.2, "s allume pas": -1.2, "s allume plus": -1.2,
    "demarre pas": -1.2, "demarre plus": -1.2, "arrive pas": -0.8, "comprends pas": -0.8,
    "comprend pas": -0.8, "non conforme": -1.2, "non resolu": -1.2, "non respecte": -1.2,
    "non rembourse": -1.2, "pas conforme": -1.2, "pas terrible": -1.2, "plante": -0.8, "bug": -0.8,
    "bugue": -0.8, "beug": -0.8, "beugue": -0.8, "bugs": -0.8, "echoue": -0.8, "echec": -0.8,
    "depuis des semaines": -0.8, "depuis des mois": -1.0, "ca fait ... semaines": -0.8,
    "ca fait ... mois": -1.0, "cela fait ... semaines": -0.8, "cela fait ... mois": -1.0, "que j attends": -0.6,
    "attends toujours": -1.5, "attends encore": -1.0, "attendons toujours": -1.5,
    "des heures": -0.6, "pendant une heure": -0.7, "pendant des heures": -1.0, "attendu ... heure": -1.0,
    "attendu ... heures": -1.2, "attendu ... minutes": -0.8, "mis en attente": -0.5,
    "injoignable": -1.2, "faire la queue": -0.5, "fait la queue": -0.5,
    "fuite": -0.6, "fuit": -0.6, "manque": -0.5, "manquant": -0.6, "manquante": -0.6, "trompe": -0.6,
    "mensonge": -1.5, "mensonges": -1.5, "menti": -1.5, "foutage de gueule": -2.0, "se fout": -1.8,
    "se moque": -1.5, "moquez": -1.5, "moquer": -1.2, "pas serieux": -1.5,
    # complaint acts: contesting, formal notice, escalation, a remedy demanded
    "conteste": -1.5, "contester": -1.5, "contestons": -1.5, "contestation": -1.2, "litige": -1.5,
    "mise en demeure": -2.0, "mets en demeure": -2.0, "met en demeure": -2.0, "mediateur": -1.5,
    "association de consommateurs": -1.5, "avocat": -1.2, "tribunal": -1.5, "action en justice": -1.8,
    "exige": -1.5, "exigeons": -1.5, "sans mon accord": -1.5, "sans mon consentement": -1.5,
    "sans mon autorisation": -1.5, "sans autorisation": -1.2, "sans prevenir": -1.0, "sans preavis": -1.0,
    "sans aucune explication": -1.2, "reclame": -0.5, "regulariser": -0.8, "regularisation": -0.6,
    "continuez a": -1.0, "continuez de": -1.0, "malgre mes relances": -1.5, "malgre mes appels": -1.5,
    "malgre mes demandes": -1.5, "malgre mes mails": -1.5, "deuxieme fois": -1.0, "troisieme fois": -1.2,
    "quatrieme fois": -1.5, "enieme fois": -1.5, "une fois de plus": -1.0, "encore une fois": -0.8,
    "de nouveau": -0.4, "a ce jour": -0.4, "toujours aucun": -1.5, "toujours aucune": -1.5,
    "n a toujours": -1.5, "facture* ... deux fois": -1.5, "facture* ... trois fois": -1.8,
    "preleve* ... deux fois": -1.5, "preleve* ... trois fois": -1.8, "deux factures": -0.8,
    "pas acceptable": -2.0, "refuse": -1.0, "refusee": -1.0, "refuses": -1.0, "refusent": -1.0,
    "m avait assure": -1.0, "m avait promis": -1.0, "m a promis": -0.8, "promis": -0.6, "cense": -0.6,
    "censee": -0.6, "ne correspond pas": -1.2, "correspond pas": -1.2, "ne ferme pas": -1.0,
    "ne ferme plus": -1.0, "dechirure": -0.8, "dechire": -0.8, "raye": -0.8, "rayure": -0.8,
    "coupure": -0.8, "coupures": -1.0, "coupe plusieurs fois": -1.2, "coupe tout le temps": -1.2,
    "depuis le premier jour": -0.6, "pour rien": -1.0, "j ai resilie": -0.6, "deja resilie": -1.2,
    "apres ma resiliation": -1.2, "apres avoir resilie": -1.2, "augmente sans": -1.2,
    "attends un rembours*": -1.0, "attends le rembours*": -1.0, "attends toujours le": -1.5,
    "maintenant on me dit": -1.0, "on me dit maintenant": -1.0, "mauvais modele": -1.0,
    "mauvaise taille": -0.8, "pas le bon": -1.0, "pas la bonne": -1.0,
    # a remedy asked for: faint alone ("comment me faire rembourser ?"), unhappy with a problem
    "rembourser": -0.5, "remboursement": -0.5, "remboursement integral": -1.0, "remplacement": -0.5,
    "annuler": -0.4, "annulation": -0.4, "dedommagement": -0.8, "indemnisation": -0.8,
    "alors que ... gratuit*": -1.2, "alors que ... offert*": -1.2, "alors que ... inclus*": -1.2,
    "dans les meilleurs delais": -0.3, "au plus tot": -0.3, "sans delai": -0.5, "immediatement": -0.4,
}
#: Neutral alone, negative when negated: "jamais reçu", "personne ne m'a rappelé", "pas de réponse".
_EVENTS_FR = (
    "recu", "recue", "recus", "recues", "arrive", "arrivee", "arrives", "arrivees", "livre", "livree",
    "livres", "livrees", "rembourse", "remboursee", "repondu", "rappele", "rappelee", "rappel", "traite",
    "traitee", "pris en compte", "fonctionne", "marche", "tenu", "tenue", "respecte", "respectee", "venu",
    "venue", "passe", "reponse", "reponses", "nouvelles", "nouvelle", "aide", "solution", "resultat",
    "souscrit", "souscrite", "accepte", "acceptee", "autorise", "demande", "commande", "emis", "emise",
    "effectue", "effectuee", "reconnais", "prevenu", "prevenue", "informe", "informee", "venu", "passe",
)

_POSITIVE_EN: dict[str, float] = {
    "great": 1.2, "great job": 2.0, "great service": 2.0, "brilliant": 1.5, "excellent": 1.5,
    "amazing": 1.5, "awesome": 1.5, "fantastic": 1.5, "wonderful": 1.5, "perfect": 1.5, "perfectly": 1.0,
    "superb": 1.5, "outstanding": 1.5, "lovely": 1.2, "good": 0.8, "nice": 0.8, "happy": 1.0,
    "pleased": 1.2, "delighted": 1.5, "satisfied": 1.2, "thrilled": 1.5, "glad": 0.8, "impressed": 1.2,
    "helpful": 1.2, "friendly": 1.0, "polite": 0.7, "kind": 0.7, "courteous": 1.0, "professional": 0.8,
    "efficient": 1.0, "quick": 0.7, "quickly": 0.6, "fast": 0.7, "prompt": 0.8, "promptly": 0.8,
    "smooth": 0.8, "smoothly": 0.8, "easy": 0.6, "reliable": 1.0, "knowledgeable": 1.0, "patient": 0.6,
    "sorted": 1.2, "sorted out": 1.2, "fixed": 1.0, "resolved": 1.0, "solved": 1.0, "repaired": 0.8,
    "works again": 1.2, "working again": 1.2, "works perfectly": 1.5, "works fine": 1.0, "thank you": 0.6,
    "thanks": 0.5, "thank you so much": 1.5, "thanks so much": 1.5, "thank you very much": 1.2,
    "thanks very much": 1.2, "many thanks": 1.2, "thanks a lot": 1.2, "thanks a million": 1.5,
    "thank you for": 1.0, "thanks for": 1.0, "much appreciated": 1.2, "appreciate": 1.0,
    "appreciated": 1.0, "grateful": 1.2, "recommend": 1.0, "would recommend": 1.2,
    "highly recommend": 1.8, "love": 1.2, "loved": 1.2, "love it": 1.5, "well done": 1.5, "top notch": 1.5,
    "spot on": 1.2, "on time": 0.7, "ahead of schedule": 1.0, "no issues": 0.6, "never had a problem": 1.0,
    "never had any problem": 1.0,
    "never had any problems": 1.0, "never had an issue": 1.0, "never had any issues": 1.0, "no complaints": 1.0,
    "can t complain": 1.0, "cant complain": 1.0, "not bad": 0.8, "not too bad": 0.7, "no problem": 0.4,
    "cheers": 0.3, "kudos": 1.5, "pleasure": 0.8, "best": 0.6, "the best": 1.2, "fine": 0.3,
    "in perfect condition": 1.5, "good condition": 1.0, "as described": 0.6, "good as new": 1.2,
    "relieved": 1.0, "went smoothly": 1.2, "above and beyond": 2.0, "exceeded": 1.0, "cool": 0.6,
    # qualities of a product
    "comfortable": 1.0, "comfy": 1.0, "soft": 0.8, "sturdy": 0.8, "solid": 0.6, "quiet": 0.6,
    "powerful": 0.8, "gorgeous": 1.5, "beautiful": 1.5, "stunning": 1.5, "elegant": 1.0, "pretty": 0.6,
    "stylish": 1.0, "well made": 1.2, "lightweight": 0.6, "delicious": 1.2, "durable": 0.8,
    "even better": 1.2, "better than": 0.6, "sounds amazing": 1.5, "looks great": 1.5, "fits perfectly": 1.5,
    "really appreciate it": 1.2, "love how": 1.0, "love that": 1.0,
}
_NEGATIVE_EN: dict[str, float] = {
    "terrible": -1.5, "awful": -1.5, "horrible": -1.5, "appalling": -2.0, "disgusting": -2.0,
    "disgraceful": -2.0, "disgrace": -2.0, "shocking": -1.5, "outrageous": -2.0, "ridiculous": -1.5,
    "unacceptable": -2.0, "furious": -2.0, "angry": -1.5, "livid": -2.0, "fuming": -2.0, "annoyed": -1.2,
    "annoying": -1.2, "irritated": -1.2, "frustrated": -1.2, "frustrating": -1.2, "fed up": -1.8,
    "sick of": -1.5, "sick and tired": -2.0, "disappointed": -1.5, "disappointing": -1.5,
    "disappointment": -1.5, "let down": -1.2, "unhappy": -1.5, "dissatisfied": -1.5, "upset": -1.2,
    "poor": -1.0, "poorly": -1.0, "bad": -1.0, "worst": -2.0, "worse": -1.0, "useless": -1.5,
    "rubbish": -1.5, "crap": -1.5, "joke": -1.0, "a joke": -1.5, "nightmare": -1.5, "shambles": -1.5,
    "scam": -2.0, "rip off": -2.0, "ripped off": -2.0, "waste of time": -1.5, "waste of money": -1.5,
    "complaint": -1.0, "complain": -1.0, "formal complaint": -1.8, "problem": -1.0, "problems": -1.0,
    "had a problem": -0.3, "had an issue": -0.3, "had a small problem": -0.3, "issue": -0.7,
    "issues": -0.7, "wrong": -0.8, "mistake": -0.8, "error": -0.6, "broken": -0.8, "broke": -0.6,
    "broke down": -1.0, "faulty": -0.8, "damaged": -0.8, "defective": -0.8, "cracked": -0.8,
    "late": -0.7, "delayed": -0.7, "lost": -0.8, "missing": -0.7, "slow": -0.8, "rude": -1.8,
    "unhelpful": -1.5, "incompetent": -1.8, "impolite": -1.5, "unprofessional": -1.5,
    "condescending": -1.5, "arrogant": -1.5, "hung up on me": -2.0, "hung up": -1.0,
    "unfortunately": -0.5, "sadly": -0.5, "still waiting": -1.5, "still not": -1.5, "still haven t": -1.5,
    "still hasn t": -1.5, "still havent": -1.5, "still hasnt": -1.5, "still no": -1.5, "still nothing": -1.5,
    "still doesn t": -1.5, "still don t": -1.5, "still isn t": -1.5, "yet again": -1.2, "again": -0.3,
    "never again": -1.5, "last time i": -1.2, "cancel my": -0.5, "clueless": -1.5, "kept transferring": -1.2,
    "transferred ... times": -1.2, "passed around": -1.2, "ruined": -1.2, "soaked": -0.8, "smashed": -1.2,
    "unable to": -0.8, "can t log in": -1.0, "cant log in": -1.0, "can t access": -1.0, "locked out": -1.0,
    "blocked": -0.8, "for no reason": -1.0, "been waiting": -1.0, "wrongly": -1.2, "by mistake": -0.8,
    "switch provider": -1.2,
    "too long": -1.2, "too expensive": -1.2, "overpriced": -1.2, "overcharged": -1.5,
    "charged twice": -1.5, "double charged": -1.5, "charged me twice": -1.5, "regret": -1.0,
    "hate": -1.8, "hated": -1.8, "pathetic": -2.0, "dreadful": -1.8, "abysmal": -2.0, "mess": -1.0,
    "messed up": -1.2, "ignored": -1.2, "ignoring": -1.2, "can t get through": -1.2,
    "cant get through": -1.2, "couldn t get through": -1.2, "impossible": -0.8, "unreachable": -1.2,
    "inconvenience": -0.7, "hassle": -1.0, "unreliable": -1.2, "misleading": -1.2, "lied": -1.5,
    "lying": -1.2, "lies": -1.2, "took ages": -1.2, "ages": -0.5, "took forever": -1.2, "forever": -0.5,
    "for hours": -0.8, "waited ... hour": -1.0, "waited ... hours": -1.2, "waited ... minutes": -0.8,
    "waiting ... minutes": -0.8, "on hold": -0.5, "on hold for": -0.8, "kept me on hold": -1.2,
    "for weeks": -0.6, "for months": -0.8, "crash": -0.8, "crashes": -0.8,
    "crashing": -0.8, "crashed": -0.8, "keeps crashing": -1.2, "glitch": -0.8, "buggy": -1.0,
    "bug": -0.6, "is down": -0.8, "down again": -1.0, "doesn t work": -1.2, "doesnt work": -1.2,
    "does not work": -1.2, "not working": -1.2, "no longer works": -1.2, "stopped working": -1.2,
    "won t work": -1.2, "won t turn on": -1.2, "fell apart": -1.2, "not as described": -1.2,
    "failed": -0.8, "fails": -0.8, "stolen": -1.0, "not good enough": -1.5, "not acceptable": -2.0,
    "leaking": -0.9, "leaks": -0.9, "confused": -0.6, "don t understand": -0.8,
    # complaint acts: disputing, formal notice, escalation, a remedy demanded
    "dispute": -1.5, "disputing": -1.5, "contest": -1.2, "formal notice": -2.0, "ombudsman": -1.5,
    "small claims": -1.8, "legal action": -1.8, "solicitor": -1.2, "lawyer": -1.2, "trading standards": -1.5,
    "i expect": -1.0, "we expect": -1.0, "i demand": -1.5, "i insist": -1.0, "i request that": -0.6,
    "without my consent": -1.5, "without my permission": -1.5, "without my authorisation": -1.5,
    "without my authorization": -1.5, "without authorisation": -1.2, "without authorization": -1.2,
    "without notice": -1.0, "without any notice": -1.0, "without warning": -1.0, "without any warning": -1.0,
    "without explanation": -1.2, "without any explanation": -1.2, "have been charged": -0.8,
    "has been charged": -0.8, "was charged": -0.5, "charged me": -0.5, "charging me": -0.6,
    "charged ... twice": -1.5, "charged ... three times": -1.8, "billed twice": -1.5,
    "you continue to": -1.0, "you keep": -0.8, "continue to charge": -1.2, "keep charging": -1.2,
    "the second time": -0.8, "the third time": -1.2, "the fourth time": -1.5, "the fifth time": -1.5,
    "second time": -0.6, "third time": -1.2, "fourth time": -1.5, "once again": -0.8, "yet another": -1.0,
    "month running": -1.0, "months running": -1.0, "in a row": -0.8, "not yet": -0.8, "as yet": -0.4,
    "to date": -0.4, "unanswered": -1.2, "still unanswered": -1.5, "promised": -0.8, "promise": -0.5,
    "supposed to": -0.8, "refused": -1.0, "refuses": -1.0, "declined": -0.6, "i cancelled": -0.6,
    "i canceled": -0.6, "after i cancelled": -1.2, "after i canceled": -1.2, "already cancelled": -1.2,
    "already canceled": -1.2, "has increased": -0.5, "have increased": -0.5, "gone up": -0.5,
    "now you re saying": -1.0, "now you say": -1.0, "now you tell me": -1.0, "now they say": -1.0,
    "for nothing": -1.0, "crushed": -0.8, "scratch": -0.6, "deep scratch": -1.0, "dented": -0.8,
    "torn": -0.8, "ripped": -0.8, "stained": -0.8, "fault": -0.6, "missed": -0.6, "missed delivery": -1.0,
    "logged me out": -0.8, "cut out": -0.8, "keeps dropping": -1.2, "outage": -0.8, "without internet": -1.2,
    "no internet": -1.0, "wrong size": -0.8, "wrong item": -1.2, "wrong one": -1.0,
    # a remedy asked for: faint alone ("how do I get a refund?"), unhappy with a problem
    "refund": -0.5, "full refund": -1.0, "partial refund": -0.8, "money back": -0.6, "reimburse": -0.5,
    "reimbursed": -0.5, "replacement": -0.5, "compensation": -0.8, "cancel the contract": -0.6,
    "at your earliest convenience": -0.3, "as soon as possible": -0.3, "immediately": -0.4,
    "queued": -0.5, "half an hour": -0.6, "without delay": -0.5, "without further delay": -0.8,
}
_EVENTS_EN = (
    "received", "arrived", "delivered", "refunded", "answered", "responded", "replied", "called back",
    "called me back", "call me back", "got back to me", "get back to me", "heard back", "heard anything",
    "heard from", "response", "reply", "answer", "update", "news", "work", "works", "working", "worked",
    "turned up", "showed up", "came", "help", "helped", "resolution", "solution", "followed up",
    "agreed", "authorised", "authorized", "signed up", "subscribed", "recognise", "recognize", "turn up",
    "show up", "arrive", "appear", "appeared", "receive", "respond", "reply", "informed", "told",
    "notified", "processed",
)

#: A contrast: cues before it count less than the ones after it.
_CONTRASTS_FR = ("mais", "cependant", "pourtant", "neanmoins", "toutefois", "par contre", "en revanche",
                 "sauf que", "malgre tout", "bref")
_CONTRASTS_EN = ("but", "however", "though", "nevertheless", "nonetheless", "except that", "that said",
                 "in the end", "anyway")

#: Negator -> how many words before a cue it reaches.
_NEGATORS_FR: Mapping[str, int] = {"pas": 3, "jamais": 3, "ne": 3, "n": 3, "rien": 2, "aucun": 3,
                                   "aucune": 3, "sans": 2, "ni": 2, "guere": 2, "personne": 1}
_NEGATORS_EN: Mapping[str, int] = {
    "not": 3, "never": 3, "no": 2, "nothing": 2, "nobody": 3, "none": 2, "neither": 2, "nor": 2,
    "without": 2, "hardly": 2, "barely": 2, "t": 3, "cannot": 3, "dont": 3, "doesnt": 3, "didnt": 3,
    "isnt": 3, "wasnt": 3, "cant": 3, "wont": 3, "havent": 3, "hasnt": 3, "arent": 3, "werent": 3,
    "couldnt": 3, "wouldnt": 3, "shouldnt": 3, "aint": 3,
}
_INTENSIFIERS_FR = frozenset({"tres", "vraiment", "trop", "tellement", "super", "hyper", "extremement",
                              "totalement", "completement", "absolument", "particulierement", "vachement",
                              "carrement", "franchement", "profondement", "archi", "ultra", "si"})
_INTENSIFIERS_EN = frozenset({"very", "really", "so", "extremely", "absolutely", "totally", "completely",
                              "incredibly", "super", "truly", "utterly", "deeply", "highly", "seriously",
                              "too", "terribly", "awfully", "genuinely", "most"})
#: Words that make a phrase carry its own negation ("ne s'allume plus", "no longer works") without
#: being negators themselves ("plus rapide" is not negated).
_NEGATION_WORDS = frozenset({"plus", "longer", "nobody", "personne", "non", "t"})
#: Words that end a negation's reach (with . ! ? ; : , in the text).
_CLAUSE_BREAKS = frozenset({"mais", "et", "car", "parce", "donc", "puis", "alors", "ensuite", "sinon",
                            "but", "and", "because", "then", "however", "otherwise", "cependant", "pourtant"})

_FUNCTION_WORDS_FR = frozenset({"le", "la", "les", "un", "une", "des", "du", "de", "et", "est", "je", "j",
                                "ai", "pas", "que", "qui", "il", "elle", "nous", "vous", "mon", "ma", "mes",
                                "ce", "c", "ca", "cette", "pour", "dans", "sur", "avec", "au", "aux", "ne",
                                "n", "d", "l", "qu", "suis", "sont", "mais", "tres", "votre", "vos", "depuis",
                                "toujours", "bonjour", "merci", "oui", "non", "ou", "deux", "fois", "ete"})
_FUNCTION_WORDS_EN = frozenset({"the", "and", "is", "i", "to", "of", "it", "my", "you", "was", "not", "for",
                                "with", "have", "has", "that", "this", "but", "are", "at", "from", "your",
                                "we", "they", "he", "she", "there", "been", "do", "did", "very", "what",
                                "how", "can", "would", "please", "hello", "hi", "thank", "thanks", "yes",
                                "had", "after", "when", "still", "because", "got", "were", "be", "an"})

#: Whisper sometimes drops the apostrophe: read these as the two words they stand for.
_GLUED = {"cest": ("c", "est"), "jai": ("j", "ai"), "javais": ("j", "avais"), "jetais": ("j", "etais"),
          "nest": ("n", "est"), "nai": ("n", "ai"), "navait": ("n", "avait"), "jen": ("j", "en"),
          "quil": ("qu", "il"), "jattends": ("j", "attends"), "jarrive": ("j", "arrive"),
          "jaurais": ("j", "aurais"), "mavez": ("m", "avez"), "mont": ("m", "ont"),
          "mavait": ("m", "avait"), "sest": ("s", "est")}

_THRESHOLD = 0.75  # |balance| from which a text is satisfied or unhappy
_EVEN = 0.2  # a smaller balance between satisfied and unhappy cues is a draw
_CONTRAST_DISCOUNT = 0.5  # per contrast ("mais", "but") said after the cue
_INTENSITY = 1.5
_NEGATED_POSITIVE = -0.9  # "pas content": a positive cue negated, but never weaker than -_THRESHOLD
_NEGATED_NEGATIVE = -0.5  # "pas déçu": a negative cue negated is only mildly positive
_NEGATED_EVENT = -1.2

#: Praise that is often ironic: said of a problem, with no contrast and no other praise, it is read
#: as a complaint ("génial, encore une coupure", "well done, a third missed delivery").
_IRONIC = frozenset({
    "genial", "geniale", "super", "parfait", "parfaite", "excellent", "excellente", "formidable", "merveilleux",
    "bravo", "felicitations", "chapeau", "top", "au top", "rapidite", "ponctualite", "efficacite",
    "reactivite", "professionnalisme", "great", "brilliant", "wonderful", "fantastic",
    "perfect", "superb", "amazing", "awesome", "lovely", "well done", "great job", "great service", "love",
    "kudos", "really appreciate it", "love how", "love that",
})
#: Thanks that are ironic only next to a repetition ("encore", "again") or another ironic cue.
_IRONIC_THANKS = frozenset({
    "merci", "merci beaucoup", "merci pour", "merci bien", "mille mercis", "thanks", "thanks a lot",
    "thank you", "thanks a million", "thanks for", "thank you for", "cheers", "many thanks",
})
#: Repetition, which turns a thank-you said of a problem into irony.
_REPETITION = frozenset({"encore", "again", "another", "nouveau", "nouvelle", "enieme", "troisieme"})
_IRONY_MIN_PROBLEM = 0.6  # the unhappy weight from which praise without a contrast reads as irony


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------

# A word: a letter or digit, then letters, digits and combining marks (text in NFD keeps its offsets).
_WORD = re.compile(r"[^\W_]+(?:[\u0300-\u036f]+[^\W_]*)*")
_BREAK_CHARS = re.compile(r"[.!?;:,\n\u2026]")


#: Letters that Unicode does not decompose into a base letter and marks.
_SPECIAL_FOLD = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l",
                 "đ": "d", "ı": "i"}


def _fold_char(ch: str) -> str:
    if ch in _SPECIAL_FOLD:
        return _SPECIAL_FOLD[ch]
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_FOLD = {cp: _fold_char(chr(cp)) for cp in range(0x80, 0x250)}
_FOLD.update({cp: "" for cp in range(0x300, 0x370)})  # combining marks (text in NFD)


def _fold(word: str) -> str:
    word = word.lower()
    return word if word.isascii() else word.translate(_FOLD)


@dataclass(frozen=True, slots=True)
class _Tokens:
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    #: breaks[i]: punctuation between word i - 1 and word i
    breaks: tuple[bool, ...]


def _tokenize(text: str) -> _Tokens:
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    breaks: list[bool] = []
    previous_end = 0
    for match in _WORD.finditer(text):
        start, end = match.span()
        gap = text[previous_end:start]
        is_break = gap not in ("", " ") and _BREAK_CHARS.search(gap) is not None
        previous_end = end
        word = _fold(match.group())
        glued = _GLUED.get(word)
        for index, part in enumerate(glued or (word,)):
            words.append(part)
            spans.append((start, end))
            breaks.append(is_break and index == 0)
    return _Tokens(tuple(words), tuple(spans), tuple(breaks))


# ---------------------------------------------------------------------------------------------
# Phrase matching
# ---------------------------------------------------------------------------------------------

_GAP = ""  # a phrase element standing for 0 to _GAP_MAX words
_GAP_MAX = 3
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class _Element:
    text: str
    is_prefix: bool = False


@dataclass(frozen=True, slots=True)
class _Hit(Generic[P]):
    start: int  # first word
    end: int  # one past the last word
    payload: P


def _parse_phrase(phrase: str) -> tuple[_Element, ...]:
    elements: list[_Element] = []
    for part in phrase.split():
        if part == "...":
            elements.append(_Element(_GAP))
            continue
        is_prefix = part.endswith("*")
        words = [_fold(m.group()) for m in _WORD.finditer(part.rstrip("*"))]
        if not words:
            raise ValueError(f"empty word in phrase {phrase!r}")
        elements.extend(_Element(w) for w in words[:-1])
        elements.append(_Element(words[-1], is_prefix))
    if not elements or elements[0].text == _GAP or elements[-1].text == _GAP:
        raise ValueError(f"a phrase starts and ends with a word: {phrase!r}")
    return tuple(elements)


class _Matcher(Generic[P]):
    """All occurrences of many phrases in a list of words, indexed by their first word."""

    def __init__(self, phrases: Iterable[tuple[str, P]]) -> None:
        self._exact: dict[str, list[tuple[tuple[_Element, ...], P]]] = {}
        self._prefix: dict[str, list[tuple[tuple[_Element, ...], P]]] = {}
        for phrase, payload in phrases:
            elements = _parse_phrase(phrase)
            index = self._prefix if elements[0].is_prefix else self._exact
            index.setdefault(elements[0].text, []).append((elements, payload))
        self._prefix_lengths = tuple(sorted({len(p) for p in self._prefix}))

    def find(self, words: Sequence[str]) -> list[_Hit[P]]:
        hits: list[_Hit[P]] = []
        for i, word in enumerate(words):
            candidates = self._exact.get(word, [])
            for length in self._prefix_lengths:
                if length > len(word):
                    break
                more = self._prefix.get(word[:length])
                if more:
                    candidates = candidates + more
            for elements, payload in candidates:
                end = self._match(elements, 1, words, i + 1)
                if end >= 0:
                    hits.append(_Hit(i, end, payload))
        return hits

    def _match(self, elements: tuple[_Element, ...], k: int, words: Sequence[str], i: int) -> int:
        """Index one past the match of elements[k:] at words[i:], or -1 (a gap takes as few words as it can)."""
        if k == len(elements):
            return i
        element = elements[k]
        if element.text == _GAP:
            for skip in range(_GAP_MAX + 1):
                end = self._match(elements, k + 1, words, i + skip)
                if end >= 0:
                    return end
            return -1
        if i >= len(words):
            return -1
        word = words[i]
        if word == element.text or (element.is_prefix and word.startswith(element.text)):
            return self._match(elements, k + 1, words, i + 1)
        return -1


def _leftmost_longest(hits: Iterable[_Hit[P]]) -> list[_Hit[P]]:
    chosen: list[_Hit[P]] = []
    cursor = 0
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if hit.start >= cursor:
            chosen.append(hit)
            cursor = hit.end
    return chosen


# ---------------------------------------------------------------------------------------------
# Compiled lexicons (built once per language set and taxonomy)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Cue:
    kind: str  # "cue", "zero" (hides what it covers) or "contrast"
    weight: float = 0.0
    negated: float = 0.0
    #: the phrase holds its own negation ("ne marche pas"): a negator before it changes nothing
    is_self_negated: bool = False
    #: 1: praise often meant ironically, 2: thanks ironic only next to a repetition (see _IRONIC)
    irony: int = 0


@dataclass(frozen=True, slots=True)
class _Keyword:
    topic: int
    kind: str  # "strong", "weak", "stop" or "qualifier"


@dataclass(frozen=True, slots=True)
class _Language:
    """The sentiment lexicons of one language, as written above."""

    positive: Mapping[str, float]
    negative: Mapping[str, float]
    events: tuple[str, ...]
    zero: tuple[str, ...]
    contrasts: tuple[str, ...]
    negators: Mapping[str, int]
    intensifiers: frozenset[str]


_SENTIMENT_LEXICONS = {
    "fr": _Language(_POSITIVE_FR, _NEGATIVE_FR, _EVENTS_FR, _ZERO_FR, _CONTRASTS_FR, _NEGATORS_FR, _INTENSIFIERS_FR),
    "en": _Language(_POSITIVE_EN, _NEGATIVE_EN, _EVENTS_EN, _ZERO_EN, _CONTRASTS_EN, _NEGATORS_EN, _INTENSIFIERS_EN),
}


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """The sentiment lexicons of one or more languages, compiled."""

    cues: _Matcher[_Cue]
    negators: Mapping[str, int]
    intensifiers: frozenset[str]


def _cue(phrase: str, weight: float, negators: Mapping[str, int]) -> _Cue:
    words = {e.text for e in _parse_phrase(phrase)}
    is_self_negated = any(w in negators or w in _NEGATION_WORDS for w in words)
    if weight > 0:
        negated = min(weight * _NEGATED_POSITIVE, -_THRESHOLD)
    else:
        negated = weight * _NEGATED_NEGATIVE
    irony = 1 if phrase in _IRONIC else 2 if phrase in _IRONIC_THANKS else 0
    return _Cue("cue", weight, negated, is_self_negated, irony if weight > 0 else 0)


@lru_cache(maxsize=4)
def _lexicon(languages: tuple[str, ...]) -> _Lexicon:
    sources = [_SENTIMENT_LEXICONS[language] for language in languages]
    negators = {word: reach for source in sources for word, reach in source.negators.items()}
    entries: dict[str, _Cue] = {}
    for source in sources:
        for phrase in source.events:
            entries.setdefault(phrase, _Cue("cue", 0.0, _NEGATED_EVENT))
        for phrase, weight in (*source.positive.items(), *source.negative.items()):
            entries[phrase] = _cue(phrase, weight, negators)
        entries.update((phrase, _Cue("zero")) for phrase in source.zero)
        entries.update((phrase, _Cue("contrast")) for phrase in source.contrasts)
    intensifiers = frozenset().union(*(source.intensifiers for source in sources))
    return _Lexicon(_Matcher(entries.items()), negators, intensifiers)


@lru_cache(maxsize=32)
def _topic_matcher(taxonomy: tuple[Topic, ...], languages: tuple[str, ...]) -> _Matcher[_Keyword]:
    phrases: list[tuple[str, _Keyword]] = []
    for index, topic in enumerate(taxonomy):
        for language in languages:
            for keyword in topic.keywords_fr if language == "fr" else topic.keywords_en:
                kind = {"~": "weak", "!": "stop", "+": "qualifier"}.get(keyword[:1], "strong")
                phrases.append((keyword.lstrip("~!+"), _Keyword(index, kind)))
    return _Matcher(phrases)


# ---------------------------------------------------------------------------------------------
# Tagging
# ---------------------------------------------------------------------------------------------

def guess_language(text: str) -> str | None:
    """"fr" or "en" from counts of function words, or None when they don't tell (too short, a tie)."""
    return _guess(_tokenize(text).words)


def _guess(words: Sequence[str]) -> str | None:
    fr = sum(w in _FUNCTION_WORDS_FR for w in words)
    en = sum(w in _FUNCTION_WORDS_EN for w in words)
    if fr > en:
        return "fr"
    if en > fr:
        return "en"
    return None


def _languages(lang: str | None, words: Sequence[str]) -> tuple[str, ...]:
    code = lang.lower().replace("_", "-").split("-")[0] if lang else _guess(words)
    return (code,) if code in LANGUAGES else LANGUAGES


def tag(text: str, lang: str | None = None, taxonomy: Sequence[Topic] = DEFAULT_TAXONOMY) -> Tags:
    """Tag one text: the customer's sentiment, the topics it raises, and where in the text each was seen.

    ``lang`` is a language code ("fr", "en", "fr-FR"); None guesses it, and any other language uses
    both lexicons. Pure and thread-safe; the lexicons are compiled on first use.
    """
    tokens = _tokenize(text)
    languages = _languages(lang, tokens.words)
    evidence: dict[str, list[tuple[int, int]]] = {}
    topics = _find_topics(tokens, _topic_matcher(tuple(taxonomy), languages), taxonomy, evidence)
    sentiment, confidence = _find_sentiment(tokens, _lexicon(languages), evidence)
    # the learned model (worker/tagging/sentiment_model.py) backs the lexicon up: it overrides a neutral
    # (a factual complaint without emotional words) and, when sure, a feeling the lexicon misread
    from worker.tagging import sentiment_model

    signal = sentiment_model.LexiconSignal(sentiment, confidence, len(evidence.get(SATISFIED, ())),
                                           len(evidence.get(UNHAPPY, ())))
    probabilities = sentiment_model.model().predict_words(tokens.words, signal)
    sentiment, confidence = sentiment_model.combine(signal, probabilities)
    return Tags(sentiment, confidence, topics, {key: sorted(set(spans)) for key, spans in evidence.items()})


def _span(tokens: _Tokens, start: int, end: int) -> tuple[int, int]:
    return tokens.spans[start][0], tokens.spans[end - 1][1]


def _find_topics(tokens: _Tokens, matcher: _Matcher[_Keyword], taxonomy: Sequence[Topic],
                 evidence: dict[str, list[tuple[int, int]]]) -> tuple[str, ...]:
    by_topic: dict[int, list[_Hit[_Keyword]]] = {}
    for hit in matcher.find(tokens.words):
        by_topic.setdefault(hit.payload.topic, []).append(hit)
    strong: dict[int, list[_Hit[_Keyword]]] = {}
    weak: dict[int, list[_Hit[_Keyword]]] = {}
    for index, hits in by_topic.items():
        # a stop phrase hides the keywords of its own topic that it overlaps ("de retour" is not a return)
        stops = [(h.start, h.end) for h in hits if h.payload.kind == "stop"]
        kept = [h for h in hits if h.payload.kind != "stop" and not any(h.start < e and s < h.end for s, e in stops)]
        qualified = any(h.payload.kind == "qualifier" for h in kept)
        for hit in _leftmost_longest(h for h in kept if h.payload.kind != "qualifier"):
            # a quality said of a product's name makes the name a plain keyword ("le canapé est confortable")
            is_strong = hit.payload.kind == "strong" or qualified
            (strong if is_strong else weak).setdefault(index, []).append(hit)
    found = strong or weak
    for index, hits in found.items():
        evidence[taxonomy[index].id] = [_span(tokens, h.start, h.end) for h in hits]
    return tuple(taxonomy[index].id for index in sorted(found))


def _find_sentiment(tokens: _Tokens, lexicon: _Lexicon,
                    evidence: dict[str, list[tuple[int, int]]]) -> tuple[str, float]:
    words = tokens.words
    hits = _leftmost_longest(lexicon.cues.find(words))
    contrasts = [h.start for h in hits if h.payload.kind == "contrast"]
    cues = [h for h in hits if h.payload.kind == "cue"]
    # "super déçu", "super rapide": "super" says how much, not what
    boosted: set[int] = set()
    scored: list[tuple[float, tuple[int, int], int]] = []  # weight, evidence span, irony
    previous_end = 0  # a negation reaches back no further than the previous cue
    for n, hit in enumerate(cues):
        is_next_a_cue = n + 1 < len(cues) and cues[n + 1].start == hit.end
        if is_next_a_cue and hit.end - hit.start == 1 and words[hit.start] in lexicon.intensifiers:
            boosted.add(n + 1)
            continue
        cue = hit.payload
        start = hit.start
        weight = cue.weight
        negator = None if cue.is_self_negated else _negator_before(tokens, start, previous_end, lexicon.negators)
        previous_end = hit.end
        if negator is not None:
            weight = cue.negated
            start = negator
        if weight == 0:
            continue
        if n in boosted or _is_intensified(tokens, hit.start, lexicon.intensifiers):
            weight *= _INTENSITY
        weight *= _CONTRAST_DISCOUNT ** sum(1 for c in contrasts if c > hit.start)
        scored.append((weight, _span(tokens, start, hit.end), cue.irony if negator is None else 0))
    if not contrasts and _is_ironic(scored, any(w in _REPETITION for w in words)):
        scored = [(-abs(weight) if irony else weight, span, irony) for weight, span, irony in scored]
    positive = negative = 0.0
    last_sign = 0
    for weight, span, _ in scored:
        if weight > 0:
            positive += weight
        else:
            negative -= weight
        last_sign = 1 if weight > 0 else -1
        evidence.setdefault(SATISFIED if weight > 0 else UNHAPPY, []).append(span)
    return _decide(positive, negative, last_sign)


def _is_ironic(scored: Sequence[tuple[float, tuple[int, int], int]], repeats: bool) -> bool:
    """Praise said of a problem, with no other praise: "bravo pour la ponctualité, trois jours de retard"."""
    problem = sum(-w for w, _, _ in scored if w < 0)
    sincere = sum(w for w, _, irony in scored if w > 0 and not irony)
    exclaims = any(irony == 1 for w, _, irony in scored if w > 0)
    thanks = any(irony == 2 for w, _, irony in scored if w > 0)
    return problem >= _IRONY_MIN_PROBLEM and sincere <= 0.5 and (exclaims or (thanks and repeats))


def _negator_before(tokens: _Tokens, start: int, limit: int, negators: Mapping[str, int]) -> int | None:
    """Index of the negator reaching the cue at ``start``, if any (not before ``limit``, nor across a clause break)."""
    for j in range(start - 1, max(start - 4, limit - 1), -1):
        if tokens.breaks[j + 1] or tokens.words[j] in _CLAUSE_BREAKS:
            return None
        reach = negators.get(tokens.words[j])
        if reach is not None and start - j <= reach:
            if tokens.words[j] == "t" and j > 0 and tokens.spans[j][0] - tokens.spans[j - 1][1] == 1:
                return j - 1  # "haven't": the whole word, not its "t"
            return j
    return None


def _is_intensified(tokens: _Tokens, start: int, intensifiers: frozenset[str]) -> bool:
    for j in range(start - 1, max(start - 3, -1), -1):
        if tokens.breaks[j + 1]:
            return False
        if tokens.words[j] in intensifiers:
            return True
    return False


def _decide(positive: float, negative: float, last_sign: int) -> tuple[str, float]:
    total = positive + negative
    balance = positive - negative
    if total < _THRESHOLD:
        # nothing, or a faint cue (a closing "merci"): neutral, surer when there is nothing at all
        return NEUTRAL, round(0.9 - 0.4 * total / _THRESHOLD, 3)
    # mixed feelings: the balance decides, or the customer's last word when it is nearly even
    sign = (1 if balance > 0 else -1) if abs(balance) >= _EVEN else last_sign
    margin = max(abs(balance), _EVEN)
    strength = 1 - math.exp(-margin)
    purity = margin / total  # 1 when every cue points the same way, low for mixed feelings
    return (SATISFIED if sign > 0 else UNHAPPY), round(0.5 + 0.5 * strength * purity, 3)
