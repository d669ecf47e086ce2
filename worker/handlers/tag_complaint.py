"""``tag_complaint``: tag a written complaint (sentiment, topics, reasons, personal data).

Queued with the complaint (webapp/services/ingestion.py), in the same transaction. The
language is the sender's hint, else lingua's reading of the text (worker/tagging/languages.py).
Idempotent: the machine's tags are replaced, a person's stay (worker/tagging/company.py).
"""

from __future__ import annotations

from webapp import tenancy
from webapp.models import Complaint
from webapp.services import register
from webapp.services.ingestion import TAG_COMPLAINT
from worker.handlers.context import JobContext
from worker.tagging import company, languages

KIND = TAG_COMPLAINT


class Handler:
    def run(self, ctx: JobContext) -> None:
        with tenancy.tenant_session(ctx.tenant_id) as session:
            complaint = session.get(Complaint, int(ctx.payload["complaint_id"]))
            if complaint is None:
                return  # erased since
            lang = complaint.language_hint or languages.detect(complaint.text)
            found = company.for_company(session).tag(complaint.text, lang)
            company.write_tags(session, found, complaint.text, complaint_id=complaint.id)
            register.reasons_tagged(session, complaint_id=complaint.id)  # the register entry's reasons (#15)

    def failed(self, ctx: JobContext, reason: str) -> None:
        """Nothing to show: the complaint stays readable, untagged; the job's row keeps the reason."""
