"""``review_pack_purge``: delete the review-pack PDFs made more than a day ago (review_packs.PDF_KEEP), and
the listening workshops' summary PDFs likewise (workshops.PDF_KEEP: they name attendees and quote comments).

Queued daily for every company by the ``review_pack_pdfs`` schedule (webapp/services/periodic.py). A PDF
holds customers' words, masked: kept for ever, it would outlive the erasure of the calls and
complaints it quotes. Idempotent: deleting a key already gone does nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from webapp import storage, tenancy
from webapp.db import utcnow
from webapp.services import review_packs, workshops
from worker.handlers.context import JobContext

KIND = review_packs.REVIEW_PACK_PURGE
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        at = str(ctx.payload.get("at", ""))
        now = max(datetime.fromisoformat(at), utcnow()) if at else utcnow()
        with tenancy.tenant_session(ctx.tenant_id) as session:
            keys = review_packs.expired_pdf_keys(session, now) + workshops.expired_pdf_keys(session, now)
        store = storage.get_storage(ctx.settings)
        for key in keys:
            store.delete(key)
        log.info("review pack PDFs purged: %d", len(keys))

    def failed(self, ctx: JobContext, reason: str) -> None:
        """Tomorrow's run deletes them (it looks back a month)."""
        log.warning("review pack PDF purge given up: %s", reason)
