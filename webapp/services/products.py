"""Products as the company manages them: the names its voices and ratings use, each with a family, a
department, an owner and the day it was last marked "modified" (issue #15, item 5).

Calls, complaints and ratings name their product in free text. A :class:`Product` row is made on
demand for every name seen (:func:`sync_products`), so that each product has an id that the admin's
page, the scorecards and the 3/5 rule can name. A name is stored as the company first spelt it
(:func:`spelling`): "FOUR  x2" from a CSV, a call, a complaint, an API or a register entry is the
"Four X2" already known, so one product is never counted as two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.errors import Forbidden, NotFound, UserError
from webapp.i18n import _
from webapp.models import Call, Complaint, Product, Rating, Role, User, UserStatus
from webapp.services import audit

#: Longest family or department name (the columns' length).
MAX_NAME = 120


def product_names(session: Session) -> list[str]:
    """Every product name the company's calls, complaints, ratings and products use."""
    # One query per table, not a UNION: the tenancy guard scopes each plain SELECT it sees.
    found: set[str] = set()
    for column in (Call.product, Complaint.product, Rating.product, Product.name):
        found.update(name for name in session.scalars(select(column).distinct()) if name)
    return sorted(found, key=lambda name: (name.casefold(), name))


def spelling(session: Session, name: str, *, add: bool = True) -> str:
    """The name as the company already spells it: "ASPIRATEUR  X2" is "Aspirateur X2" once a call, a
    complaint, a rating or an entry has named it so (the same letters whatever their case, spaces
    collapsed), so that one product is counted once on every page; a new name is kept as given (spaces
    collapsed) and gets its :class:`Product` row (unless not ``add``: an action's product names a subject, not
    a product the company sells). ``""`` stays ``""``. One query when the name is known."""
    name = " ".join(name.split())
    if not name:
        return ""
    key = name.casefold()
    for known in session.scalars(select(Product.name).order_by(Product.id)):  # the first spelling wins
        if known.casefold() == key:
            return known
    # a name used before products had rows of their own
    for known in (p.name for p in sync_products(session)) if add else product_names(session):
        if known.casefold() == key:
            return known
    if not add:
        return name
    try:
        with session.begin_nested():
            session.add(Product(name=name))
            session.flush()
    except IntegrityError:  # another request named it at the same moment
        pass
    return name


def sync_products(session: Session) -> list[Product]:
    """Make the missing :class:`Product` rows, one per name seen; every product, by name.

    Safe when two requests do it at once: a row another one made first is read back.
    """
    names = product_names(session)
    known = {p.name: p for p in session.scalars(select(Product))}
    missing = [name for name in names if name not in known]
    if missing:
        try:
            with session.begin_nested():
                session.add_all([Product(name=name) for name in missing])
                session.flush()
        except IntegrityError:  # another request made some of them at the same moment
            pass
        known = {p.name: p for p in session.scalars(select(Product))}
    return sorted(known.values(), key=lambda p: (p.name.casefold(), p.name))


def get_product(session: Session, product_id: int) -> Product:
    """One product of the company; :class:`NotFound` when missing or another company's."""
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound()
    return product


def people(session: Session) -> list[User]:
    """Who may own a product: the company's active people, by name."""
    users = session.scalars(select(User).where(User.status == UserStatus.ACTIVE, User.role != Role.PLATFORM_ADMIN))
    return sorted(users, key=lambda u: (u.display_name.casefold(), u.id))


def owner_names(session: Session) -> dict[int, str]:
    """Every person's display name by id (one query), to show products' owners."""
    return {u.id: u.display_name for u in session.scalars(select(User))}


def _label(value: str, field: str) -> str:
    value = " ".join((value or "").split())
    if len(value) > MAX_NAME:
        raise UserError(_("%(field)s is too long: %(max)d characters at most.", field=field, max=MAX_NAME),
                        "name_too_long")
    return value


def update_product(session: Session, actor: User, product: Product, *, family: str, department: str,
                   owner_id: str) -> bool:
    """Set a product's family, department and owner (a person of the company, or none); False when
    nothing changed. Raises :class:`UserError` for a name too long or an owner who is not one of them."""
    family = _label(family, _("Family"))
    department = _label(department, _("Department"))
    owner: int | None = None
    if (owner_id or "").strip():
        chosen = session.get(User, int(owner_id)) if owner_id.strip().isdigit() else None
        if chosen is None or chosen.status != UserStatus.ACTIVE:
            raise UserError(_("Choose the owner from the list of people."), "owner_invalid")
        owner = chosen.id
    changes = {name: [old, new] for name, old, new in (
        ("family", product.family, family), ("department", product.department, department),
        ("owner_id", product.owner_id, owner)) if old != new}
    if not changes:
        return False
    product.family, product.department, product.owner_id = family, department, owner
    audit.record(session, tenant_id=product.tenant_id, actor=actor, action="product.updated",
                 target=f"product:{product.id}", **changes)
    return True


def mark_modified(session: Session, actor: User, product: Product, now: datetime | None = None) -> None:
    """Record that the company modified the product: from now on only ratings given after this moment
    can take it off the watch list (webapp.services.scorecards)."""
    product.modified_at = now or utcnow()
    audit.record(session, tenant_id=product.tenant_id, actor=actor, action="product.modified",
                 target=f"product:{product.id}")


@dataclass(frozen=True)
class Reader:
    """Who reads scorecards: all of them (admins, quality managers), or a staff member's own."""

    user_id: int
    role: Role
    department: str

    @classmethod
    def of(cls, user: User) -> Reader:
        return cls(user.id, user.role, user.department)

    @property
    def sees_all(self) -> bool:
        return self.role in (Role.TENANT_ADMIN, Role.QUALITY_MANAGER)

    def may_read(self, product: Product) -> bool:
        """Admins and quality managers read every product; staff the ones they own, or their department's
        (the same names exactly, as the insights and review packs compare them)."""
        if self.sees_all or product.owner_id == self.user_id:
            return True
        return bool(self.department) and product.department == self.department

    def check(self, product: Product) -> Product:
        """``product`` when this reader may read it, else :class:`Forbidden`."""
        if not self.may_read(product):
            raise Forbidden()
        return product
