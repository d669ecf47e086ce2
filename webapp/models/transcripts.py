"""What was said in a call: the words Whisper heard, each with its time in the recording."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp import search
from webapp.db import Base, utcnow
from webapp.tenancy import TenantScoped


class Transcript(TenantScoped, Base):
    """One per call, written by the ``process_call`` job."""

    __tablename__ = "transcripts"
    __table_args__ = (UniqueConstraint("tenant_id", "call_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    #: "fr" or "en": given by the call's language hint, else detected.
    language: Mapped[str] = mapped_column(String(5))
    #: How sure detection was of ``language`` (1.0 when the language was given).
    language_probability: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text, default="")
    #: ``text`` in lower case without accents, which searches compare (kept in step: webapp.search).
    text_folded: Mapped[str] = mapped_column(Text, default="")
    #: [{start, end, text, words: [{start, end, word, probability}]}], times in seconds.
    segments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: What made it, e.g. "faster-whisper/base/int8".
    engine: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When a quality manager last corrected its words (timings kept); the tagger ran again on them.
    corrected_at: Mapped[datetime | None] = mapped_column(default=None)


search.keep_folded(Transcript.text, "text_folded")
