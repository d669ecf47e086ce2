"""What customers said: recorded calls (audio) and written complaints (text)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp import search
from webapp.db import Base, enum_values, utcnow
from webapp.tenancy import TenantScoped


class Channel(enum.StrEnum):
    PHONE = "phone"
    STORE = "store"
    EMAIL = "email"
    WEB = "web"
    LETTER = "letter"


class Consent(enum.StrEnum):
    """Whether the customer agreed that the recording be reused (played in the room)."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class CallStatus(enum.StrEnum):
    UPLOADED = "uploaded"
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Source(enum.StrEnum):
    BROWSER = "browser"
    API = "api"
    CSV = "csv"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=enum_values)


class CustomerVoice:
    """Metadata shared by calls and complaints."""

    #: When the company received it (not when it was uploaded).
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.PHONE)
    agent: Mapped[str] = mapped_column(String(120), default="")
    #: Product name or SKU the customer talks about.
    product: Mapped[str] = mapped_column(String(120), default="", index=True)
    #: The company's own reference for the customer (CRM id); never shown in the room.
    customer_ref: Mapped[str] = mapped_column(String(120), default="")
    consent: Mapped[Consent] = mapped_column(_enum(Consent), default=Consent.UNKNOWN)
    #: "fr", "en" or "" for automatic detection.
    language_hint: Mapped[str] = mapped_column(String(5), default="")
    source: Mapped[Source] = mapped_column(_enum(Source), default=Source.BROWSER)
    #: The sender's own id (telephony or CRM system): retries with it never create duplicates.
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Call(CustomerVoice, TenantScoped, Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sha256"),
        UniqueConstraint("tenant_id", "external_id"),
        Index("ix_calls_tenant_id_received_at", "tenant_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: File name as the sender gave it: shown to people, never used as a path.
    original_filename: Mapped[str] = mapped_column(String(255), default="")
    #: Object key in storage, built by webapp.storage under the tenant's prefix.
    storage_key: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    #: SHA-256 of the uploaded bytes: a second upload of the same file is a duplicate.
    sha256: Mapped[str] = mapped_column(String(64))
    duration_seconds: Mapped[float] = mapped_column(Float)
    #: What ffprobe found, e.g. "wav/pcm_s16le", "mp3/mp3".
    audio_format: Mapped[str] = mapped_column(String(60), default="")
    channels: Mapped[int] = mapped_column(default=1)
    sample_rate: Mapped[int] = mapped_column(default=0)
    status: Mapped[CallStatus] = mapped_column(_enum(CallStatus), default=CallStatus.UPLOADED, index=True)
    #: Why processing failed, in words a quality manager understands.
    failure_reason: Mapped[str] = mapped_column(Text, default="")


class Complaint(CustomerVoice, TenantScoped, Base):
    __tablename__ = "complaints"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        Index("ix_complaints_tenant_id_received_at", "tenant_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    #: ``text`` in lower case without accents, which searches compare (kept in step: webapp.search).
    text_folded: Mapped[str] = mapped_column(Text, default="")


search.keep_folded(Complaint.text, "text_folded")
