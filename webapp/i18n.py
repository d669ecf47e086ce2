"""Locale choice (user > chosen in this browser > tenant > Accept-Language > default; the API:
Accept-Language, else English) and `_`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from babel.numbers import format_decimal
from babel.numbers import format_percent as babel_percent
from babel.units import format_unit
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import (
    Babel,
    force_locale,
    format_date,
    format_datetime,
    get_locale,
    gettext,
    lazy_gettext,
    lazy_pgettext,
    ngettext,
)
from flask_login import current_user

from webapp.config import LOCALES

_ = gettext
_l = lazy_gettext

__all__ = ["LOCALES", "_", "_l", "force_locale", "init_app", "ngettext", "select_locale"]

LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def select_locale() -> str:
    """The interface language of this request (the deployment's default outside requests)."""
    if not has_request_context():
        return str(current_app.config["ECOUTE"].default_locale)
    if request.path.startswith("/api/"):
        # Integrators' systems: no cookies, no tenant default; English unless they ask otherwise.
        return request.accept_languages.best_match(LOCALES) or "en"
    if current_user and current_user.is_authenticated:
        if current_user.locale in LOCALES:
            return str(current_user.locale)
    chosen = session.get("locale")
    if chosen in LOCALES:
        return str(chosen)
    if current_user and current_user.is_authenticated:
        return str(current_user.tenant.default_locale)
    best = request.accept_languages.best_match(LOCALES)
    return best or current_app.config["ECOUTE"].default_locale


ROLE_LABELS = {
    "platform_admin": _l("Platform admin"),
    "tenant_admin": _l("Administrator"),
    "quality_manager": _l("Quality manager"),
    "staff": _l("Staff"),
}

STATUS_LABELS = {
    "invited": _l("Invited"),
    "active": _l("Active"),
    "deactivated": _l("Deactivated"),
}

CALL_STATUS_LABELS = {
    "uploaded": _l("Uploaded"),
    "queued": _l("Queued"),
    "processing": _l("Processing"),
    "ready": _l("Ready"),
    "failed": _l("Failed"),
}

CHANNEL_LABELS = {
    "phone": _l("Phone"),
    "store": _l("Store"),
    "email": _l("E-mail"),
    "web": _l("Web"),
    "letter": _l("Letter"),
}

CONSENT_LABELS = {
    "yes": _l("Consent given"),
    "no": _l("No consent"),
    "unknown": _l("Consent unknown"),
}

AUDIT_LABELS = {
    "tenant.created": _l("Company created"),
    "tenant.suspended": _l("Company suspended"),
    "tenant.reactivated": _l("Company reactivated"),
    "user.invited": _l("Person invited"),
    "user.invitation_resent": _l("Invitation sent again"),
    "user.invitation_revoked": _l("Invitation cancelled"),
    "user.joined": _l("Invitation accepted"),
    "user.role_changed": _l("Role changed"),
    "user.department_changed": _l("Department changed"),
    "user.manager_changed": _l("Marked as a manager, or no longer"),
    "user.deactivated": _l("Account deactivated"),
    "user.reactivated": _l("Account reactivated"),
    "user.password_reset": _l("Password changed"),
    "user.password_changed": _l("Password changed"),
    "call.listened": _l("Call listened to"),
    "call.retried": _l("Processing tried again"),
    "api_token.created": _l("API token created"),
    "api_token.revoked": _l("API token revoked"),
    "tenant.settings_changed": _l("Company settings changed"),
    "label.created": _l("Topic or reason added"),
    "label.changed": _l("Topic or reason changed"),
    "label.retired": _l("Topic or reason retired"),
    "label.restored": _l("Topic or reason used again"),
    "tag.corrected": _l("Tags corrected"),
    "call.consent_changed": _l("Customer consent changed"),
    "clip.created": _l("Clip made"),
    "clip.edited": _l("Clip edited"),
    "clip.approved": _l("Clip approved for the room"),
    "clip.retired": _l("Clip retired"),
    "call.erased": _l("Call erased"),
    "complaint.erased": _l("Complaint erased"),
    "register.created": _l("Register entry created"),
    "register.status": _l("Register entry's status changed"),
    "register.answer": _l("Register entry answered"),
    "register.owner": _l("Register entry's owner changed"),
    "register.edited": _l("Register entry edited"),
    "register.reasons": _l("Register entry's reasons tagged"),
    "register.linked": _l("Call or complaint linked to a register entry"),
    "register.unlinked": _l("Call or complaint unlinked from a register entry"),
    "register.proposal_dismissed": _l("Oral complaint proposal dismissed"),
    "register.erased": _l("What a register entry said about an erased customer emptied"),
    "alert_rule.created": _l("Alert rule created"),
    "alert_rule.changed": _l("Alert rule changed"),
    "alert_rule.switched_off": _l("Alert rule switched off"),
    "alert_rule.switched_on": _l("Alert rule switched on"),
    "alert_rule.deleted": _l("Alert rule deleted"),
    "action.proposed": _l("Improvement action proposed"),
    "action.status_changed": _l("Improvement action's status changed"),
    "action.planned": _l("Improvement action's owner or due date set"),
    "customer.erased": _l("A customer's data erased"),
    "tenant.retention_changed": _l("Retention period changed"),
    "clip.listened": _l("Clip listened to"),
    "reaction.recorded": _l("Reaction to a clip from the room"),
    "room.checked_in": _l("Checked in beside a screen"),
    "room.checked_out": _l("Checked out of the room, listening time counted"),
    "voices.exported": _l("List of calls or complaints downloaded"),
    "clip.played": _l("Clip played in the room"),
    "playlist.created": _l("Playlist created"),
    "playlist.edited": _l("Playlist renamed or changed"),
    "playlist.deleted": _l("Playlist deleted"),
    "playlist.clip_added": _l("Clip added to a playlist"),
    "playlist.clip_removed": _l("Clip removed from a playlist"),
    "playlist.reordered": _l("Playlist reordered"),
    "playlist.card_added": _l("Written complaint added to a playlist as a card"),
    "playlist.card_removed": _l("Written complaint's card removed from a playlist"),
    "kiosk.paired": _l("Screen paired"),
    "kiosk.edited": _l("Screen changed"),
    "kiosk.revoked": _l("Screen unpaired"),
    "kiosk.scheduled": _l("Screen's opening hours changed"),
    "tenant.look_changed": _l("Logo or accent colour of the screens changed"),
    "plays.exported": _l("Proof of play downloaded"),
    "product.updated": _l("Product's family, department or owner changed"),
    "product.modified": _l("Product marked as modified"),
    "product.watch_left": _l("Product left the watch list"),
    "ratings.imported": _l("Ratings imported"),
    "workshop.planned": _l("Workshop planned"),
    "workshop.started": _l("Workshop started"),
    "workshop.checked_in": _l("Checked in to a workshop"),
    "workshop.decided": _l("Workshop decision recorded"),
    "workshop.ended": _l("Workshop ended"),
}

CLIP_STATUS_LABELS = {
    "draft": _l("Draft"),
    "approved": _l("Approved"),
    "retired": _l("Retired"),
}
#: Where the worker is with a clip's audio.
RENDER_STATUS_LABELS = {
    "pending": _l("Being prepared"),
    "ready": _l("Ready"),
    "failed": _l("Failed"),
}
WORKSHOP_STATUS_LABELS = {
    "planned": _l("Planned"),
    "running": _l("Running"),
    "ended": _l("Ended"),
}
PLAYLIST_MODE_LABELS = {
    "alternate": _l("Alternate satisfied and unhappy"),
    "ordered": _l("As ordered"),
}

TOKEN_SCOPE_LABELS = {
    "ingest": _l("Send calls and complaints, read their status"),
    "read": _l("Read status only"),
    "register": _l("Read complaints and update the complaint register (status, answer, owner)"),
}

#: Why a call could not be processed (codes stored by the worker, shown in the reader's language).
FAILURE_LABELS = {
    "undecodable": _l("This recording could not be decoded: the file is damaged or in a format we cannot read. "
                      "Upload it again, or export it again from your telephony system."),
    "missing_original": _l("The original recording is missing from storage. Upload it again."),
    "untranscribable": _l("This recording could not be transcribed: its audio cannot be read. "
                          "Upload it again, or export it again from your telephony system."),
    "transcription_too_slow": _l("Transcription took longer than allowed, several times. The workers may be "
                                 "overloaded: try again later."),
    "no_words_heard": _l("No words were recognised, although the recording sounds like someone speaking. "
                         "Listen to the call: the transcript and the tags may be missing what was said."),
    "transcription_unavailable": _l("Transcription is not available at the moment. The recording is kept: "
                                    "try processing it again later, or tell your administrator."),
}
#: Shown for a failure stored without a known code (an older or internal message, never shown as it is).
FAILURE_OTHER = _l("This call could not be processed. Try processing it again; if it fails again, tell your "
                   "administrator.")
#: Tag values shown to people (topics come from the taxonomy, in webapp/services/default_taxonomy.py).
SENTIMENT_LABELS = {
    "satisfied": _l("Satisfied"),
    "unhappy": _l("Unhappy"),
    "neutral": _l("Neutral"),
}
PII_LABELS = {
    "phone": _l("phone numbers"),
    "email": _l("e-mail addresses"),
    "iban": _l("bank account numbers"),
    "card": _l("card numbers"),
    "nir": _l("social security numbers"),
    "person": _l("names"),
    "address": _l("postal addresses"),
}
SPEAKER_LABELS = {
    "agent": _l("Agent"),
    "customer": _l("Customer"),
}
ERASURE_REASON_LABELS = {
    "customer_request": _l("The customer asked for it"),
    "not_needed": _l("Recorded by mistake, or no longer needed"),
    "retention": _l("End of the retention period"),
}

#: The complaint register (webapp/services/register.py): an entry's status, an answer's outcome, the list's
#: deadline filter.
ENTRY_STATUS_LABELS = {
    "received": _l("Newly received"),
    "acknowledged": _l("Acknowledged"),
    "investigating": _l("Under investigation"),
    "answered": _l("Answered"),
    "closed": _l("Closed"),
    "reopened": _l("Reopened"),
}
OUTCOME_LABELS = {
    "upheld": _l("Upheld"),
    "partly_upheld": _l("Partly upheld"),
    "rejected": _l("Rejected"),
}
#: Improvement actions (webapp/services/actions.py): an action's status, where it started, the list's due filter.
ACTION_STATUS_LABELS = {  # in context: an action is feminine in French, its "done" is not a clock's
    "proposed": lazy_pgettext("action status", "Proposed"),
    "accepted": lazy_pgettext("action status", "Accepted"),
    "in_progress": lazy_pgettext("action status", "In progress"),
    "done": lazy_pgettext("action status", "Done"),
    "verified": lazy_pgettext("action status", "Verified"),
    "rejected": lazy_pgettext("action status", "Rejected"),
}
ACTION_ORIGIN_LABELS = {
    "manual": _l("Written by hand"),
    "clip": _l("A clip"),
    "reaction": _l("A reaction in the room"),
    "complaint": _l("A complaint"),
    "register": _l("A register entry"),
    "dashboard": _l("A dashboard number"),
    "alert": _l("An alert"),
    "workshop": _l("A workshop"),
}
ACTION_DUE_LABELS = {"overdue": _l("Overdue")}
REGISTER_DUE_LABELS = {
    "overdue": _l("Overdue"),
    "2": _l("Due within 2 days"),
    "5": _l("Due within 5 days"),
    "10": _l("Due within 10 days"),
}

STEREO_LAYOUT_LABELS = {
    "agent_left": _l("Agent on the left channel, customer on the right"),
    "agent_right": _l("Agent on the right channel, customer on the left"),
    "mixed": _l("Both voices on both channels (no speaker separation)"),
}

ERROR_TITLES = {
    400: _l("This request could not be handled"),
    403: _l("Access refused"),
    404: _l("Page not found"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(str(role), role))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(str(status), status))


def label(kind: str, value: str) -> str:
    """The translated label of an enumerated value (call status, channel, consent, token scope)."""
    labels = {"status": CALL_STATUS_LABELS, "channel": CHANNEL_LABELS, "consent": CONSENT_LABELS,
              "audit": AUDIT_LABELS, "token_scope": TOKEN_SCOPE_LABELS, "failure": FAILURE_LABELS,
              "sentiment": SENTIMENT_LABELS, "pii": PII_LABELS, "speaker": SPEAKER_LABELS,
              "stereo_layout": STEREO_LAYOUT_LABELS, "clip_status": CLIP_STATUS_LABELS,
              "render_status": RENDER_STATUS_LABELS, "playlist_mode": PLAYLIST_MODE_LABELS,
              "erasure_reason": ERASURE_REASON_LABELS, "entry_status": ENTRY_STATUS_LABELS,
              "action_status": ACTION_STATUS_LABELS, "action_origin": ACTION_ORIGIN_LABELS,
              "action_due": ACTION_DUE_LABELS,
              "outcome": OUTCOME_LABELS, "register_due": REGISTER_DUE_LABELS,
              "workshop_status": WORKSHOP_STATUS_LABELS}[kind]
    if kind == "failure" and str(value) not in labels:
        return str(FAILURE_OTHER)
    return str(labels.get(str(value), value))


def duration(seconds: float) -> str:
    """1:05 or 1:02:05."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_number(value: float, decimals: int = 0) -> str:
    """A number as people read it in the interface's language, with ``decimals`` digits after the
    separator: "1 234", "-16,0" in French; "1,234", "-16.0" in English. Every number a page shows goes
    through here (or :func:`format_seconds`, :func:`format_size`), never through ``%`` formatting."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return str(format_decimal(value, format=pattern, locale=str(get_locale() or "en")))


def format_percent(value: float) -> str:
    """A share (0.25) as people read it in the interface's language, to the whole percent: "25 %" in
    French (with its no-break space), "25%" in English."""
    return str(babel_percent(value, locale=str(get_locale() or "en")))


def format_change(ratio: float | None) -> str:
    """A rate's change against its baseline (``ratio`` = now / before) as a signed percent: "+45 %",
    "−20 %"; "new" when there was nothing before."""
    if ratio is None:
        return str(_l("new"))
    change = ratio - 1
    sign = "+" if change > 0 else "\u2212" if change < 0 else ""
    return sign + format_percent(abs(change))


def format_received(value: datetime) -> str:
    """When a call or complaint was received: its date and time, or only its date when no time was
    given. A date typed without a time is stored at midnight UTC exactly (``ingestion._received_at``);
    a moment taken from a clock (the upload's, an API's timestamp) is midnight to the microsecond
    only by a chance we accept."""
    if value.astimezone(UTC).timetz().replace(tzinfo=None) == time(0):
        return str(format_date(value, "short"))
    return str(format_datetime(value, "short"))


def format_day(value: date | str) -> str:
    """A day in full, in the reader's language ("jeudi 10 décembre 2026", "Thursday, December 10, 2026");
    an ISO string too, as mails carry their days (they are rendered in the recipient's language when sent)."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return str(format_date(day, "full"))


def format_loudness(lufs: float) -> str:
    """An integrated loudness: "-16,0 LUFS" (the unit's name is the same in every language)."""
    return f"{format_number(lufs, 1)}\u00a0LUFS"


def format_size(size: int) -> str:
    """A byte count as people read it, in the interface's language: "9,5 ko", "12.3 MB"."""
    value, unit = (size / 1_000_000, "digital-megabyte") if size >= 1_000_000 else (size / 1000, "digital-kilobyte")
    return str(format_unit(round(value, 1), unit, length="short", locale=str(get_locale() or "en")))


def format_seconds(seconds: float) -> str:
    """A length or a moment in seconds, to the tenth, as people read it: "12,5 s", "12.5 sec"."""
    return str(format_unit(round(seconds, 1), "duration-second", length="short", locale=str(get_locale() or "en")))


def format_minutes(seconds: float) -> str:
    """Listening time in minutes, to the tenth, as people read it: "12,5 min", "12.5 min"."""
    return str(format_unit(round(seconds / 60, 1), "duration-minute", length="short",
                           locale=str(get_locale() or "en")))


def current_locale() -> str:
    """The language of this request's pages ("fr", "en")."""
    return str(get_locale() or current_app.config["ECOUTE"].default_locale)


def error_title(status: int) -> str:
    return str(ERROR_TITLES.get(status, _l("Something went wrong")))


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")
    app.jinja_env.globals.update(
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        role_label=role_label,
        status_label=status_label,
        error_title=error_title,
        label=label,
        duration=duration,
        format_datetime=lambda value: format_datetime(value, "short"),
        format_date=lambda value: format_date(value, "medium"),
        format_day=format_day,
        format_size=format_size,
        format_seconds=format_seconds,
        format_minutes=format_minutes,
        format_number=format_number,
        format_percent=format_percent,
        format_change=format_change,
        format_received=format_received,
        format_loudness=format_loudness,
        current_locale=current_locale,
    )
