"""The insight dashboard (issue #15, item 3): its figures on a small seeded dataset, the period maths, who
sees what (staff scoped to their products, agent figures for company admins only) and the drill-down."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask

from tests.conftest import TenantSet
from webapp import tenancy
from webapp.models import (
    Call,
    Channel,
    Clip,
    ClipSentiment,
    ClipStatus,
    Complaint,
    Label,
    LabelKind,
    Product,
    Role,
    Tag,
    TagKind,
    User,
)
from webapp.services import calls, insights, significance

END = date(2026, 11, 30)  #: the last day of every period below (a Monday)
WEEK = f"/insights?period=week&end={END.isoformat()}"


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


_seq = itertools.count(1)


def _voice(session: Any, model: type[Call] | type[Complaint], day: date, *, product: str = "",
           channel: Channel = Channel.PHONE, agent: str = "", tags: tuple[tuple[TagKind, str, bool], ...] = ()) -> int:
    if model is Call:
        voice: Any = Call(storage_key="calls/x", content_type="audio/wav", size_bytes=1, sha256=f"{next(_seq):064x}",
                          duration_seconds=1.0, received_at=_at(day), product=product, channel=channel, agent=agent)
    else:
        voice = Complaint(text="Le four est en panne.", text_folded="le four est en panne.", received_at=_at(day),
                          product=product, channel=channel, agent=agent)
    session.add(voice)
    session.flush()
    owner = {"call_id": voice.id} if model is Call else {"complaint_id": voice.id}
    for kind, value, mention in tags:
        session.add(Tag(kind=kind, value=value, mention=mention, **owner))
    return int(voice.id)


UNHAPPY_DELIVERY = ((TagKind.SENTIMENT, "unhappy", False), (TagKind.TOPIC, "delivery", False))
SATISFIED_BILLING = ((TagKind.SENTIMENT, "satisfied", False), (TagKind.TOPIC, "billing", False))


def _seed(tenant_id: int, other_id: int) -> dict[str, int]:
    """Company A, week ending 2026-11-30 (period 24-30 Nov, baseline 27 Oct-23 Nov):

    - calls about delivery (Oven, phone, agent Alice), unhappy: 30 this week against 40 over the 28 days
      before (10 a week): it triples; five of this week's calls also mention billing in passing;
    - complaints about billing (Fridge, e-mail), satisfied: 6 this week, 24 before (the same rate);
    - three complaints with the reason "late" this week (too few to test);
    - a call before the baseline and a call of company B, which count nowhere.
    """
    ids: dict[str, int] = {}
    with tenancy.tenant_session(tenant_id) as session:
        session.add(Label(kind=LabelKind.REASON, key="late", label_fr="Retard", label_en="Late"))
        week = [END - timedelta(days=i % 7) for i in range(30)]
        for i, day in enumerate(week):
            mention = ((TagKind.TOPIC, "billing", True),) if i < 5 else ()
            ids[f"call{i}"] = _voice(session, Call, day, product="Oven", agent="Alice",
                                     tags=UNHAPPY_DELIVERY + mention)
        for i in range(40):
            _voice(session, Call, END - timedelta(days=7 + i % 28), product="Oven", agent="Alice",
                   tags=UNHAPPY_DELIVERY)
        for i in range(6):
            _voice(session, Complaint, END - timedelta(days=i), product="Fridge", channel=Channel.EMAIL,
                   tags=SATISFIED_BILLING)
        for i in range(24):
            _voice(session, Complaint, END - timedelta(days=7 + i), product="Fridge", channel=Channel.EMAIL,
                   tags=SATISFIED_BILLING)
        for i in range(3):
            _voice(session, Complaint, END - timedelta(days=i), product="Fridge", channel=Channel.LETTER,
                   tags=((TagKind.REASON, "late", False),))
        _voice(session, Call, END - timedelta(days=60), product="Oven", agent="Alice", tags=UNHAPPY_DELIVERY)
        session.add(Clip(call_id=ids["call0"], start_s=0.0, end_s=1.0, title="Livreur en retard",
                         sentiment=ClipSentiment.UNHAPPY, status=ClipStatus.APPROVED,
                         captions=[{"start": 0, "end": 1, "text": "le colis n'est jamais arrivé"}]))
        session.add(Clip(call_id=ids["call1"], start_s=0.0, end_s=1.0, title="Brouillon",
                         sentiment=ClipSentiment.UNHAPPY))
    with tenancy.tenant_session(other_id) as session:
        for _ in range(7):
            _voice(session, Call, END, product="Oven", agent="Bob", tags=UNHAPPY_DELIVERY)
    return ids


@pytest.fixture
def seeded(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, int]:
    with app.app_context():
        return _seed(tenants["a"].id, tenants["b"].id)


def _board(app: Flask, tenant: TenantSet, role: Role, period: insights.Period = insights.Period.WEEK,
           ) -> insights.Dashboard:
    with app.app_context(), tenancy.tenant_session(tenant.id) as session:
        user = session.get(User, tenant.users[role].id)
        assert user is not None
        return insights.dashboard(session, user, period, END, "en")


def _by_key(figures: list[insights.Figure]) -> dict[str, insights.Figure]:
    return {f.key: f for f in figures}


# --- the figures -------------------------------------------------------------------------------------------


def test_the_figures_of_a_small_dataset(app: Flask, tenants: dict[str, TenantSet], seeded: dict[str, int]) -> None:
    board = _board(app, tenants["a"], Role.TENANT_ADMIN)
    total = board.totals[0]
    assert (total.calls, total.complaints, total.base_calls, total.base_complaints) == (30, 9, 40, 24)
    assert sum(p.calls for p in board.series) == 70 and sum(p.complaints for p in board.series) == 33
    assert len(board.series) == 35 and board.series[-1].start == END and board.series[-1].current

    topics = _by_key(board.topics)
    assert [f.key for f in board.topics] == ["delivery", "billing"]  # ranked by this period's voices
    delivery = topics["delivery"]
    assert (delivery.calls, delivery.complaints, delivery.base_calls, delivery.base_complaints) == (30, 0, 40, 0)
    assert delivery.label == "Delivery"
    assert delivery.change.significant and delivery.change.flag is significance.Direction.UP
    assert delivery.change.ratio == pytest.approx(3.0)
    billing = topics["billing"]  # main topic of the complaints only: the passing mentions count apart
    assert (billing.calls, billing.complaints, billing.base_complaints) == (0, 6, 24)
    assert billing.change.tested and not billing.change.significant
    assert [(f.key, f.calls, f.complaints) for f in board.mentions] == [("billing", 5, 0)]

    late = _by_key(board.reasons)["late"]
    assert (late.complaints, late.label) == (3, "Late")
    assert not late.change.tested and not late.change.significant  # under the minimum count

    sentiments = _by_key(board.sentiments)
    assert sentiments["unhappy"].calls == 30 and sentiments["satisfied"].complaints == 6
    assert sentiments["unhappy"].change.current == pytest.approx(30 / 36)
    assert sentiments["unhappy"].change.baseline == pytest.approx(40 / 64)
    assert sentiments["neutral"].total == 0

    assert {f.key: (f.calls, f.complaints) for f in board.products} == {"Oven": (30, 0), "Fridge": (0, 9)}
    assert {f.key: f.total for f in board.channels} == {"phone": 30, "email": 6, "letter": 3}
    assert board.agents is not None and {f.key: f.calls for f in board.agents} == {"Alice": 30}


def test_the_page_shows_the_tables_the_charts_and_the_test(app: Flask, login_as: Any, seeded: dict[str, int]) -> None:
    page = login_as("a", Role.TENANT_ADMIN, locale="en").get(WEEK)
    assert page.status_code == 200
    html = page.text
    for table in ("volumes", "sentiments", "topics", "mentions", "reasons", "products", "channels", "agents"):
        assert f'id="{table}-table"' in html, table
    for chart in ("volumes", "sentiments", "topics", "reasons"):
        assert f'id="{chart}-chart"' in html, chart
    assert "vendor/chart.umd.min.js" in html and "js/insights.js" in html
    assert "significant rise" in html and "too few voices to test" in html
    assert "Benjamini-Hochberg" in html and "at least 10 voices" in html
    assert "<script>" not in html  # the charts' data travel in data-chart attributes (strict CSP)


def test_numbers_are_formatted_for_the_readers_language(app: Flask, login_as: Any, seeded: dict[str, int]) -> None:
    french = login_as("a", Role.TENANT_ADMIN).get(WEEK).text
    english = login_as("a", Role.QUALITY_MANAGER, locale="en").get(WEEK).text
    assert "83\u00a0%" in french and "83%" in english  # the unhappy share: 30 of 36
    assert "+200\u00a0%" in french and "+200%" in english  # delivery tripled


def test_period_maths() -> None:
    week = insights.window(insights.Period.WEEK, END)
    assert (week.start, week.end, week.base_start, week.base_end) == (
        date(2026, 11, 24), END, date(2026, 10, 27), date(2026, 11, 23))
    assert (week.days, week.base_days) == (7, 28)
    month = insights.window(insights.Period.MONTH, END)
    assert (month.start, month.base_start, month.days, month.base_days) == (
        date(2026, 10, 31), date(2026, 7, 31), 31, 92)
    semester = insights.window(insights.Period.SEMESTER, date(2026, 12, 31))
    assert (semester.start, semester.base_start, semester.base_end) == (
        date(2026, 7, 1), date(2026, 1, 1), date(2026, 6, 30))
    # the chart's buckets never straddle the two periods and cover every day once
    for win in (week, month, semester):
        buckets = list(insights._buckets(win))
        assert buckets[0][0] == win.base_start and buckets[-1][1] == win.end
        assert all(b[1] + timedelta(days=1) == n[0] for b, n in zip(buckets, buckets[1:], strict=False))
        assert any(start == win.start for start, _end in buckets)
    assert len(list(insights._buckets(semester))) == 12  # months


def test_a_month_is_compared_with_its_quarter_per_day(app: Flask, tenants: dict[str, TenantSet],
                                                      seeded: dict[str, int]) -> None:
    board = _board(app, tenants["a"], Role.QUALITY_MANAGER, insights.Period.MONTH)
    delivery = _by_key(board.topics)["delivery"]
    # 31 October to 30 November against 31 July to 30 October: every call of company A's, the old one too
    assert delivery.calls + delivery.base_calls == 71
    assert delivery.change.current == pytest.approx(delivery.calls / 31)
    assert delivery.change.baseline == pytest.approx(delivery.base_calls / 92)


# --- who sees what -----------------------------------------------------------------------------------------


def test_agent_figures_are_for_company_admins_only(app: Flask, tenants: dict[str, TenantSet], login_as: Any,
                                                   seeded: dict[str, int]) -> None:
    assert _board(app, tenants["a"], Role.QUALITY_MANAGER).agents is None
    html = login_as("a", Role.QUALITY_MANAGER, locale="en").get(WEEK).text
    assert 'id="agents-table"' not in html and "Alice" not in html
    voices = login_as("a", Role.QUALITY_MANAGER, locale="en").get("/insights/voices?agent=Alice&date_from=2026-11-24")
    assert voices.status_code == 200 and "Agent Alice" not in voices.text


def test_staff_with_no_product_get_a_clear_empty_state(app: Flask, login_as: Any, seeded: dict[str, int]) -> None:
    page = login_as("a", Role.STAFF, locale="en").get(WEEK)
    assert page.status_code == 200
    assert 'id="insights-empty"' in page.text and "No product is assigned to you yet" in page.text
    assert 'id="topics-table"' not in page.text


def test_staff_see_their_own_and_their_departments_products_only(app: Flask, tenants: dict[str, TenantSet],
                                                                 login_as: Any, seeded: dict[str, int]) -> None:
    staff = tenants["a"].users[Role.STAFF]
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        session.add(Product(name="Oven", owner_id=staff.id))
    board = _board(app, tenants["a"], Role.STAFF)
    assert [f.key for f in board.products] == ["Oven"] and board.totals[0].complaints == 0
    assert board.agents is None and board.scope.lists is False
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        session.add(Product(name="Fridge", department="Froid"))
        user = session.get(User, staff.id)
        assert user is not None
        user.department = "Froid"
    board = _board(app, tenants["a"], Role.STAFF)
    assert {f.key for f in board.products} == {"Oven", "Fridge"}
    client = login_as("a", Role.STAFF, locale="en")
    html = client.get(WEEK).text
    assert 'id="agents-table"' not in html and "/calls?" not in html and "/complaints?" not in html
    # their drill-down is the voices page: the clips' words, never their audio nor the call's page
    voices = client.get("/insights/voices?topic=delivery&passing=main&date_from=2026-11-24&date_to=2026-11-30")
    assert voices.status_code == 200
    assert "Livreur en retard" in voices.text and "jamais arrivé" in unescape(voices.text)
    assert "/clips/" not in voices.text and "/calls/" not in voices.text and "<audio" not in voices.text


def test_another_companys_voices_never_count(app: Flask, tenants: dict[str, TenantSet], seeded: dict[str, int]) -> None:
    board = _board(app, tenants["b"], Role.TENANT_ADMIN)
    assert board.totals[0].calls == 7 and [f.key for f in board.products] == ["Oven"]
    assert board.agents is not None and [f.key for f in board.agents] == ["Bob"]


# --- the drill-down ----------------------------------------------------------------------------------------

_LINK = re.compile(r'<a href="(/(?:calls|complaints)\?[^"]*)">([\d\s\u00a0\u202f,.]+)</a>')


def _listed(app: Flask, tenant_id: int, url: str) -> int:
    """How many rows the calls or complaints list shows for ``url``'s filters."""
    parts = urlsplit(unescape(url))
    filters = calls.CallFilters.from_args(dict(parse_qsl(parts.query)))
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        if parts.path == "/calls":
            return calls.list_calls(session, filters).total
        return calls.list_complaints(session, 1, filters)[1]


