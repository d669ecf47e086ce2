"""Product scorecards and the 3/5 rule (issue #15, item 5): ratings imported by CSV and API, the rule
that flags a product and lets it go only after it was modified, the score estimated from voices, and
who reads which scorecard."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import tenancy
from webapp.db import utcnow
from webapp.jobs import Job
from webapp.models import (
    Alert,
    AuditEvent,
    Complaint,
    Product,
    Rating,
    RatingSource,
    Role,
    RuleKind,
    Tag,
    TagKind,
    Tenant,
    TokenScope,
    User,
)
from webapp.services import products, ratings, scorecards

TODAY = utcnow().date()


@pytest.fixture(autouse=True)
def _today() -> None:
    """Today is read when each test starts, not when the module is collected: a run that crosses midnight
    would otherwise date its ratings and windows a day behind the code under test."""
    global TODAY  # noqa: PLW0603 - the module's helpers read it
    TODAY = utcnow().date()
OVEN = "Four X2"


# --- helpers -----------------------------------------------------------------------------------------


def _rate(app: Flask, tenant_id: int, stars: list[int], day: date, *, product: str = OVEN,
          now: datetime | None = None, prefix: str = "") -> None:
    """Store ratings of ``product`` given on ``day`` through the service (then the rule runs at ``now``)."""
    items = [ratings.RatingIn(product, s, day, external_id=f"{prefix}{n}" if prefix else None)
             for n, s in enumerate(stars)]
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        ratings.store_ratings(session, tenant, items, RatingSource.API, now=now)


def _evaluate(app: Flask, tenant_id: int, now: datetime | None = None) -> scorecards.Evaluation:
    with app.app_context():
        return scorecards.run_rating_rule(tenant_id, now)


def _product(app: Flask, tenant_id: int, name: str = OVEN) -> Product:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        product = session.scalars(select(Product).where(Product.name == name)).one()
        session.expunge(product)
        return product


def _mark_modified(app: Flask, tenants: dict[str, TenantSet], at: datetime) -> None:
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        product = session.scalars(select(Product).where(Product.name == OVEN)).one()
        admin = session.get(User, tenants["a"].users[Role.TENANT_ADMIN].id)
        assert admin is not None
        products.mark_modified(session, admin, product, now=at)


def _give_owner(app: Flask, tenants: dict[str, TenantSet], role: Role = Role.STAFF, department: str = "") -> None:
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        products.sync_products(session)
        product = session.scalars(select(Product).where(Product.name == OVEN)).one()
        admin = session.get(User, tenants["a"].users[Role.TENANT_ADMIN].id)
        assert admin is not None
        products.update_product(session, admin, product, family="Cuisson", department=department,
                                owner_id=str(tenants["a"].users[role].id))


def _count(app: Flask, tenant_id: int, model: Any, *where: Any) -> int:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _at(days_ago: int) -> datetime:
    return utcnow() - timedelta(days=days_ago)


# --- the 3/5 rule ---------------------------------------------------------------------------------------


def test_a_product_rated_under_three_is_flagged_alerts_its_owner_and_joins_the_watch_list(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"].id
    _rate(app, a, [4], TODAY - timedelta(days=40))
    _give_owner(app, tenants)
    _rate(app, a, [2, 2, 3, 1, 2, 3, 2, 2, 3], TODAY - timedelta(days=3))  # 10 ratings, 2.4 on average
    product = _product(app, a)
    assert product.watch_since is not None and product.watch_rating == 2.4
    with app.app_context(), tenancy.tenant_session(a) as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.kind, alert.key, alert.value) == (RuleKind.RATING, f"rating:{product.id}:{TODAY}", OVEN)
        assert alert.detail["count"] == 10 and alert.detail["rating"] == 2.4
        mail = session.scalars(select(Job).where(Job.kind == "send_mail")).one()
        assert mail.payload["template"] == "rating_watch"
        assert mail.payload["user_id"] == tenants["a"].users[Role.STAFF].id
    # Evaluated again (the daily job, another import): no second alert, no second mail.
    assert _evaluate(app, a).flagged == []
    assert _count(app, a, Alert) == 1 and _count(app, a, Job, Job.kind == "send_mail") == 1
    page = login_as("a", Role.QUALITY_MANAGER).get("/scorecards")
    watch = page.text.split('id="watch-list"')[1].split("</section>")[0]
    assert page.status_code == 200 and OVEN in watch and "2,4" in watch


def test_the_owner_mail_names_the_product_and_its_rating(app: Flask, tenants: dict[str, TenantSet],
                                                          smtp: Any) -> None:
    from tests.mail import mail_to
    from tests.support.smtpsink import body_text

    _rate(app, tenants["a"].id, [4], TODAY - timedelta(days=100))  # out of the window
    _give_owner(app, tenants)
    _rate(app, tenants["a"].id, [1] * 10, TODAY - timedelta(days=2))
    msg = mail_to(smtp, tenants["a"].users[Role.STAFF].email)
    assert OVEN in msg["Subject"] and "1,0" in body_text(msg)  # company A reads French


def test_no_flag_under_the_minimum_number_of_ratings(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id
    _rate(app, a, [1] * 9, TODAY - timedelta(days=1))
    assert _product(app, a).watch_since is None
    assert _count(app, a, Alert) == 0
    # Ratings older than the window do not count either.
    _rate(app, a, [1] * 5, TODAY - timedelta(days=90))  # the window is today and the 89 days before
    assert _product(app, a).watch_since is None
    _rate(app, a, [1], TODAY)
    assert _product(app, a).watch_since is not None


def test_the_settings_move_the_floor_the_window_and_the_minimum(app: Flask, tenants: dict[str, TenantSet],
                                                                login_as: Any) -> None:
    admin = login_as("a", Role.TENANT_ADMIN)
    refused = admin.post("/settings/company/ratings", {"rating_floor": "6", "rating_window_days": "30",
                                                       "rating_min_count": "3"})
    assert refused.status_code == 422 and "de 1 à 5" in refused.text
    saved = admin.post("/settings/company/ratings", {"rating_floor": "3,5", "rating_window_days": "30",
                                                     "rating_min_count": "3"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/settings/company#rating-rule")
    with app.app_context(), tenancy.tenant_session(None) as session:
        tenant = session.get(Tenant, tenants["a"].id)
        assert tenant is not None
        assert (tenant.rating_floor, tenant.rating_window_days, tenant.rating_min_count) == (3.5, 30, 3)
    assert 'id="rating-rule-form"' in admin.get("/settings/company").text
    _rate(app, tenants["a"].id, [3, 3, 4], TODAY - timedelta(days=40))  # out of the 30-day window
    assert _product(app, tenants["a"].id).watch_since is None
    _rate(app, tenants["a"].id, [3, 3, 4], TODAY - timedelta(days=2))  # 3.33 < 3.5, three of them
    assert _product(app, tenants["a"].id).watch_since is not None


def test_a_flagged_product_stays_on_the_list_on_ratings_given_before_its_modification(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id
    _rate(app, a, [2] * 10, TODAY - timedelta(days=30), now=_at(20))
    assert _product(app, a).watch_since is not None
    # Good ratings, but not after a modification: the product was never marked modified.
    _rate(app, a, [5] * 30, TODAY - timedelta(days=15))
    assert _product(app, a).watch_since is not None
    _mark_modified(app, tenants, _at(5))
    # Good ratings given before the modification (sent late, or old ones) never clear it.
    _rate(app, a, [5] * 30, TODAY - timedelta(days=6))
    _rate(app, a, [5] * 30, TODAY - timedelta(days=5))  # the day of the modification itself
    product = _product(app, a)
    assert product.watch_since is not None and product.modified_at is not None
    assert _evaluate(app, a).cleared == []


def test_it_leaves_the_list_only_once_modified_and_rated_again_at_three_or_more(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"].id
    _rate(app, a, [2] * 10, TODAY - timedelta(days=30), now=_at(20))
    _mark_modified(app, tenants, _at(10))
    _rate(app, a, [3] * 9, TODAY - timedelta(days=4))  # after the modification, but nine: under the minimum
    assert _product(app, a).watch_since is not None
    _rate(app, a, [2], TODAY - timedelta(days=3))  # ten now, but 2.9 on average
    assert _product(app, a).watch_since is not None
    _rate(app, a, [4], TODAY - timedelta(days=1))  # eleven, 3.0: back at the floor
    product = _product(app, a)
    assert product.watch_since is None and product.watch_rating is None
    assert _count(app, a, AuditEvent, AuditEvent.action == "product.watch_left") == 1
    # The old bad ratings, still in the window, do not put it back: they judged the product before it changed.
    assert _evaluate(app, a).flagged == []
    page = login_as("a", Role.TENANT_ADMIN).get("/scorecards").text
    assert OVEN not in page.split('id="watch-list"')[1].split("</section>")[0]


def test_the_daily_job_is_queued_once_per_company_and_day_and_runs_idempotently(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    from worker.handlers import JobContext, rating_rule

    a = tenants["a"].id
    with app.app_context():
        with tenancy.tenant_session(a) as session:  # ratings stored without the rule (as a failed run would leave)
            session.add_all([Rating(product=OVEN, stars=1, rated_on=TODAY) for _ in range(10)])
        first = scorecards.schedule_rating_rule(utcnow())
        again = scorecards.schedule_rating_rule(utcnow())
    assert first == 2 and again == 0  # companies A and B, not the platform
    context = JobContext(job_id=0, kind=rating_rule.KIND, tenant_id=a, payload={"day": TODAY.isoformat()},
                         attempt=1, max_attempts=1, settings=app.config["ECOUTE"])
    with app.app_context():
        rating_rule.Handler().run(context)
        rating_rule.Handler().run(context)
    assert _product(app, a).watch_since is not None
    assert _count(app, a, Alert, Alert.kind == RuleKind.RATING) == 1


def test_the_schedule_is_registered_with_the_worker() -> None:
    from webapp.services import periodic
    from worker.handlers import registry

    schedule = next(s for s in periodic.SCHEDULES if s.name == "rating_rule")
    assert schedule.kinds == {scorecards.RATING_RULE} and scorecards.RATING_RULE in registry()


# --- the score estimated from voices -----------------------------------------------------------------------


def _voice(app: Flask, tenant_id: int, sentiment: str, product: str = OVEN, rejected: bool = False) -> None:
    with app.app_context():
        complaint_id = factories.make_complaint(tenant_id)
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        complaint.product = product
        session.add(Tag(complaint_id=complaint_id, kind=TagKind.SENTIMENT, value=sentiment, rejected=rejected))


def test_without_ratings_the_score_is_estimated_from_the_voices_sentiment(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"].id
    for sentiment in ("satisfied", "satisfied", "unhappy", "neutral"):
        _voice(app, a, sentiment)
    _voice(app, a, "unhappy", rejected=True)  # a person said "not this one": it counts for nothing
    figures = scorecards.Figures(sentiments={"satisfied": 2, "unhappy": 1, "neutral": 1})
    assert figures.estimated == pytest.approx((5 + 5 + 1 + 3) / 4) and figures.is_estimated
    assert figures.unhappy_share == pytest.approx(0.25) and figures.score == figures.estimated
    assert scorecards.SENTIMENT_SCORES == {"satisfied": 5, "neutral": 3, "unhappy": 1}
    page = login_as("a", Role.QUALITY_MANAGER).get("/scorecards")
    row = page.text.split(f'data-product="{OVEN}"')[-1].split("</tr>")[0]
    assert "3,5" in row and "estimé d'après les voix" in row and "25" in row
    assert "satisfait = 5, neutre = 3, mécontent = 1" in page.text
    # Real ratings replace the estimate, and the rule never uses the estimate.
    _rate(app, a, [2], TODAY)
    card = login_as("a", Role.QUALITY_MANAGER).get("/scorecards").text.split(f'data-product="{OVEN}"')[-1]
    assert "2,0" in card.split("</tr>")[0] and "estimé" not in card.split("</tr>")[0]


def test_the_scorecard_shows_the_trend_by_month(app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"].id
    _rate(app, a, [5, 4], TODAY)
    _rate(app, a, [1], TODAY.replace(day=1) - timedelta(days=1))
    product = _product(app, a)
    page = login_as("a", Role.TENANT_ADMIN).get(f"/scorecards/{product.id}")
    assert page.status_code == 200
    rows = page.text.split('id="trend"')[1].split("<tbody>")[1].split("</tr>")
    assert "4,5" in rows[0] and "1,0" in rows[1] and len(rows) == 13  # twelve months
    for sentiment in ("unhappy", "satisfied", "satisfied", "neutral"):
        _voice(app, a, sentiment)
    _voice(app, a, "unhappy", product="Grille-pain")
    page = login_as("a", Role.TENANT_ADMIN).get(f"/scorecards/{product.id}")
    this_month = page.text.split('id="trend"')[1].split("<tbody>")[1].split("</tr>")[0]
    cells = [c.split("</td>")[0].strip() for c in this_month.split("<td>")[1:]]
    assert cells[2:] == ["0", "4", "25\u00a0%"]  # calls, complaints, unhappy share (French)


# --- who reads which scorecard -----------------------------------------------------------------------------


def test_staff_read_the_scorecards_of_their_products_and_departments_only(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"].id
    _rate(app, a, [4], TODAY)
    _rate(app, a, [4], TODAY, product="Grille-pain")
    staff = login_as("a", Role.STAFF)
    assert staff.get("/scorecards").status_code == 200 and OVEN not in staff.get("/scorecards").text
    oven = _product(app, a)
    assert staff.get(f"/scorecards/{oven.id}").status_code == 403
    _give_owner(app, tenants, Role.QUALITY_MANAGER, department="Cuisine")
    assert staff.get(f"/scorecards/{oven.id}").status_code == 403
    with app.app_context(), tenancy.tenant_session(a) as session:
        person = session.get(User, tenants["a"].users[Role.STAFF].id)
        assert person is not None
        person.department = "Cuisine"
    assert staff.get(f"/scorecards/{oven.id}").status_code == 200  # their department's product
    listing = staff.get("/scorecards").text
    assert OVEN in listing and "Grille-pain" not in listing
    _give_owner(app, tenants, Role.STAFF)
    assert staff.get(f"/scorecards/{oven.id}").status_code == 200  # their own
    assert 'action="/products/' not in staff.get(f"/scorecards/{oven.id}").text  # only admins mark it modified


# --- the products admin ------------------------------------------------------------------------------------


def test_admin_lists_every_product_and_sets_family_department_owner_and_modified(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"].id
    with app.app_context():
        factories.make_call(a, product="Lave-linge L5")
    _voice(app, a, "neutral", product="Sèche-linge S1")
    _rate(app, a, [3], TODAY)
    admin = login_as("a", Role.TENANT_ADMIN)
    page = admin.get("/products")
    assert page.status_code == 200
    for name in ("Lave-linge L5", "Sèche-linge S1", OVEN):
        assert f'data-product="{name}"' in page.text
    oven = _product(app, a)
    owner = tenants["a"].users[Role.QUALITY_MANAGER]
    saved = admin.post(f"/products/{oven.id}", {"family": " Cuisson ", "department": "Cuisine",
                                               "owner_id": str(owner.id)})
    assert saved.status_code == 303
    oven = _product(app, a)
    assert (oven.family, oven.department, oven.owner_id) == ("Cuisson", "Cuisine", owner.id)
    with app.app_context():
        other = factories.make_user(tenants["b"].id)
    refused = admin.post(f"/products/{oven.id}", {"family": "", "department": "", "owner_id": str(other.id)})
    assert refused.status_code == 422 and "Choisissez le responsable dans la liste" in refused.text
    assert _product(app, a).owner_id == owner.id
    assert admin.post(f"/products/{oven.id}/modified").status_code == 303
    assert _product(app, a).modified_at is not None
    assert _count(app, a, AuditEvent, AuditEvent.action.in_(["product.updated", "product.modified"])) == 2
    journal = admin.get("/people/journal").text
    assert f'href="/products#product-{oven.id}">{OVEN}</a>' in journal and "Produit marqué comme modifié" in journal
    assert login_as("a", Role.QUALITY_MANAGER).get("/products").status_code == 403


# --- the CSV import -----------------------------------------------------------------------------------------


def _import(client: Client, content: bytes, name: str = "notes.csv") -> Any:
    return client.post_multipart("/scorecards/ratings", {"csrf_token": client.csrf_token(),
                                                         "csv": (io.BytesIO(content), name)})


def test_a_csv_in_french_is_imported_and_imported_again_counts_nothing_twice(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER)
    day = (TODAY - timedelta(days=3)).strftime("%d/%m/%Y")
    csv_text = (f"Produit;Note;Date;Avis;Identifiant\n{OVEN};4;{day};Très bien;r-1\n"
                f"{OVEN};2/5;{TODAY.isoformat()};« Chauffe mal »;r-2\nGrille-pain;5;{day};;\n\n")
    done = _import(qm, csv_text.encode("cp1252"))
    assert done.status_code == 303
    assert _count(app, tenants["a"].id, Rating) == 3
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        first = session.scalars(select(Rating).where(Rating.external_id == "r-2")).one()
        assert (first.stars, first.rated_on, first.text, first.source) == (2, TODAY, "« Chauffe mal »",
                                                                           RatingSource.CSV)
    again = _import(qm, f"product,rating,date,text,id\n{OVEN},4,{day},Très bien,r-1\n".encode())
    assert again.status_code == 303 and _count(app, tenants["a"].id, Rating) == 3
    assert "1 déjà connue" in qm.get("/scorecards").text


def test_ratings_without_ids_imported_twice_are_stored_once(app: Flask, tenants: dict[str, TenantSet],
                                                             login_as: Any) -> None:
    """Without an id, a rating is known by its product, stars, date and text, counted: the same file twice
    stores nothing more, two customers' identical ratings are two, and a third one later is one more."""
    qm = login_as("a", Role.QUALITY_MANAGER)
    day = (TODAY - timedelta(days=3)).isoformat()
    rows = (f"product,rating,date,text\n{OVEN},4,{day},Bien\n{OVEN},5,{day},\n{OVEN},5,{day},\n"
            f"Grille-pain,3,{day},Bien\n")
    assert _import(qm, rows.encode()).status_code == 303
    assert _count(app, tenants["a"].id, Rating) == 4
    assert _import(qm, rows.encode()).status_code == 303
    assert _count(app, tenants["a"].id, Rating) == 4
    assert "4 déjà connues" in qm.get("/scorecards").text
    assert _import(qm, (rows + f"{OVEN},5,{day},\n").encode()).status_code == 303
    assert _count(app, tenants["a"].id, Rating) == 5
    with app.app_context():
        token = factories.make_api_token(tenants["a"].id, TokenScope.INGEST).raw
    item = {"product": OVEN, "rating": 4, "date": day, "text": "Bien"}
    again = _post(app, token, [item, {**item, "text": "Bien !"}])
    assert again.status_code == 201 and [r["duplicate"] for r in again.get_json()["ratings"]] == [True, False]
    assert _count(app, tenants["a"].id, Rating) == 6
    with app.app_context():  # another company's identical ratings are its own
        b_token = factories.make_api_token(tenants["b"].id, TokenScope.INGEST).raw
    assert _post(app, b_token, [item]).status_code == 201 and _count(app, tenants["b"].id, Rating) == 1


