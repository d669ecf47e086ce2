"""``review_pack_mail``: every six months, mail a product's owner the link to its review pack.

Queued by the ``review-packs`` schedule (webapp/services/periodic.py,
``review_packs.schedule_review_packs``), one job per product and semester, keyed
``review-pack:<product id>:<period>``: however often the schedule runs, each owner gets one mail per
product and semester. The owner is read now: a product that lost its owner, or an owner who left or
may no longer read it, gets nothing. The mail carries a link to the pack's page, not the PDF (see
the service's docstring for why).
"""

from __future__ import annotations

import logging

from flask import current_app, url_for

from webapp import mail, tenancy
from webapp.models import Tenant
from webapp.services import review_packs
from worker.handlers.context import JobContext

KIND = review_packs.REVIEW_PACK_MAIL
TEMPLATE = "review_pack"
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        with tenancy.tenant_session(ctx.tenant_id) as session:
            found = review_packs.mail_recipient(session, int(ctx.payload["product_id"]),
                                                str(ctx.payload.get("period", "")))
            tenant = session.get(Tenant, ctx.tenant_id)
            if found is None or tenant is None:
                log.info("not sent: the product has no active owner who may read its pack")
                return
            owner, scope, period = found
            to, locale, company = owner.email, owner.locale or tenant.default_locale, tenant.name
        with current_app.test_request_context("/", base_url=ctx.settings.base_url or "http://localhost"):
            link = url_for("review_packs.review_pack_page", scope=scope.value, period=period.key, _external=True)
        message = mail.build_message(ctx.settings, to, TEMPLATE, locale, tenant_name=company, product=scope.name,
                                     year=str(period.year), half=period.half, link=link)
        mail.deliver(ctx.settings, message)

    def failed(self, ctx: JobContext, reason: str) -> None:
        """The owner can still open the pack from the app; the log says which product's mail was lost."""
        log.error("review pack mail for product %s given up: %s", ctx.payload.get("product_id"), reason)
