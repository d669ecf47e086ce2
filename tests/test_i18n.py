"""The French catalog is complete and correct (STYLE §7): every string the code and templates
ask for has a French translation, nothing is fuzzy, placeholders survive translation, and the
compiled catalog really answers in French.

The strings are extracted afresh, with bin/i18n's own keywords, so a string added without
running bin/i18n fails here rather than showing up in English in production.
"""

from __future__ import annotations

import re
import runpy
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = ROOT / "webapp" / "translations"
PYBABEL = Path(sys.executable).with_name("pybabel")

# One placeholder: %(name)s, %(num)d, %%, or a positional %s / %d.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +\-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _keywords() -> list[str]:
    """The extraction keywords, read from bin/i18n so that the two never disagree."""
    script = (ROOT / "bin" / "i18n").read_text(encoding="utf-8")
    match = re.search(r"^KEYWORDS=\((.*)\)$", script, re.MULTILINE)
    assert match, "bin/i18n no longer defines KEYWORDS=(...)"
    return shlex.split(match.group(1))


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _messages(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def _key(message: Message) -> str:
    return str(message.id[0] if isinstance(message.id, (list, tuple)) else message.id)


def _forms(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return [""]
    if isinstance(value, str):
        return [value]
    return list(value)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """What `pybabel extract` finds in the code and templates right now."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    result = subprocess.run(
        [str(PYBABEL), "extract", "-F", "babel.cfg", *_keywords(), "--sort-output", "-o", str(pot), "."],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    catalog = _read(pot)
    assert len(_messages(catalog)) > 50, "extraction found almost nothing: is babel.cfg right?"
    return catalog


@pytest.fixture(scope="module")
def french() -> Catalog:
    return _read(CATALOGS / "fr" / "LC_MESSAGES" / "messages.po", locale="fr")


def test_every_extracted_message_has_a_french_translation(extracted: Catalog, french: Catalog) -> None:
    problems = []
    for message in _messages(extracted):
        translated = french.get(message.id, message.context)
        if translated is None:
            problems.append(f"missing       {_key(message)!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy         {_key(message)!r}")
        elif not all(_forms(translated.string)):
            problems.append(f"untranslated  {_key(message)!r}")
    assert not problems, (
        f"{len(problems)} message(s) lack a French translation; run bin/i18n, then translate them in "
        "webapp/translations/fr/LC_MESSAGES/messages.po:\n" + "\n".join(problems)
    )


def test_french_catalog_is_not_fuzzy_and_has_french_plurals(french: Catalog) -> None:
    assert not french.fuzzy, "the catalog header is marked fuzzy: pybabel compile would skip it"
    assert french.plural_forms == "nplurals=2; plural=(n > 1);"
    fuzzy = [_key(message) for message in _messages(french) if message.fuzzy]
    assert fuzzy == []
    wrong_count = [_key(m) for m in _messages(french) if m.pluralizable and len(_forms(m.string)) != 2]
    assert wrong_count == []


def test_french_placeholders_match_the_english_ones(french: Catalog) -> None:
    problems = []
    for message in _messages(french):
        expected = {p for msgid in _forms(message.id) for p in PLACEHOLDER.findall(msgid)}
        forms = [form for form in _forms(message.string) if form]  # empty: the test above says so
        used: set[str] = set()
        for form in forms:
            found = set(PLACEHOLDER.findall(form))
            used |= found
            # A plural form may leave out a placeholder (say "une heure"), never invent one.
            if found - expected or (not message.pluralizable and found != expected):
                problems.append(f"{_key(message)!r}: expected {sorted(expected)}, got {sorted(found)} in {form!r}")
            # A lone "%" would break rendering: Jinja always %-formats translated strings.
            if "%" in PLACEHOLDER.sub("", form):
                problems.append(f"{_key(message)!r}: stray '%' in {form!r} (write %% for a percent sign)")
        if forms and message.pluralizable and used != expected:
            problems.append(f"{_key(message)!r}: no form uses {sorted(expected - used)}")
    assert not problems, "\n".join(problems)


def test_every_catalog_matches_the_code(extracted: Catalog) -> None:
    """messages.pot, fr and en are all current: bin/i18n was run after the last string change."""
    expected = {(_key(m), m.context) for m in _messages(extracted)}
    stale = []
    for path in [CATALOGS / "messages.pot", *sorted(CATALOGS.glob("*/LC_MESSAGES/messages.po"))]:
        have = {(_key(m), m.context) for m in _messages(_read(path))}
        if have != expected:
            added, removed = sorted(expected - have), sorted(have - expected)
            stale.append(f"{path.relative_to(ROOT)}: lacks {added}, has extra {removed}")
    assert {p.parent.parent.name for p in CATALOGS.glob("*/LC_MESSAGES/messages.po")} >= {"fr", "en"}
    assert not stale, "run bin/i18n:\n" + "\n".join(stale)


def test_compiled_french_catalog_answers_in_french(tmp_path: Path) -> None:
    po = tmp_path / "fr" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    shutil.copy(CATALOGS / "fr" / "LC_MESSAGES" / "messages.po", po)
    # pybabel compile also runs Babel's checkers (python-format placeholders, plural count).
    result = subprocess.run(
        [str(PYBABEL), "compile", "-d", str(tmp_path), "-l", "fr", "--statistics"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr

    translations = Translations.load(dirname=tmp_path, locales=["fr"])
    assert translations.gettext("Log in") == "Se connecter"
    assert translations.gettext("Customer room") == "Salle client"
    day = "%(num)d day", "%(num)d days"
    assert translations.ngettext(*day, 0) % {"num": 0} == "0 jour"
    assert translations.ngettext(*day, 1) % {"num": 1} == "1 jour"
    assert translations.ngettext(*day, 2) % {"num": 2} == "2 jours"


NBSP_BEFORE = re.compile(r"[^\u00a0\u202f]([:;!?»])(?=\s|$)")
PLAIN_AFTER_GUILLEMET = re.compile(r"«(?![\u00a0\u202f])")


def test_french_strings_have_a_no_break_space_before_high_punctuation(french: Catalog) -> None:
    """« : ; ! ? » take a no-break space before them in French (and « after), never a plain one that
    lets the sign wrap alone onto the next line. bin/french-typography fixes the catalog."""
    wrong = []
    for message in _messages(french):
        for text in _forms(message.string):
            # A colon glued to a word is code in our strings ("Authorization: Bearer").
            spaced = re.sub(r"\w:(?=\S)|\w: (?=Bearer|application/)", "", text)
            if re.search(r" [:;!?»]", spaced) or PLAIN_AFTER_GUILLEMET.search(spaced) or any(
                sign != ":" for sign in NBSP_BEFORE.findall(spaced)
            ):
                wrong.append(text)
    assert not wrong, f"{len(wrong)} French strings lack a no-break space, e.g. {wrong[:3]}"


def test_typography_fixer_puts_no_break_spaces_where_french_wants_them() -> None:
    script = ROOT / "bin" / "french-typography"
    typeset = runpy.run_path(str(script), run_name="french_typography")["typeset"]
    assert callable(typeset)
    assert typeset("Mot de passe oublié ?") == "Mot de passe oublié\u00a0?"
    assert typeset("Attention!") == "Attention\u00a0!"
    expected = "Le champ «\u00a0nom\u00a0»\u00a0: trop long\u00a0; désolé"
    assert typeset("Le champ « nom » : trop long ; désolé") == expected
    assert typeset("En-tête « Authorization: Bearer »") == "En-tête «\u00a0Authorization: Bearer\u00a0»"
    assert typeset("https://exemple.fr/?q=1") == "https://exemple.fr/?q=1"