def test_a_csv_with_bad_lines_is_refused_whole_with_each_lines_problem(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    csv_text = (f"product,rating,date\n{OVEN},4,{TODAY}\n{OVEN},7,{TODAY}\n,3,hier\n{OVEN},5,{tomorrow}\n"
                f"{OVEN},4,{TODAY}\n")
    refused = _import(qm, csv_text.encode())
    assert refused.status_code == 422
    assert _count(app, tenants["a"].id, Rating) == 0  # nothing half-imported
    problems = refused.text.split('id="import-problems"')[1].split("</ul>")[0]
    assert "Ligne 3" in problems and "entier de 1 à 5" in problems
    assert "Ligne 4" in problems and "Nommez le produit." in problems and "hier" in problems
    assert "Ligne 5" in problems and "futur" in problems
    assert "Ligne 2" not in problems and "Ligne 6" not in problems
    header = _import(qm, b"nom;valeur\nx;y\n")
    assert header.status_code == 422 and "product" in header.text
    clash = _import(qm, f"product,rating,date,id\n{OVEN},4,{TODAY},x\n{OVEN},2,{TODAY},x\n".encode())
    assert clash.status_code == 409 and _count(app, tenants["a"].id, Rating) == 0
    assert login_as("a", Role.STAFF).get("/scorecards").status_code == 200
    assert 'id="ratings-import"' not in login_as("a", Role.STAFF).get("/scorecards").text


# --- the API ------------------------------------------------------------------------------------------------


def _post(app: Flask, token: str, body: Any) -> Any:
    return app.test_client(use_cookies=False).post("/api/v1/ratings", json=body,
                                                   headers={"Authorization": f"Bearer {token}"})


def test_api_ratings_are_idempotent_by_external_id(app: Flask, tenants: dict[str, TenantSet]) -> None:
    from jsonschema import Draft202012Validator

    from webapp import openapi
    from webapp.config import Settings

    with app.app_context():
        token = factories.make_api_token(tenants["a"].id, TokenScope.INGEST).raw
        reader = factories.make_api_token(tenants["a"].id, TokenScope.READ).raw
    items = [{"product": OVEN, "rating": 4, "date": TODAY.isoformat(), "text": "Parfait", "external_id": "s-1"},
             {"product": OVEN, "rating": "2", "date": TODAY.isoformat(), "external_id": 17}]
    created = _post(app, token, items)
    assert created.status_code == 201
    body = created.get_json()
    spec = openapi.document(Settings(secret_key="x"))
    Draft202012Validator({"$ref": "#/components/schemas/RatingsStored", "components": spec["components"]}
                         ).validate(body)
    assert (body["created"], body["duplicates"]) == (2, 0)
    assert [r["external_id"] for r in body["ratings"]] == ["s-1", "17"]
    again = _post(app, token, items)
    assert again.status_code == 200 and again.get_json()["duplicates"] == 2
    assert [r["id"] for r in again.get_json()["ratings"]] == [r["id"] for r in body["ratings"]]
    assert _count(app, tenants["a"].id, Rating) == 2
    other = _post(app, token, [{**items[0], "rating": 1}, {"product": OVEN, "rating": 5, "date": TODAY.isoformat()}])
    assert other.status_code == 409 and other.get_json()["code"] == "idempotency_conflict"
    bad = _post(app, token, [{"product": OVEN, "rating": 5, "date": TODAY.isoformat()},
                             {"product": OVEN, "rating": 0, "date": "2026-13-01", "colour": "red"},
                             {"product": "", "rating": 3, "date": TODAY.isoformat()}])
    assert bad.status_code == 422 and bad.get_json()["code"] == "ratings_refused"
    assert "Item 2" in bad.get_json()["message"] and "Item 3" in bad.get_json()["message"]
    assert _count(app, tenants["a"].id, Rating) == 2  # nothing of the refused requests
    odd = _post(app, token, [{"product": "Four\x00 X3", "rating": 3, "date": TODAY.isoformat(), "text": "a\ud800b"}])
    assert odd.status_code == 201 and odd.get_json()["ratings"][0]["text"] == "a\ufffdb"
    assert odd.get_json()["ratings"][0]["product"] == "Four X3"
    assert _post(app, reader, items).status_code == 403
    assert _post(app, token, {"product": OVEN}).status_code == 422
    raw = app.test_client(use_cookies=False).post("/api/v1/ratings", data="[", content_type="application/json",
                                                  headers={"Authorization": f"Bearer {token}"})
    assert raw.status_code == 400 and raw.get_json()["code"] == "invalid_json"
    # Company B's system sending the same external ids makes its own ratings.
    with app.app_context():
        b_token = factories.make_api_token(tenants["b"].id, TokenScope.INGEST).raw
    assert _post(app, b_token, items).status_code == 201
    assert _count(app, tenants["b"].id, Rating) == 2 and _count(app, tenants["a"].id, Rating) == 3


def test_api_ratings_apply_the_rule_at_once(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        token = factories.make_api_token(tenants["a"].id, TokenScope.INGEST).raw
    items = [{"product": OVEN, "rating": 1, "date": TODAY.isoformat(), "external_id": f"k-{n}"} for n in range(10)]
    assert _post(app, token, items).status_code == 201
    assert _product(app, tenants["a"].id).watch_since is not None
    assert _count(app, tenants["b"].id, Alert) == 0


def test_a_product_named_in_other_capitals_or_spaces_is_the_same_product(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    """"FOUR  x2" in a CSV, a call or a register entry is the "Four X2" the company already named: one product
    on every page, and a rating sent again in other capitals is known; another company's spelling is its own."""
    from webapp.models import Call, Channel, RegisterEntry
    from webapp.services import register

    a = tenants["a"].id
    day = TODAY - timedelta(days=3)
    _rate(app, a, [4], day)  # "Four X2"
    qm = login_as("a", Role.QUALITY_MANAGER)
    assert _import(qm, f"product,rating,date,text\nFOUR  x2,4,{day.isoformat()},\n".encode()).status_code == 303
    assert _count(app, a, Rating) == 1  # the same rating, known
    assert _import(qm, f"product,rating,date,text\nfour x2,2,{day.isoformat()},\n".encode()).status_code == 303
    with app.app_context():
        call_id = factories.make_call(a, product="  four X2 ")
        factories.make_call(tenants["b"].id, product="FOUR X2")
    with app.app_context(), tenancy.tenant_session(a) as session:
        entry = register.create_entry(session, actor=register.Actor.machine(), received_on=day,
                                      channel=Channel.LETTER, product="four x2")
        assert [r.product for r in session.scalars(select(Rating))] == [OVEN, OVEN]
        assert session.get(Call, call_id).product == OVEN  # type: ignore[union-attr]
        assert session.get(RegisterEntry, entry.id).product == OVEN  # type: ignore[union-attr]
        assert [p.name for p in products.sync_products(session)] == [OVEN]
        assert products.spelling(session, "Grille-pain") == "Grille-pain"  # a new name is kept as given
        assert products.spelling(session, "grille-PAIN") == "Grille-pain"
    with app.app_context(), tenancy.tenant_session(tenants["b"].id) as session:
        assert [p.name for p in products.sync_products(session)] == ["FOUR X2"]
    assert qm.get("/scorecards").text.count(OVEN) >= 1 and "FOUR" not in qm.get("/scorecards").text
