"""One module per job kind. Each exposes ``KIND`` and a :class:`Handler`.

A handler is idempotent: run twice, it leaves the same result as once (deterministic storage
keys, upserted rows, "already done?" checks first). It reloads its rows through
``tenancy.tenant_session(ctx.tenant_id)``, so both tenancy walls apply to jobs too. It
raises ``webapp.errors.RetryableError`` for passing failures (network, S3 5xx, timeouts) and
``webapp.errors.PermanentError`` for inputs that will never work, with a message for people.
:class:`JobContext` and :class:`Handler` live in worker/handlers/context.py (re-exported here).
"""

from __future__ import annotations

from worker.handlers import (
    alert_digest,
    apply_retention,
    evaluate_alerts,
    insight_days,
    listening_reminders,
    password_reset,
    process_call,
    purge_media,
    rating_rule,
    register_reminders,
    render_clip,
    retrain_tagger,
    review_pack_mail,
    review_pack_pdf,
    review_pack_purge,
    send_mail,
    tag_complaint,
    workshop_pdf,
)
from worker.handlers.context import Handler, JobContext

__all__ = ["Handler", "JobContext", "registry"]


def registry() -> dict[str, Handler]:
    """Every job kind the worker knows, and its handler."""
    return {process_call.KIND: process_call.Handler(), retrain_tagger.KIND: retrain_tagger.Handler(),
            tag_complaint.KIND: tag_complaint.Handler(), render_clip.KIND: render_clip.Handler(),
            purge_media.KIND: purge_media.Handler(), apply_retention.KIND: apply_retention.Handler(),
            send_mail.KIND: send_mail.Handler(), password_reset.KIND: password_reset.Handler(),
            register_reminders.KIND: register_reminders.Handler(),
            listening_reminders.KIND: listening_reminders.Handler(),
            rating_rule.KIND: rating_rule.Handler(), insight_days.KIND: insight_days.Handler(),
            evaluate_alerts.KIND: evaluate_alerts.Handler(), alert_digest.KIND: alert_digest.Handler(),
            review_pack_pdf.KIND: review_pack_pdf.Handler(), review_pack_mail.KIND: review_pack_mail.Handler(),
            review_pack_purge.KIND: review_pack_purge.Handler(),
            workshop_pdf.KIND: workshop_pdf.Handler()}
