"""Written complaints in the room (issue #16, item 7): a complaint's excerpt as a card in a playlist.

- **Personal data masked**: the card's text is the complaint's excerpt cut by webapp/services/excerpts.py
  (its personal-data spans masked ``•••``). The quality manager may shorten it, never add to it: the text
  they give must be a passage of that masked excerpt (an ellipsis marks a cut), so nothing masked can
  come back and nothing the customer did not write can be put in their mouth.
- **Consent**: the same rule as a call's clip: only a complaint whose customer said "yes" can be added,
  and a card whose complaint's consent is no longer "yes" leaves the room at the next sync.
- **Time on screen**: :func:`card_seconds`, 4 s plus 60 ms a character, at most 20 s.
- **Order**: a card plays right after the voice that comes before it in the playlist, whatever the mode
  (in "alternate" the voices alternate and each card follows its voice); a card before any voice plays
  after the last voice of the round, i.e. before the first of the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import Clip, Complaint, Consent, Playlist, PlaylistItem, Tag, TagKind, User
from webapp.services import audit, excerpts

BASE_SECONDS = 4.0
SECONDS_PER_CHARACTER = 0.06
MAX_SECONDS = 20.0
#: The longest excerpt a card shows (characters).
CARD_EXCERPT = 280
ELLIPSIS = "…"


def card_seconds(text: str) -> float:
    """How long a card stays on screen: enough to read it, 4 s + 60 ms a character, at most 20 s."""
    return round(min(MAX_SECONDS, BASE_SECONDS + SECONDS_PER_CHARACTER * len(text)), 1)


def masked_excerpt(session: Session, complaint: Complaint) -> str:
    """The complaint's excerpt with its personal data masked: what a card may show at most."""
    tags = session.scalars(select(Tag).where(Tag.kind == TagKind.PII, Tag.complaint_id == complaint.id))
    return excerpts.masked_excerpt(complaint.text, [list(span) for span in excerpts.pii_spans(tags)],
                                   size=CARD_EXCERPT)


def _shortened(full: str, typed: str) -> str:
    """``typed`` when it is a passage of ``full`` (spaces and ellipses aside), else UserError."""
    text = " ".join(typed.replace(ELLIPSIS, " ").split())
    if not text:
        return full
    if text not in " ".join(full.replace(ELLIPSIS, " ").split()):
        raise UserError(_("A card can only be shortened: keep a passage of the excerpt as it is, without "
                          "adding or changing words."), "card_text")
    starts, ends = full.lstrip(ELLIPSIS).startswith(text), full.rstrip(ELLIPSIS).endswith(text)
    return ("" if starts else ELLIPSIS) + text + ("" if ends else ELLIPSIS)


def get_complaint(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise UserError(_("No complaint has this number. Check it on the complaint's page."), "card_complaint")
    return complaint


def add_card(session: Session, actor: User, playlist: Playlist, complaint: Complaint, text: str = "") -> PlaylistItem:
    """Put ``complaint`` at the end of ``playlist`` as a card (its masked excerpt, or a passage of it).

    UserError when the customer's consent is not "yes", the excerpt is empty, the complaint is there
    already, or ``text`` is not a passage of the excerpt.
    """
    if complaint.consent != Consent.YES:
        raise UserError(_("The customer's consent is not \"yes\": this complaint cannot be shown in the room."),
                        "card_consent")
    full = masked_excerpt(session, complaint)
    if not full.strip(ELLIPSIS + " "):
        raise UserError(_("This complaint has no words to show."), "card_empty")
    if any(item.complaint_id == complaint.id for item in playlist.items):
        raise UserError(_("This complaint is in the playlist already."), "card_twice")
    last = max((item.position for item in playlist.items), default=-1)
    item = PlaylistItem(complaint=complaint, card_text=_shortened(full, text), position=last + 1)
    playlist.items.append(item)
    _touch(session, actor, playlist, "playlist.card_added", complaint=complaint.id)
    return item


def remove_card(session: Session, actor: User, playlist: Playlist, complaint_id: int) -> None:
    for item in playlist.items:
        if item.complaint_id == complaint_id:
            playlist.items.remove(item)
            _touch(session, actor, playlist, "playlist.card_removed", complaint=complaint_id)
            return
    raise NotFound()


def _touch(session: Session, actor: User, playlist: Playlist, action: str, **details: object) -> None:
    from webapp.db import utcnow

    playlist.updated_at = utcnow()
    audit.record(session, tenant_id=playlist.tenant_id, actor=actor, action=action,
                 target=f"playlist:{playlist.id}", **details)


def is_showable(item: PlaylistItem) -> bool:
    """Whether the room may show this card now: a complaint's card whose customer still consents."""
    return (item.complaint is not None and item.complaint.consent == Consent.YES
            and bool(item.card_text.strip()))


def room_cards(playlist: Playlist, order: Sequence[Clip]) -> list[dict[str, Any]]:
    """The playlist's showable cards for a kiosk's manifest, each with the voice it follows.

    ``after`` is the id of the playable voice the card comes after (the nearest before it in the list);
    a card before any playable voice follows the last voice of the round (None when there is none).
    """
    playable = {clip.id for clip in order}
    last_voice = order[-1].id if order else None
    cards: list[dict[str, Any]] = []
    before: int | None = None
    for item in playlist.items:
        if item.clip_id is not None and item.clip_id in playable:
            before = item.clip_id
        elif item.complaint_id is not None and is_showable(item):
            cards.append({"id": f"card-{item.complaint_id}", "text": item.card_text,
                          "seconds": card_seconds(item.card_text), "after": before if before is not None
                          else last_voice})
    return cards
