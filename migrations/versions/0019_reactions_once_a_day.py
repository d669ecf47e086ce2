"""a reaction once per person, clip, kind and company day, enforced by the database (issue #16)

webapp/services/reactions.py counts a person's reaction of one kind to one clip once per day in the
company's time zone (in the room, and apart in each workshop): a repeat updates the comment. That was
checked in code only, so two requests at the same moment could both insert one. Reactions get a
``day`` column (the company's day of ``created_at``, Europe/Paris when the company names no valid
zone, as the service reckons it), filled in here; the duplicates already stored are merged into the
first one (the one the service counted and journalled), which takes the latest comment given and the
first screen named, and inherits their improvement-action links; then two partial unique indexes:
``(tenant_id, user_id, clip_id, kind, day)`` for the room (``workshop_id IS NULL``) and the same plus
``workshop_id`` for workshops. Both engines support partial indexes.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 01:20:00.000000
"""

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

import webapp.db

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

#: The zone of a company that names none that exists (webapp/services/listening.py zone_of).
DEFAULT_ZONE = 'Europe/Paris'
BATCH = 500
ROOM, WORKSHOP = sa.text('workshop_id IS NULL'), sa.text('workshop_id IS NOT NULL')
#: The tables read and written below, lifted out of forced row-level security meanwhile (PostgreSQL).
TOUCHED = ('reactions', 'action_links', 'tenants')

reactions = sa.table('reactions', sa.column('id', sa.Integer()), sa.column('tenant_id', sa.Integer()),
                     sa.column('user_id', sa.Integer()), sa.column('clip_id', sa.Integer()),
                     sa.column('kind', sa.String()), sa.column('workshop_id', sa.Integer()),
                     sa.column('kiosk_id', sa.Integer()), sa.column('comment', sa.Text()),
                     sa.column('created_at', webapp.db.UTCDateTime()), sa.column('day', sa.Date()))
action_links = sa.table('action_links', sa.column('reaction_id', sa.Integer()))
tenants = sa.table('tenants', sa.column('id', sa.Integer()), sa.column('timezone', sa.String()))


def upgrade() -> None:
    with op.batch_alter_table('reactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('day', sa.Date(), nullable=True))
    lifted = _lift_row_security()
    _fill_in_days()
    _merge_duplicates()
    for table in lifted:
        op.execute(f'ALTER TABLE {table} FORCE ROW LEVEL SECURITY')
    with op.batch_alter_table('reactions', schema=None) as batch_op:
        batch_op.alter_column('day', existing_type=sa.Date(), nullable=False)
    op.create_index('uq_reactions_room_day', 'reactions', ['tenant_id', 'user_id', 'clip_id', 'kind', 'day'],
                    unique=True, postgresql_where=ROOM, sqlite_where=ROOM)
    op.create_index('uq_reactions_workshop_day', 'reactions',
                    ['tenant_id', 'user_id', 'clip_id', 'kind', 'day', 'workshop_id'],
                    unique=True, postgresql_where=WORKSHOP, sqlite_where=WORKSHOP)


def _lift_row_security() -> list[str]:
    """On PostgreSQL the owner is itself under forced row-level security, which would show it no rows:
    the tables are lifted out of it for this transaction only (the caller puts them back, as 0010 does)."""
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return []
    lifted = [table for table in TOUCHED if bind.execute(sa.text(
        'SELECT relforcerowsecurity FROM pg_class WHERE oid = CAST(:t AS regclass)'), {'t': table}).scalar()]
    for table in lifted:
        op.execute(f'ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY')
    return lifted


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def _fill_in_days() -> None:
    """Each reaction's day: its ``created_at`` in its company's time zone."""
    bind = op.get_bind()
    zones = {tenant_id: _zone(name) for tenant_id, name in bind.execute(sa.select(tenants.c.id, tenants.c.timezone))}
    last = 0
    while True:
        batch = bind.execute(sa.select(reactions.c.id, reactions.c.tenant_id, reactions.c.created_at)
                             .where(reactions.c.id > last).order_by(reactions.c.id).limit(BATCH)).all()
        if not batch:
            break
        bind.execute(reactions.update().where(reactions.c.id == sa.bindparam('row_id'))
                     .values(day=sa.bindparam('row_day')),
                     [{'row_id': row_id, 'row_day': _day(at, zones.get(tenant_id) or _zone(None))}
                      for row_id, tenant_id, at in batch])
        last = batch[-1][0]


def _day(at: datetime, zone: ZoneInfo) -> date:
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(zone).date()


def _merge_duplicates() -> None:
    """Merge the reactions the service would have counted once into the first of them (lowest id)."""
    bind = op.get_bind()
    key = (reactions.c.tenant_id, reactions.c.user_id, reactions.c.clip_id, reactions.c.kind, reactions.c.day,
           reactions.c.workshop_id)
    repeated = (sa.select(*key).where(reactions.c.user_id.is_not(None)).group_by(*key)
                .having(sa.func.count() > 1).subquery())
    rows = bind.execute(
        sa.select(*key, reactions.c.id, reactions.c.kiosk_id, reactions.c.comment)
        .join(repeated, sa.and_(*[c.is_not_distinct_from(repeated.c[c.name]) for c in key]))
        .order_by(reactions.c.created_at, reactions.c.id)).all()
    groups: dict[tuple[object, ...], list[Any]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[:len(key)])].append(row)
    for group in groups.values():
        kept = min(group, key=lambda row: row.id)
        dropped = [row.id for row in group if row.id != kept.id]
        comments = [row.comment for row in group if row.comment]  # oldest first: the last one given wins
        kiosks = [row.kiosk_id for row in sorted(group, key=lambda row: row.id) if row.kiosk_id is not None]
        bind.execute(reactions.update().where(reactions.c.id == kept.id).values(
            comment=comments[-1] if comments else kept.comment, kiosk_id=kiosks[0] if kiosks else None))
        bind.execute(action_links.update().where(action_links.c.reaction_id.in_(dropped)).values(reaction_id=kept.id))
        bind.execute(reactions.delete().where(reactions.c.id.in_(dropped)))


def downgrade() -> None:
    op.drop_index('uq_reactions_workshop_day', table_name='reactions')
    op.drop_index('uq_reactions_room_day', table_name='reactions')
    with op.batch_alter_table('reactions', schema=None) as batch_op:
        batch_op.drop_column('day')
