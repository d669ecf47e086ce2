"""A company's taxonomy: seeded with the default topics, edited by its admin, read by the tagger."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import Label, LabelKind, User
from webapp.services import audit
from webapp.services.default_taxonomy import DEFAULT_TAXONOMY

MAX_EXAMPLES = 50


def seed_defaults(session: Session, tenant_id: int) -> None:
    """Give a company that was just created the default topics (webapp/services/default_taxonomy.py).

    Companies that existed before taxonomies got them from migration 0006.
    """
    for topic in DEFAULT_TAXONOMY:
        session.add(Label(tenant_id=tenant_id, kind=LabelKind.TOPIC, key=topic.id, label_fr=topic.fr,
                          label_en=topic.en))


def labels(session: Session, kind: LabelKind | None = None, *, active_only: bool = False) -> list[Label]:
    stmt = select(Label).order_by(Label.kind, Label.id)
    if kind is not None:
        stmt = stmt.where(Label.kind == kind)
    if active_only:
        stmt = stmt.where(Label.retired_at.is_(None))
    return list(session.scalars(stmt))


def get_label(session: Session, label_id: int) -> Label:
    label = session.get(Label, label_id)
    if label is None:
        raise NotFound()
    return label


def _key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_")[:50]


def _clean(label_fr: str, label_en: str, examples: str) -> tuple[str, str, str]:
    label_fr, label_en = label_fr.strip(), label_en.strip()
    if not label_fr or not label_en:
        raise UserError(_("Give the label in French and in English."))
    if len(label_fr) > 120 or len(label_en) > 120:
        raise UserError(_("Keep labels under 120 characters."))
    lines = [line.strip() for line in examples.splitlines() if line.strip()]
    if len(lines) > MAX_EXAMPLES or any(len(line) > 200 for line in lines):
        raise UserError(_("Give at most %(num)d example phrases of 200 characters each.", num=MAX_EXAMPLES))
    return label_fr, label_en, "\n".join(lines)


def add_label(session: Session, actor: User, *, kind: str, label_fr: str, label_en: str, examples: str) -> Label:
    try:
        chosen = LabelKind(kind)
    except ValueError:
        raise UserError(_("Choose a topic or a complaint reason.")) from None
    label_fr, label_en, examples = _clean(label_fr, label_en, examples)
    if chosen is LabelKind.REASON and not examples:
        raise UserError(_("Give a few phrases customers use for this reason: the tagger looks for them."))
    base = _key(label_en) or "label"
    taken = set(session.scalars(select(Label.key).where(Label.kind == chosen)))
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    label = Label(tenant_id=actor.tenant_id, kind=chosen, key=key, label_fr=label_fr, label_en=label_en,
                  examples=examples)
    session.add(label)
    session.flush()
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="label.created", target=f"label:{label.id}",
                 kind=chosen.value, key=key)
    return label


def update_label(session: Session, actor: User, label: Label, *, label_fr: str, label_en: str,
                 examples: str) -> None:
    label.label_fr, label.label_en, label.examples = _clean(label_fr, label_en, examples)
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="label.changed", target=f"label:{label.id}",
                 key=label.key)


def set_retired(session: Session, actor: User, label: Label, retired: bool) -> None:
    label.retired_at = utcnow() if retired else None
    audit.record(session, tenant_id=actor.tenant_id, actor=actor,
                 action="label.retired" if retired else "label.restored", target=f"label:{label.id}", key=label.key)
