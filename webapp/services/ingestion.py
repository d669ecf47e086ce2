"""Ingestion: calls (audio) and written complaints arriving from the browser, the API or a CSV.

One service for every path in: the views and the API only translate requests into these calls.
A call is stored, probed, deduplicated and recorded with its processing job in one transaction;
anything refused or rolled back leaves no object in storage and no row behind.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp import jobs, search, storage
from webapp.audio import NotAudio, probe
from webapp.config import Settings
from webapp.db import after_rollback, utcnow
from webapp.errors import Conflict, UserError
from webapp.i18n import _, duration
from webapp.models import Call, CallStatus, Channel, Complaint, Consent, Source, User
from webapp.models.api_tokens import ApiToken
from webapp.services import products, register

MAX_TEXT = 20_000
PROCESS_CALL = "process_call"
_T = TypeVar("_T")
#: The error code of an external id sent again with other content (a recording, a text).
IDEMPOTENCY_CONFLICT = "idempotency_conflict"


@dataclass(frozen=True)
class VoiceMeta:
    """Validated metadata of a call or complaint."""

    received_at: datetime
    channel: Channel
    agent: str = ""
    product: str = ""
    customer_ref: str = ""
    consent: Consent = Consent.UNKNOWN
    language_hint: str = ""
    external_id: str | None = None


#: Half of a UTF-16 surrogate pair, which JSON may carry (``"\\ud800"``) but no encoding can store.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(text: str) -> str:
    """``text`` as the databases take it: without NUL (PostgreSQL refuses it in text), a lone surrogate as �."""
    return _LONE_SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def _text(raw: Mapping[str, str], key: str, label: str, max_length: int = 120) -> str:
    value = " ".join(_storable(str(raw.get(key) or "")).split())
    if len(value) > max_length:
        raise UserError(_("%(field)s is too long: %(max)d characters at most.", field=label, max=max_length),
                        f"{key}_too_long")
    return value


#: The earliest date received accepted: before it, a date is a typing mistake (or a probe of the calendar's edge).
FIRST_RECEIVED = datetime(1900, 1, 1, tzinfo=UTC)
#: dd/mm/yyyy, as French spreadsheets write dates, with an optional time (14:05, 14:05:30 or 14h05).
_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2})[:hH](\d{2})(?::(\d{2}))?)?")


def _received_at(raw: str, *, day_first: bool = False) -> datetime:
    """The date received: ISO 8601 (a date, or a date-time; UTC without an offset), and also dd/mm/yyyy
    with ``day_first`` (CSV files); now when empty. A :class:`UserError` says what is wrong."""
    raw = (raw or "").strip()
    if not raw:
        return utcnow()
    french = _DAY_FIRST.fullmatch(raw) if day_first else None
    try:
        if french:
            day, month, year, hour, minute, second = (int(g or 0) for g in french.groups())
            parsed = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        elif len(raw) == 10:
            parsed = datetime.combine(date.fromisoformat(raw), datetime.min.time(), tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        message = (_("The date “%(value)s” is not understood. Use the form 31/03/2026 or 2026-03-31.", value=raw[:40])
                   if day_first else
                   _("The date “%(value)s” is not understood. Use the form 2026-03-31.", value=raw[:40]))
        raise UserError(message, "date_invalid") from None
    try:
        in_utc = parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00, which is in year 0 in UTC
        in_utc = None
    if in_utc is None or in_utc < FIRST_RECEIVED:
        raise UserError(_("The date “%(value)s” is out of range: give a date after 1900.", value=raw[:40]),
                        "date_out_of_range")
    if in_utc > utcnow() + timedelta(days=1):
        raise UserError(_("The date received cannot be in the future."), "date_future")
    return in_utc


class Refused(UserError):
    """Several problems with one item, each with its message: all are reported at once (its code is the first's)."""

    def __init__(self, problems: list[UserError]) -> None:
        super().__init__(" ".join(str(p.message) for p in problems), problems[0].code)
        self.problems = problems


def _all_or_nothing(problems: list[UserError]) -> None:
    """Raise the problem found, or :class:`Refused` with all of them when there are several."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise Refused(problems)


def problems_of(err: UserError) -> list[str]:
    """The messages of every problem ``err`` reports."""
    return [str(p.message) for p in err.problems] if isinstance(err, Refused) else [str(err.message)]


def clean_meta(raw: Mapping[str, str], *, default_channel: Channel = Channel.PHONE,
               day_first: bool = False) -> VoiceMeta:
    """Check metadata typed in a form, sent by the API or read from a CSV row (``day_first``: dates as
    31/03/2026 too). Every problem is reported, not only the first (:class:`Refused` when several)."""
    problems: list[UserError] = []

    def check(step: Callable[[], _T], fallback: _T) -> _T:
        try:
            return step()
        except UserError as err:
            problems.append(err)
            return fallback

    def channel() -> Channel:
        try:
            return Channel(str(raw.get("channel") or default_channel))
        except ValueError:
            raise UserError(_("Choose a channel: phone, store, email, web or letter."), "channel_invalid") from None

    def consent() -> Consent:
        try:
            return Consent(str(raw.get("consent") or Consent.UNKNOWN))
        except ValueError:
            raise UserError(_("Customer consent must be yes, no or unknown."), "consent_invalid") from None

    def language() -> str:
        value = str(raw.get("language_hint") or raw.get("language") or "").strip().lower()
        if value in ("auto", "-"):
            value = ""
        if value not in ("", "fr", "en"):
            raise UserError(_("The language must be French, English or automatic."), "language_invalid")
        return value

    meta = VoiceMeta(
        received_at=check(lambda: _received_at(str(raw.get("received_at") or ""), day_first=day_first), utcnow()),
        channel=check(channel, default_channel),
        agent=check(lambda: _text(raw, "agent", _("Agent")), ""),
        product=check(lambda: _text(raw, "product", _("Product")), ""),
        customer_ref=check(lambda: _text(raw, "customer_ref", _("Customer reference")), ""),
        consent=check(consent, Consent.UNKNOWN),
        language_hint=check(language, ""),
        external_id=check(lambda: _text(raw, "external_id", "external_id", 200), "") or None,
    )
    _all_or_nothing(problems)
    return meta


@dataclass(frozen=True)
class Origin:
    """Who sends the item: a person in the browser, an API token, or a CSV import."""

    source: Source
    user: User | None = None
    token: ApiToken | None = None

    def columns(self) -> dict[str, object]:
        return {"source": self.source, "created_by_id": self.user.id if self.user else None,
                "api_token_id": self.token.id if self.token else None}

    def register_actor(self) -> register.Actor:
        """Who the complaint register's timeline names: the person, else the API token, else the import."""
        if self.user is not None:
            return register.Actor(self.user)
        return register.Actor(label=f"API: {self.token.name}" if self.token is not None else register.MACHINE)


@dataclass(frozen=True)
class Ingested:
    call: Call
    #: True when this exact audio (or this external id) was already there: nothing new was stored.
    duplicate: bool


_REFUSALS = {
    "empty": lambda: _("This file is empty. Choose the recording again."),
    "no_audio": lambda: _("This file holds no sound: it is not an audio recording. Upload an MP3, WAV, M4A, "
                          "OGG, FLAC, WebM or AMR file."),
    "unreadable": lambda: _("This file can't be read as audio: it may be damaged. Upload an MP3, WAV, M4A, OGG, "
                            "FLAC, WebM or AMR file."),
    "unsupported": lambda: _("This audio format is not supported. Upload an MP3, WAV, M4A, OGG, FLAC, WebM or "
                             "AMR file."),
    "no_duration": lambda: _("This recording lasts no time at all. Choose the recording again."),
    "truncated": lambda: _("This recording is cut off: part of the file is missing. Upload it again, in full."),
    "playlist": lambda: _("This file is a playlist or a list of other files, not a recording. Upload the recording "
                          "itself: an MP3, WAV, M4A, OGG, FLAC, WebM or AMR file."),
}


def refusal_message(code: str) -> str:
    return str(_REFUSALS[code]())


def _existing_by_external_id(session: Session, external_id: str | None) -> Call | None:
    if not external_id:
        return None
    return session.scalar(select(Call).where(Call.external_id == external_id))


def _already_there(session: Session, external_id: str | None, sha256: str) -> Call | None:
    """The call this upload repeats: the one with its external id, which must hold the very same bytes
    (:class:`Conflict` otherwise), else the one with the same bytes; None when it is new."""
    known = _existing_by_external_id(session, external_id)
    if known is None:
        return session.scalar(select(Call).where(Call.sha256 == sha256))
    if known.sha256 != sha256:
        raise Conflict(_("The external id “%(external_id)s” was already used for call #%(id)d, with a different "
                         "recording. Send this recording with an external id of its own; to read call #%(id)d, "
                         "send the same recording again.", external_id=external_id or "", id=known.id),
                       IDEMPOTENCY_CONFLICT)
    return known


def ingest_call(session: Session, settings: Settings, tenant_id: int, *, stream: storage.ReadableStream, filename: str,
                meta: VoiceMeta, origin: Origin, bulk: bool = False) -> Ingested:
    """Store an uploaded recording, check it is audio, and record it with its processing job.

    The Session must be bound to ``tenant_id``. Raises :class:`UserError` with the reason when
    the file is refused (too large, not audio, damaged...); nothing is then left in storage.
    A retry with the same ``external_id``, or the same bytes, returns the existing call; the same
    ``external_id`` with other bytes is a :class:`Conflict` (nothing is kept).
    """
    # The file is stored and checked before the database is touched, so that no transaction
    # (and, on SQLite, no write lock) stays open while a large upload streams in.
    store = storage.get_storage(settings)
    key = storage.key_for(tenant_id, "calls", uuid.uuid4().hex)
    try:
        written = store.write(key, stream, content_type="application/octet-stream",
                              max_bytes=settings.max_upload_mb * 1024 * 1024)
    except storage.TooLarge:
        raise UserError(_("This file is larger than %(max)d MB. Split the recording or compress it.",
                          max=settings.max_upload_mb), "too_large") from None
    except storage.StorageError:
        raise UserError(_("The file could not be stored just now. Nothing was kept: try again in a moment."),
                        "storage_unavailable") from None
    try:
        with store.local_copy(key) as path:
            info = probe(path, max_seconds=settings.max_recording_s)
    except NotAudio as refusal:
        store.delete(key)
        if refusal.code == "too_long":
            raise UserError(_("This recording lasts longer than %(limit)s, the longest accepted. Split it into "
                              "shorter recordings and upload them one by one.",
                              limit=duration(settings.max_recording_s)), "audio_too_long") from None
        raise UserError(refusal_message(refusal.code), f"audio_{refusal.code}") from None
    except BaseException:
        store.delete(key)
        raise
    try:
        same = _already_there(session, meta.external_id, written.sha256)
    except Conflict:
        store.delete(key)
        raise
    if same is not None:
        store.delete(key)
        return Ingested(same, duplicate=True)
    call = Call(
        original_filename=(filename or "")[-255:], storage_key=key, content_type=info.content_type,
        size_bytes=written.size, sha256=written.sha256, duration_seconds=info.duration_seconds,
        audio_format=info.label, channels=info.channels, sample_rate=info.sample_rate, status=CallStatus.QUEUED,
        received_at=meta.received_at, channel=meta.channel, agent=meta.agent,
        product=products.spelling(session, meta.product),
        customer_ref=meta.customer_ref, consent=meta.consent, language_hint=meta.language_hint,
        external_id=meta.external_id, **origin.columns(),
    )
    after_rollback(session, lambda: store.delete(key))
    try:
        with session.begin_nested():
            session.add(call)
            session.flush()
    except IntegrityError:
        # Another request stored the same bytes or external id at the same moment.
        store.delete(key)
        winner = _already_there(session, meta.external_id, written.sha256)
        if winner is None:
            raise
        return Ingested(winner, duplicate=True)
    jobs.enqueue(session, kind=PROCESS_CALL, idempotency_key=f"{PROCESS_CALL}:{call.id}:{call.sha256}",
                 payload={"call_id": call.id}, priority=jobs.PRIORITY_BULK if bulk else jobs.PRIORITY_INTERACTIVE)
    return Ingested(call, duplicate=False)


#: The job that tags a written complaint (worker/handlers/tag_complaint.py).
TAG_COMPLAINT = "tag_complaint"


def clean_text(text: str) -> str:
    """The text of a written complaint, trimmed; a :class:`UserError` when empty or too long."""
    body = _storable(text or "").strip()
    if not body:
        raise UserError(_("Enter the text of the complaint."), "text_missing")
    if len(body) > MAX_TEXT:
        raise UserError(_("The complaint is too long: %(max)d characters at most.", max=MAX_TEXT), "text_too_long")
    return body


def _known_complaint(session: Session, external_id: str | None, body: str) -> Complaint | None:
    """The complaint already stored with this external id, which must have the same text (else :class:`Conflict`)."""
    if not external_id:
        return None
    known = session.scalar(select(Complaint).where(Complaint.external_id == external_id))
    if known is not None and known.text != body:
        raise Conflict(_("The external id “%(external_id)s” was already used for complaint #%(id)d, with a "
                         "different text. Send this complaint with an external id of its own; to read complaint "
                         "#%(id)d, send the same text again.", external_id=external_id, id=known.id),
                       IDEMPOTENCY_CONFLICT)
    return known


def create_complaint(session: Session, *, text: str, meta: VoiceMeta, origin: Origin) -> tuple[Complaint, bool]:
    """Record a written complaint; returns (complaint, duplicate) — a known ``external_id`` is not stored twice,
    and is a :class:`Conflict` when it comes with another text."""
    body = clean_text(text)
    existing = _known_complaint(session, meta.external_id, body)
    if existing is not None:
        return existing, True
    complaint = Complaint(text=body, received_at=meta.received_at, channel=meta.channel, agent=meta.agent,
                          product=products.spelling(session, meta.product), customer_ref=meta.customer_ref,
                          consent=meta.consent,
                          language_hint=meta.language_hint, external_id=meta.external_id, **origin.columns())
    try:
        with session.begin_nested():
            session.add(complaint)
            session.flush()
    except IntegrityError:
        # The same external id arrived at the same moment through another request.
        winner = _known_complaint(session, meta.external_id, body)
        if winner is None:
            raise
        return winner, True
    register.record_written(session, complaint, origin.register_actor())  # every written complaint (#15)
    jobs.enqueue(session, kind=TAG_COMPLAINT, idempotency_key=f"complaint:{complaint.id}",
                 payload={"complaint_id": complaint.id},
                 priority=jobs.PRIORITY_BULK if origin.source == Source.CSV else jobs.PRIORITY_INTERACTIVE)
    return complaint, False


CSV_COLUMNS = ("text", "received_at", "channel", "product", "customer_ref", "agent", "consent", "language",
               "external_id")
MAX_CSV_ROWS = 10_000

#: Other names a spreadsheet may give the columns, folded (lower case, no accents, words joined by "_").
CSV_ALIASES: dict[str, str] = {
    **{name: "text" for name in ("texte", "reclamation", "texte_de_la_reclamation", "message", "commentaire",
                                 "contenu", "verbatim", "plainte", "complaint")},
    **{name: "received_at" for name in ("date", "date_reception", "date_de_reception", "recu_le", "received",
                                        "date_received", "received_on", "date_de_la_reclamation")},
    **{name: "channel" for name in ("canal", "canal_de_reception")},
    **{name: "product" for name in ("produit", "article", "reference_produit", "ref_produit", "sku")},
    **{name: "customer_ref" for name in ("reference_client", "ref_client", "numero_client", "id_client",
                                         "customer_reference", "customer_id")},
    **{name: "agent" for name in ("conseiller", "conseillere", "vendeur", "vendeuse", "interlocuteur")},
    **{name: "consent" for name in ("consentement", "accord", "accord_client")},
    **{name: "language" for name in ("langue", "language_hint")},
    **{name: "external_id" for name in ("id_externe", "identifiant", "identifiant_externe", "reference",
                                        "id", "ticket", "numero_de_ticket")},
}
#: Words a spreadsheet may use for a channel, a consent or a language, folded as above.
CSV_VALUES: dict[str, dict[str, str]] = {
    "channel": {
        **{word: "phone" for word in ("telephone", "tel", "appel", "appel_telephonique", "phone_call", "call")},
        **{word: "store" for word in ("magasin", "boutique", "en_magasin", "agence", "point_de_vente", "shop")},
        **{word: "email" for word in ("courriel", "e_mail", "mail", "mel", "email")},
        **{word: "web" for word in ("site", "site_web", "site_internet", "internet", "formulaire", "en_ligne",
                                    "chat", "online", "website")},
        **{word: "letter" for word in ("courrier", "lettre", "courrier_postal", "voie_postale", "post", "mail_postal")},
    },
    "consent": {"oui": "yes", "o": "yes", "y": "yes", "non": "no", "n": "no", "inconnu": "unknown",
                "ne_sait_pas": "unknown", "nsp": "unknown"},
    "language": {"francais": "fr", "french": "fr", "anglais": "en", "english": "en", "automatique": "auto",
                 "fr_fr": "fr", "en_gb": "en", "en_us": "en"},
}


def _csv_key(raw: str) -> str:
    """A column name or a cell as the tables above spell it: "Référence client" → "reference_client"."""
    return re.sub(r"[^a-z0-9]+", "_", search.fold(raw)).strip("_")


def _csv_row(row: Mapping[str | None, str | list[str] | None]) -> dict[str, str]:
    """A CSV row as :func:`clean_meta` reads it: columns by their English names, French words for channels,
    consents and languages as their values; anything not recognised is left as it is, for the checks to name."""
    clean = {key: value if isinstance(value, str) else "" for key, value in row.items() if isinstance(key, str)}
    for column, words in CSV_VALUES.items():
        value = clean.get(column, "")
        if value and value not in words.values():
            clean[column] = words.get(_csv_key(value), value)
    return clean


@dataclass
class ImportReport:
    """What a CSV import did, row by row (row 1 is the header)."""

    created: int = 0
    duplicates: int = 0
    #: (row, every problem of that row, in one sentence each)
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.duplicates + len(self.refused)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UserError(_("This file is not a text CSV file. Save it as CSV (UTF-8) and try again."), "csv_encoding")


def _header(names: list[str]) -> list[str]:
    """The columns' English names (a name in French, or in another case, is recognised; others are kept)."""
    header = []
    for name in names:
        key = _csv_key(name or "")
        header.append(key if key in CSV_COLUMNS else CSV_ALIASES.get(key, (name or "").strip().lower()))
    return header


def import_complaints_csv(session: Session, data: bytes, origin: Origin) -> ImportReport:
    """Create one complaint per CSV row; a bad row is reported with all its problems and skipped, the others kept.

    Columns (header row, in any order; comma, semicolon or tab separated): text (required),
    received_at, channel, product, customer_ref, agent, consent, language, external_id, or their
    French names (:data:`CSV_ALIASES`: texte, date de réception, canal, produit, référence client...).
    Channels may be French words (téléphone, magasin, courriel, site, courrier), dates 31/03/2026.
    """
    content = _decode(data)
    if not content.strip():
        raise UserError(_("This CSV file is empty."), "csv_empty")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(content[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(content), dialect=dialect)
    try:
        header = _header(list(reader.fieldnames or []))
    except csv.Error:
        header = []
    if "text" not in header:
        raise UserError(_("The first row must name the columns, with at least a “text” column. Known columns: "
                          "%(columns)s.", columns=", ".join(CSV_COLUMNS)), "csv_header")
    reader.fieldnames = header
    report = ImportReport()
    rows = iter(reader)
    for line in range(2, MAX_CSV_ROWS + 3):
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error:  # a cell longer than the csv module takes, for one: this row only is lost
            report.refused.append((line, _("This row cannot be read: check its quotes and separators.")))
            continue
        if line > MAX_CSV_ROWS + 1:
            report.refused.append((line, _("Not imported: %(max)d rows at most per file.", max=MAX_CSV_ROWS)))
            break
        problems = _import_row(session, _csv_row(row), origin, report)
        if problems:
            report.refused.append((line, " ".join(problems)))
    return report


def _import_row(session: Session, row: dict[str, str], origin: Origin, report: ImportReport) -> list[str]:
    """Create the complaint of one CSV row and count it; the problems of the row when it is refused."""
    problems: list[str] = []
    meta: VoiceMeta | None = None
    try:
        meta = clean_meta(row, default_channel=Channel.EMAIL, day_first=True)
    except UserError as err:
        problems += problems_of(err)
    try:
        clean_text(row.get("text", ""))
    except UserError as err:
        problems.insert(0, str(err.message))
    if problems or meta is None:
        return problems
    try:
        with session.begin_nested():
            _complaint, duplicate = create_complaint(session, text=row.get("text", ""), meta=meta, origin=origin)
    except UserError as err:
        return problems_of(err)
    if duplicate:
        report.duplicates += 1
    else:
        report.created += 1
    return []
