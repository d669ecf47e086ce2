"""The complaint register as the integrator API shows and changes it (webapp/views/api.py, issue #15).

A CRM reads an entry (by its reference, or through its written complaint) and updates its status, its
answer and its owner with ``PATCH``. Every change goes through webapp/services/register.py, so the life
cycle, the mediator rule and the timeline apply as on the register's pages; the timeline names the
token ("API: <token name>").

The update is idempotent: what the request asks for is compared with the entry first, and a request
whose every part is already true changes nothing, adds no timeline line and answers the same entry
(the same ``version``), however often the CRM sends it. ``If-Match`` carries the version the CRM last
read (its ``ETag``): a request that would change an entry another hand changed since is refused (412),
and never half applied. A request that would change nothing is answered whatever its ``If-Match``: the
entry already is what it asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import ApiToken, EntryStatus, Outcome, RegisterEntry, User
from webapp.services import register

#: The fields a PATCH may carry.
FIELDS = ("status", "answer", "owner_email")
_IF_MATCH = re.compile(r'\s*(?:W/)?"?(\d{1,9})"?\s*')


class StaleVersion(UserError):
    """The entry changed since the version the request names in ``If-Match``."""

    status = 412
    code = "version_mismatch"


def actor(token: ApiToken) -> register.Actor:
    """Who the timeline names for a change made with ``token``."""
    return register.Actor(label=f"API: {token.name}")


def by_reference(session: Session, reference: str, *, for_update: bool = False) -> RegisterEntry:
    """The company's entry with this reference (any case), locked for the update when asked; else 404."""
    query = select(RegisterEntry).where(func.upper(RegisterEntry.reference) == reference.strip().upper()[:20])
    entry = session.scalar(query.with_for_update() if for_update else query)
    if entry is None:
        raise NotFound()
    return entry


def etag(entry: RegisterEntry) -> str:
    return f'"{entry.version}"'


def if_match(raw: str | None) -> int | None:
    """The version named by an ``If-Match`` header (``"3"``, ``3``, ``W/"3"``); None when absent or ``*``."""
    if raw is None or raw.strip() in ("", "*"):
        return None
    match = _IF_MATCH.fullmatch(raw)
    if match is None:
        raise UserError(_("If-Match must carry the entry's version, as its ETag gives it (\"3\")."),
                        "if_match_invalid")
    return int(match.group(1))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def entry_json(session: Session, entry: RegisterEntry) -> dict[str, Any]:
    """What the API says of an entry: reference, status, clocks and answer (the answer's text excluded: the
    CRM wrote it, and the register keeps it)."""
    owner = session.get(User, entry.owner_id) if entry.owner_id is not None else None
    state = register.clocks(entry)
    return {"reference": entry.reference, "status": entry.status.value, "channel": entry.channel.value,
            "received_on": entry.received_on.isoformat(), "sent_on": _iso(entry.sent_on),
            "acknowledge_by": entry.acknowledge_by.isoformat(), "answer_by": entry.answer_by.isoformat(),
            "acknowledged_at": _iso(entry.acknowledged_at), "answered_at": _iso(entry.answered_at),
            "closed_at": _iso(entry.closed_at), "overdue": state.overdue,
            "outcome": entry.outcome.value if entry.outcome is not None else None,
            "owner_email": owner.email if owner is not None else None, "version": entry.version}


def of_complaint(session: Session, complaint_id: int) -> dict[str, Any] | None:
    """The register entry of a written complaint, as :func:`entry_json` says it (None: not in the register)."""
    entry = register.entry_of(session, complaint_id=complaint_id)
    return entry_json(session, entry) if entry is not None else None


# --- the update ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Update:
    """A PATCH's body, checked: each part None when the request leaves it alone."""

    status: EntryStatus | None = None
    answer: tuple[str, Outcome] | None = None
    #: The owner's address; "" to leave the entry with nobody.
    owner_email: str | None = None


def _field_error(field: str, expected: str) -> UserError:
    return UserError(_("The field “%(field)s” must be %(expected)s.", field=field, expected=expected),
                     "invalid_field")


def parse_update(body: object) -> Update:
    """The update a PATCH's JSON body asks for; 422 naming the field that is wrong."""
    if not isinstance(body, dict):
        raise UserError(_("Send a JSON object such as {\"status\": \"acknowledged\"}."), "invalid_body")
    unknown = sorted(str(k) for k in set(body) - set(FIELDS))
    if unknown:
        raise UserError(_("Unknown field “%(field)s”. The fields are: %(fields)s.", field=unknown[0][:40],
                          fields=", ".join(FIELDS)), "unknown_field")
    status = body.get("status")
    if status is not None and (not isinstance(status, str) or status not in set(EntryStatus)):
        raise _field_error("status", ", ".join(EntryStatus))
    answer = body.get("answer")
    parsed_answer: tuple[str, Outcome] | None = None
    if answer is not None:
        if (not isinstance(answer, dict) or set(answer) - {"text", "outcome"}
                or not isinstance(answer.get("text"), str) or answer.get("outcome") not in set(Outcome)):
            raise _field_error("answer", "{\"text\": \"…\", \"outcome\": \"" + "|".join(Outcome) + "\"}")
        parsed_answer = (str(answer["text"]), Outcome(str(answer["outcome"])))
    owner = body.get("owner_email", None)
    if "owner_email" in body and owner is not None and not isinstance(owner, str):
        raise _field_error("owner_email", _("an address, or null for nobody"))
    return Update(status=EntryStatus(status) if status is not None else None, answer=parsed_answer,
                  owner_email=(owner or "").strip() if "owner_email" in body else None)


def _owner_id(session: Session, email: str) -> int | None:
    if not email:
        return None
    for person in register.owners(session):
        if person.email.lower() == email.lower():
            return person.id
    raise UserError(_("No active quality manager or administrator of the company has the address "
                      "“%(email)s”.", email=email[:254]), "owner_invalid")


def _answer_is(entry: RegisterEntry, text: str, outcome: Outcome) -> bool:
    """Whether the entry already holds this answer (the text as register.answer stores it)."""
    return (entry.answered_at is not None and entry.outcome is outcome
            and entry.answer_text == text.replace("\x00", "").strip())


def apply_update(session: Session, entry: RegisterEntry, update: Update, actor: register.Actor,
                 version: int | None) -> bool:
    """Make the entry what ``update`` asks for: the owner, then the answer, then the status. False when it
    already was (nothing written). :class:`StaleVersion` before anything changes when ``version`` is not the
    entry's; the register's own refusals (an impossible move, the mediator rule) roll the whole request back."""
    owner_id = _owner_id(session, update.owner_email) if update.owner_email is not None else entry.owner_id
    answer_due = update.answer is not None and not _answer_is(entry, *update.answer)
    status_due = update.status is not None and update.status is not entry.status and not (
        update.status is EntryStatus.ANSWERED and update.answer is not None)
    if owner_id == entry.owner_id and not answer_due and not status_due:
        return False
    if version is not None and version != entry.version:
        raise StaleVersion(_("This entry changed since version %(version)d (it is at version %(current)d now): "
                             "read it again, then send your change.", version=version, current=entry.version))
    register.assign(session, entry, owner_id, actor)
    if answer_due and update.answer is not None:
        register.answer(session, entry, update.answer[0], update.answer[1], actor)
    if update.status is not None and update.status is not entry.status:
        register.transition(session, entry, update.status, actor)
    session.flush()
    return True