def test_every_number_opens_the_rows_behind_it(app: Flask, tenants: dict[str, TenantSet], login_as: Any,
                                               seeded: dict[str, int]) -> None:
    client = login_as("a", Role.TENANT_ADMIN, locale="en")
    html = client.get(WEEK).text
    links = _LINK.findall(html)
    assert len(links) > 40
    for url, number in links:
        shown = int(re.sub(r"\D", "", number))
        assert _listed(app, tenants["a"].id, url) == shown, (url, number)
    # the lists themselves answer, filtered (the calls list's heading counts its rows)
    delivery = next(url for url, n in links if "topic=delivery" in url and "passing=main" in url
                    and url.startswith("/calls") and "2026-11-24" in url)
    assert "30 calls" in client.get(unescape(delivery)).text
    alice = next(url for url, n in links if "agent=Alice" in url and url.startswith("/calls") and "2026-11-24" in url)
    assert "30 calls" in client.get(unescape(alice)).text


def test_the_voices_behind_a_number_are_its_approved_clips(app: Flask, login_as: Any, seeded: dict[str, int]) -> None:
    client = login_as("a", Role.QUALITY_MANAGER, locale="en")
    page = client.get("/insights/voices?topic=delivery&passing=main&date_from=2026-11-24&date_to=2026-11-30")
    assert page.status_code == 200
    assert "Livreur en retard" in page.text and "Brouillon" not in page.text  # approved clips only
    assert "30 calls" in page.text and "0 complaints" in page.text
    selection = page.text.split('id="selection">', 1)[1].split("</p>", 1)[0]
    assert "Topic Delivery" in selection and "delivery" not in selection  # its label, not its key
    billing = client.get("/insights/voices?topic=billing&passing=main&date_from=2026-11-24&date_to=2026-11-30")
    assert "Livreur en retard" not in billing.text and "6 complaints" in billing.text
    mentions = client.get("/insights/voices?topic=billing&passing=mention&date_from=2026-11-24&date_to=2026-11-30")
    assert "5 calls" in mentions.text


def test_a_bad_period_or_day_is_handled(login_as: Any, seeded: dict[str, int]) -> None:
    client = login_as("a", Role.TENANT_ADMIN, locale="en")
    assert client.get("/insights?period=decade").status_code == 200  # the default period
    assert client.get("/insights?end=9999-01-01").status_code == 400
    assert client.get("/insights/voices?date_from=nonsense&sentiment=angry&topic=DROP").status_code == 200
