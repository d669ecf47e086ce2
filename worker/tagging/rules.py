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
  "le canapé est confortable" is about the product even when a delivery is named too) and a leading
  ``?`` (a passing keyword: what names a topic in passing rather than raises it, e.g. "pour ce prix"
  on a broken product, a polite driver in praise of a delivery, "trois semaines" said of anything).
  Overlapping matches keep the leftmost, then longest one.
- **Main topics and mentions.** A topic found by a plain keyword is a *main* topic, what the text
  is about; one found only by passing keywords is a *mention* when the text has a main topic, and a
  main topic when it has none ("pour ce prix, c'est correct" is about the price). Dashboards count
  main topics and show mentions apart.
- **Complaint expressions.** Phrases by which a customer makes a formal complaint or threatens to
  take it further ("je veux faire une réclamation", "je vais saisir le médiateur", "I want to file a
  complaint"), unless negated ("je ne veux pas faire de réclamation"): with an unhappy voice and a
  complaint reason, the complaint register proposes an oral complaint.
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
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Generic, TypeVar

from webapp.services.default_taxonomy import DEFAULT_TAXONOMY, Topic
from worker.tagging import lexicons

SATISFIED = "satisfied"
UNHAPPY = "unhappy"
NEUTRAL = "neutral"
LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class Tags:
    """What :func:`worker.tagging.tagger.tag` found in one text."""

    #: "satisfied", "unhappy" or "neutral"
    sentiment: str
    #: 0..1; low for mixed feelings or faint cues
    sentiment_confidence: float
    #: the main topics' ids (what the text is about), in taxonomy order
    topics: tuple[str, ...]
    #: character spans (start, end) in the original text that triggered each topic id (main or
    #: mention), and each sentiment ("satisfied" / "unhappy": the cues of that polarity, a negated
    #: cue spanning its negator, e.g. "pas content"); sorted, no duplicates; only keys with spans are present
    evidence: dict[str, list[tuple[int, int]]]
    #: the ids of topics named only in passing ("pour ce prix" on a broken product), in taxonomy
    #: order; never also in :attr:`topics`
    mentions: tuple[str, ...] = ()
    #: the complaint expressions said ("je veux faire une réclamation", "ombudsman"), as written in
    #: the text, in order, negated ones left out
    complaint_expressions: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Word lists (worker/tagging/data/*.toml) and weights
# ---------------------------------------------------------------------------------------------

#: Words that make a phrase carry its own negation ("ne s'allume plus") without being negators.
_NEGATION_WORDS = frozenset(lexicons.words("common", "negation_words"))
#: Words that end a negation's reach (with . ! ? ; : , in the text).
_CLAUSE_BREAKS = frozenset(lexicons.words("common", "clause_breaks"))
_FUNCTION_WORDS_FR = frozenset(lexicons.words("fr", "function_words"))
_FUNCTION_WORDS_EN = frozenset(lexicons.words("en", "function_words"))
#: Whisper sometimes drops the apostrophe: read these as the two words they stand for.
_GLUED = lexicons.splits("common", "glued")
#: Praise often meant ironically, thanks ironic only next to a repetition, and the repetitions.
_IRONIC = frozenset(lexicons.words("common", "ironic"))
_IRONIC_THANKS = frozenset(lexicons.words("common", "ironic_thanks"))
_REPETITION = frozenset(lexicons.words("common", "repetition"))
#: Words that open a condition: a negation inside one does not cancel the threat that follows.
_CONDITIONS = frozenset(("si", "if", "unless"))

_THRESHOLD = 0.75  # |balance| from which a text is satisfied or unhappy
_EVEN = 0.2  # a smaller balance between satisfied and unhappy cues is a draw
_CONTRAST_DISCOUNT = 0.5  # per contrast ("mais", "but") said after the cue
_INTENSITY = 1.5
_NEGATED_POSITIVE = -0.9  # "pas content": a positive cue negated, but never weaker than -_THRESHOLD
_NEGATED_NEGATIVE = -0.5  # "pas déçu": a negative cue negated is only mildly positive
_NEGATED_EVENT = -1.2
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
    kind: str  # "strong", "weak", "stop", "qualifier" or "passing"


@dataclass(frozen=True, slots=True)
class _Language:
    """The sentiment lexicons of one language (worker/tagging/data/<language>.toml)."""

    positive: Mapping[str, float]
    negative: Mapping[str, float]
    events: tuple[str, ...]
    zero: tuple[str, ...]
    contrasts: tuple[str, ...]
    negators: Mapping[str, int]
    intensifiers: frozenset[str]
    complaint_expressions: tuple[str, ...]


def _language(lang: str) -> _Language:
    return _Language(lexicons.weights(lang, "positive"), lexicons.weights(lang, "negative"),
                     lexicons.words(lang, "events"), lexicons.words(lang, "zero"), lexicons.words(lang, "contrasts"),
                     lexicons.reaches(lang, "negators"), frozenset(lexicons.words(lang, "intensifiers")),
                     lexicons.words(lang, "complaint_expressions"))


_SENTIMENT_LEXICONS = {lang: _language(lang) for lang in LANGUAGES}


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """The sentiment lexicons of one or more languages, compiled."""

    cues: _Matcher[_Cue]
    negators: Mapping[str, int]
    intensifiers: frozenset[str]
    complaint_expressions: _Matcher[str]


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
    expressions = _Matcher((phrase, phrase) for source in sources for phrase in source.complaint_expressions)
    return _Lexicon(_Matcher(entries.items()), negators, intensifiers, expressions)


@lru_cache(maxsize=32)
def _topic_matcher(taxonomy: tuple[Topic, ...], languages: tuple[str, ...]) -> _Matcher[_Keyword]:
    phrases: list[tuple[str, _Keyword]] = []
    for index, topic in enumerate(taxonomy):
        for language in languages:
            for keyword in topic.keywords_fr if language == "fr" else topic.keywords_en:
                kind = {"~": "weak", "!": "stop", "+": "qualifier", "?": "passing"}.get(keyword[:1], "strong")
                phrases.append((keyword.lstrip("~!+?"), _Keyword(index, kind)))
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


@dataclass(frozen=True, slots=True)
class Reading:
    """What the lexicon alone reads in one text (:func:`worker.tagging.tagger.tag` adds the learned model)."""

    #: the folded words, as the learned model reads them too
    words: tuple[str, ...]
    #: as :attr:`Tags.topics` and :attr:`Tags.mentions`
    topics: tuple[str, ...]
    mentions: tuple[str, ...]
    sentiment: str
    sentiment_confidence: float
    #: how many cues of each polarity were seen (repeats included)
    positive: int
    negative: int
    #: as :attr:`Tags.evidence`
    evidence: dict[str, list[tuple[int, int]]]
    #: as :attr:`Tags.complaint_expressions`
    complaint_expressions: tuple[str, ...] = ()
    #: per topic id found (main or mention), its keywords: ("strong" | "weak" | "passing", start, end),
    #: character spans in the original text, in order (what the learned topic model weighs)
    topic_cues: dict[str, tuple[tuple[str, int, int], ...]] = field(default_factory=dict)


def read(text: str, lang: str | None = None, taxonomy: Sequence[Topic] = DEFAULT_TAXONOMY) -> Reading:
    """Read one text with the lexicons: the customer's sentiment, the topics it raises, and where each was seen.

    ``lang`` is a language code ("fr", "en", "fr-FR"); None guesses it, and any other language uses
    both lexicons. Pure and thread-safe; the lexicons are compiled on first use.
    """
    tokens = _tokenize(text)
    languages = _languages(lang, tokens.words)
    evidence: dict[str, list[tuple[int, int]]] = {}
    cues: dict[str, tuple[tuple[str, int, int], ...]] = {}
    topics, mentions = _find_topics(tokens, _topic_matcher(tuple(taxonomy), languages), taxonomy, evidence, cues)
    lexicon = _lexicon(languages)
    sentiment, confidence = _find_sentiment(tokens, lexicon, evidence)
    return Reading(tokens.words, topics, mentions, sentiment, confidence, len(evidence.get(SATISFIED, ())),
                   len(evidence.get(UNHAPPY, ())), {key: sorted(set(spans)) for key, spans in evidence.items()},
                   _find_complaint_expressions(text, tokens, lexicon), cues)


def _span(tokens: _Tokens, start: int, end: int) -> tuple[int, int]:
    return tokens.spans[start][0], tokens.spans[end - 1][1]


def _find_topics(tokens: _Tokens, matcher: _Matcher[_Keyword], taxonomy: Sequence[Topic],
                 evidence: dict[str, list[tuple[int, int]]],
                 cues: dict[str, tuple[tuple[str, int, int], ...]] | None = None,
                 ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The main topics and the mentions (ids, in taxonomy order); their spans go into ``evidence``,
    and each topic's keywords with their kind into ``cues`` (see :attr:`Reading.topic_cues`)."""
    by_topic: dict[int, list[_Hit[_Keyword]]] = {}
    for hit in matcher.find(tokens.words):
        by_topic.setdefault(hit.payload.topic, []).append(hit)
    strong: dict[int, list[_Hit[_Keyword]]] = {}
    weak: dict[int, list[_Hit[_Keyword]]] = {}
    passing: dict[int, list[_Hit[_Keyword]]] = {}
    for index, hits in by_topic.items():
        # a stop phrase hides the keywords of its own topic that it overlaps ("de retour" is not a return)
        stops = [(h.start, h.end) for h in hits if h.payload.kind == "stop"]
        kept = [h for h in hits if h.payload.kind != "stop" and not any(h.start < e and s < h.end for s, e in stops)]
        qualified = any(h.payload.kind == "qualifier" for h in kept)
        for hit in _leftmost_longest(h for h in kept if h.payload.kind != "qualifier"):
            # a quality said of a product's name makes the name a plain keyword ("le canapé est confortable")
            kind = "strong" if qualified and hit.payload.kind == "weak" else hit.payload.kind
            {"strong": strong, "weak": weak, "passing": passing}[kind].setdefault(index, []).append(hit)
            if cues is not None:
                key = taxonomy[index].id
                cues[key] = (*cues.get(key, ()), (kind, *_span(tokens, hit.start, hit.end)))
    # the main topics: those named by plain keywords, else by weak ones, else by passing ones; a topic
    # named only in passing next to main topics is a mention, weak keywords next to plain ones nothing
    main = strong or weak or passing
    mentions = {index: hits for index, hits in passing.items() if index not in main}
    for index in main:
        hits = main[index] + (passing.get(index, []) if main is not passing else [])
        evidence[taxonomy[index].id] = [_span(tokens, h.start, h.end) for h in sorted(hits, key=lambda h: h.start)]
    for index, hits in mentions.items():
        evidence[taxonomy[index].id] = [_span(tokens, h.start, h.end) for h in hits]
    return (tuple(taxonomy[index].id for index in sorted(main)),
            tuple(taxonomy[index].id for index in sorted(mentions)))


def _find_complaint_expressions(text: str, tokens: _Tokens, lexicon: _Lexicon) -> tuple[str, ...]:
    """The complaint expressions said, as written, in order; a negator shortly before one cancels it."""
    said: list[str] = []
    for hit in _leftmost_longest(lexicon.complaint_expressions.find(tokens.words)):
        inside = any(w in lexicon.negators for w in tokens.words[hit.start + 1:hit.end])
        if inside or _negated_before(tokens, hit.start, lexicon.negators):
            continue
        start, end = _span(tokens, hit.start, hit.end)
        if text[start:end] not in said:
            said.append(text[start:end])
    return tuple(said)


def _negated_before(tokens: _Tokens, start: int, negators: Mapping[str, int]) -> bool:
    """A negator before ``start`` in the same clause, reaching two words further than before a cue: the
    verb of intent comes between ("je n'ai pas l'intention de porter plainte", "I don't want to file a
    complaint")."""
    for j in range(start - 1, max(start - 6, -1), -1):
        if tokens.breaks[j + 1] or tokens.words[j] in _CLAUSE_BREAKS:
            return False
        reach = negators.get(tokens.words[j])
        if reach is not None and start - j <= reach + 2:
            return not _in_condition(tokens, j)
    return False


def _in_condition(tokens: _Tokens, at: int) -> bool:
    """Whether the word at ``at`` belongs to a condition ("si rien ne bouge, je porte plainte")."""
    for j in range(at - 1, max(at - 5, -1), -1):
        word = tokens.words[j]
        if word in _CONDITIONS or (word == "s" and tokens.words[j + 1] in ("il", "ils")):
            return True
        if tokens.breaks[j + 1] or word in _CLAUSE_BREAKS:
            return False
    return False


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
