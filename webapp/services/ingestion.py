"""Ingestion: calls (audio) and written complaints arriving from the browser, the API or a CSV.

One service for every path in: the views and the API only translate requests into these calls.
A call is stored, probed, deduplicated and recorded with its processing job in one transaction;
anything refused or rolled back leaves no object in storage and no row behind.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp import jobs, storage
from webapp.audio import NotAudio, probe
from webapp.config import Settings
from webapp.db import after_rollback, utcnow
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import Call, CallStatus, Channel, Complaint, Consent, Source, User
from webapp.models.api_tokens import ApiToken

MAX_TEXT = 20_000
PROCESS_CALL = "process_call"


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


def _text(raw: Mapping[str, str], key: str, label: str, max_length: int = 120) -> str:
    value = " ".join(str(raw.get(key) or "").split())
    if len(value) > max_length:
        raise UserError(_("%(field)s is too long: %(max)d characters at most.", field=label, max=max_length),
                        f"{key}_too_long")
    return value


def _received_at(raw: str) -> datetime:
    raw = (raw or "").strip()
    if not raw:
        return utcnow()
    try:
        if len(raw) == 10:
            parsed = datetime.combine(date.fromisoformat(raw), datetime.min.time(), tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        raise UserError(_("The date “%(value)s” is not understood. Use the form 2026-03-31.", value=raw[:40]),
                        "date_invalid") from None
    if parsed > utcnow() + timedelta(days=1):
        raise UserError(_("The date received cannot be in the future."), "date_future")
    return parsed.astimezone(UTC)


def clean_meta(raw: Mapping[str, str], *, default_channel: Channel = Channel.PHONE) -> VoiceMeta:
    """Check metadata typed in a form, sent by the API or read from a CSV row."""
    try:
        channel = Channel(str(raw.get("channel") or default_channel))
    except ValueError:
        raise UserError(_("Choose a channel: phone, store, email, web or letter."), "channel_invalid") from None
    try:
        consent = Consent(str(raw.get("consent") or Consent.UNKNOWN))
    except ValueError:
        raise UserError(_("Customer consent must be yes, no or unknown."), "consent_invalid") from None
    language = str(raw.get("language_hint") or raw.get("language") or "").strip().lower()
    if language in ("auto", "-"):
        language = ""
    if language not in ("", "fr", "en"):
        raise UserError(_("The language must be French, English or automatic."), "language_invalid")
    external_id = _text(raw, "external_id", "external_id", 200) or None
    return VoiceMeta(
        received_at=_received_at(str(raw.get("received_at") or "")),
        channel=channel,
        agent=_text(raw, "agent", _("Agent")),
        product=_text(raw, "product", _("Product")),
        customer_ref=_text(raw, "customer_ref", _("Customer reference")),
        consent=consent,
        language_hint=language,
        external_id=external_id,
    )


@dataclass(frozen=True)
class Origin:
    """Who sends the item: a person in the browser, an API token, or a CSV import."""

    source: Source
    user: User | None = None
    token: ApiToken | None = None

    def columns(self) -> dict[str, object]:
        return {"source": self.source, "created_by_id": self.user.id if self.user else None,
                "api_token_id": self.token.id if self.token else None}


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
}


def refusal_message(code: str) -> str:
    return str(_REFUSALS[code]())


def _existing_by_external_id(session: Session, external_id: str | None) -> Call | None:
    if not external_id:
        return None
    return session.scalar(select(Call).where(Call.external_id == external_id))


def ingest_call(session: Session, settings: Settings, tenant_id: int, *, stream: storage.ReadableStream, filename: str,
                meta: VoiceMeta, origin: Origin, bulk: bool = False) -> Ingested:
    """Store an uploaded recording, check it is audio, and record it with its processing job.

    The Session must be bound to ``tenant_id``. Raises :class:`UserError` with the reason when
    the file is refused (too large, not audio, damaged...); nothing is then left in storage.
    A retry with the same ``external_id``, or the same bytes, returns the existing call.
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
            info = probe(path)
    except NotAudio as refusal:
        store.delete(key)
        raise UserError(refusal_message(refusal.code), f"audio_{refusal.code}") from None
    except BaseException:
        store.delete(key)
        raise
    same = _existing_by_external_id(session, meta.external_id) or session.scalar(
        select(Call).where(Call.sha256 == written.sha256))
    if same is not None:
        store.delete(key)
        return Ingested(same, duplicate=True)
    call = Call(
        original_filename=(filename or "")[-255:], storage_key=key, content_type=info.content_type,
        size_bytes=written.size, sha256=written.sha256, duration_seconds=info.duration_seconds,
        audio_format=info.label, channels=info.channels, sample_rate=info.sample_rate, status=CallStatus.QUEUED,
        received_at=meta.received_at, channel=meta.channel, agent=meta.agent, product=meta.product,
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
        winner = _existing_by_external_id(session, meta.external_id) or session.scalar(
            select(Call).where(Call.sha256 == written.sha256))
        if winner is None:
            raise
        return Ingested(winner, duplicate=True)
    jobs.enqueue(session, kind=PROCESS_CALL, idempotency_key=f"{PROCESS_CALL}:{call.id}:{call.sha256}",
                 payload={"call_id": call.id}, priority=jobs.PRIORITY_BULK if bulk else jobs.PRIORITY_INTERACTIVE)
    return Ingested(call, duplicate=False)


#: The job that tags a written complaint (worker/handlers/tag_complaint.py).
TAG_COMPLAINT = "tag_complaint"


def create_complaint(session: Session, *, text: str, meta: VoiceMeta, origin: Origin) -> tuple[Complaint, bool]:
    """Record a written complaint; returns (complaint, duplicate) — a known ``external_id`` is not stored twice."""
    body = (text or "").strip()
    if not body:
        raise UserError(_("Enter the text of the complaint."), "text_missing")
    if len(body) > MAX_TEXT:
        raise UserError(_("The complaint is too long: %(max)d characters at most.", max=MAX_TEXT), "text_too_long")
    if meta.external_id:
        existing = session.scalar(select(Complaint).where(Complaint.external_id == meta.external_id))
        if existing is not None:
            return existing, True
    complaint = Complaint(text=body, received_at=meta.received_at, channel=meta.channel, agent=meta.agent,
                          product=meta.product, customer_ref=meta.customer_ref, consent=meta.consent,
                          language_hint=meta.language_hint, external_id=meta.external_id, **origin.columns())
    try:
        with session.begin_nested():
            session.add(complaint)
            session.flush()
    except IntegrityError:
        # The same external id arrived at the same moment through another request.
        winner = session.scalar(select(Complaint).where(Complaint.external_id == meta.external_id))
        if winner is None:
            raise
        return winner, True
    jobs.enqueue(session, kind=TAG_COMPLAINT, idempotency_key=f"complaint:{complaint.id}",
                 payload={"complaint_id": complaint.id},
                 priority=jobs.PRIORITY_BULK if origin.source == Source.CSV else jobs.PRIORITY_INTERACTIVE)
    return complaint, False


@dataclass
class ImportReport:
    """What a CSV import did, row by row (row 1 is the header)."""

    created: int = 0
    duplicates: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.duplicates + len(self.refused)


CSV_COLUMNS = ("text", "received_at", "channel", "product", "customer_ref", "agent", "consent", "language",
               "external_id")
MAX_CSV_ROWS = 10_000


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UserError(_("This file is not a text CSV file. Save it as CSV (UTF-8) and try again."), "csv_encoding")


def import_complaints_csv(session: Session, data: bytes, origin: Origin) -> ImportReport:
    """Create one complaint per CSV row; a bad row is reported and skipped, the others are kept.

    Columns (header row, in any order; comma or semicolon separated): text (required),
    received_at, channel, product, customer_ref, agent, consent, language, external_id.
    """
    content = _decode(data)
    if not content.strip():
        raise UserError(_("This CSV file is empty."), "csv_empty")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(content[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(content), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "text" not in header:
        raise UserError(_("The first row must name the columns, with at least a “text” column. Known columns: "
                          "%(columns)s.", columns=", ".join(CSV_COLUMNS)), "csv_header")
    reader.fieldnames = header
    report = ImportReport()
    for line, row in enumerate(reader, start=2):
        if report.rows >= MAX_CSV_ROWS:
            report.refused.append((line, _("Not imported: %(max)d rows at most per file.", max=MAX_CSV_ROWS)))
            break
        clean = {k: (v or "") for k, v in row.items() if isinstance(k, str)}
        try:
            with session.begin_nested():
                _complaint, duplicate = create_complaint(
                    session, text=clean.get("text", ""), meta=clean_meta(clean, default_channel=Channel.EMAIL),
                    origin=origin)
        except UserError as err:
            report.refused.append((line, str(err.message)))
            continue
        if duplicate:
            report.duplicates += 1
        else:
            report.created += 1
    return report
