"""Listening coverage benchmark: the coverage page's latency on PostgreSQL with 10,000 people and
1,000,000 listens in one company (issue #16, item 6).

    .venv/bin/python benchmarks/coverage.py [--people 10000] [--listens 1000000] [--requests 30]
                                            [--warmup 3] [--explain] [--without-0018] [--only-people]

**Set-up.** A throwaway PostgreSQL cluster, the app's migrations, the app as the runtime role under
row-level security (benchmarks.insights.postgres_app, as benchmarks/register.py). One company in Paris with
a company admin, a quality manager and ``--people`` active people in 40 departments (one in 12 a manager,
one in 20 without a department, a few who joined this quarter's last month), bulk-inserted through the
company's own Session; ``--listens`` listens spread over the last 365 days (own listening 70 %, workshops
20 %, room check-ins 10 %; 10 s to 3 min each), so that about a quarter of them fall in the current quarter;
20,000 reactions and 2,000 improvement actions (half from listening) over the same days; another company
with 1,000 people and 100,000 listens beside it. ``VACUUM ANALYZE`` runs after the load.

**Measure.** The Flask test client requests, ``--warmup`` times unmeasured and then ``--requests`` times:
the coverage page as a quality manager for the current quarter and for the one before, and the admin's
per-person list for the current quarter (its first page, its 200th, one department, a name searched;
``--only-people`` measures these alone). Per case: p50, p95 and max in milliseconds, the SQL statements
one request runs and the slowest of them. Target: the coverage page's
p95 <= 300 ms; the per-person table is reported without a target. ``--without-0018`` then drops the
covering index of migration 0018 and measures every case again, for the figures before it.

Results: a table on stdout and ``benchmarks/results/coverage-<UTC stamp>.json`` plus
``coverage-latest.json``. The cluster and the temporary folder are removed at the end, also on failure.
"""

# ruff: noqa: E402 - sys.path is fixed before the other imports (below)
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import platform
import random
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from benchmarks.insights import PASSWORD, login, measure, postgres_app
from benchmarks.results import save

TARGET_P95_MS = 300.0
BATCH = 20_000
DEPARTMENTS = [f"Service {i:02d}" for i in range(40)]


def seed(app: Any, tenant_id: int, *, people: int, listens: int, reactions: int, actions: int,
         rng: random.Random) -> float:
    """People, listens, reactions and actions of one company, bulk-inserted; the seconds taken."""
    from tests import factories
    from webapp import tenancy
    from webapp.models import ImprovementAction, Listen, Reaction, Tenant, User
    from webapp.services.listening import current_quarter, zone_of

    started = time.perf_counter()
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=400)
    with app.app_context():
        clip_id = factories.make_clip(tenant_id, factories.make_ready_call(tenant_id))
        with tenancy.tenant_session(tenant_id) as session:
            tenant = session.get(Tenant, tenant_id)
            assert tenant is not None
            quarter = current_quarter(tenant, now)
            last_month = datetime(quarter.year, quarter.last_month, 1, tzinfo=zone_of(tenant)).astimezone(UTC)
        for start in range(0, people, BATCH):
            rows = [{"tenant_id": tenant_id, "email": f"p{tenant_id}-{i}@bench.example", "name": f"Person {i}",
                     "role": "staff", "status": "active",
                     "department": "" if rng.random() < 0.05 else rng.choice(DEPARTMENTS),
                     "is_manager": rng.random() < 1 / 12,
                     "created_at": last_month + timedelta(days=1) if rng.random() < 0.01 else long_ago}
                    for i in range(start, min(people, start + BATCH))]
            with tenancy.tenant_session(tenant_id) as session:
                session.execute(insert(User), rows)
        with tenancy.tenant_session(tenant_id) as session:
            user_ids = list(session.scalars(select(User.id)))
        sources = ["own"] * 7 + ["workshop"] * 2 + ["room"]
        for start in range(0, listens, BATCH):
            rows = [{"tenant_id": tenant_id, "user_id": rng.choice(user_ids), "source": rng.choice(sources),
                     "clip_id": clip_id, "at": now - timedelta(seconds=rng.uniform(0, 365 * 86400)),
                     "seconds": rng.uniform(10, 180)} for _ in range(start, min(listens, start + BATCH))]
            with tenancy.tenant_session(tenant_id) as session:
                session.execute(insert(Listen), rows)
        drawn = [{"tenant_id": tenant_id, "clip_id": clip_id, "user_id": rng.choice(user_ids),
                  "kind": rng.choice(["understand", "touched", "act"]), "comment": "",
                  "created_at": now - timedelta(seconds=rng.uniform(0, 365 * 86400))} for _ in range(reactions)]
        # Once per person, kind and day (migration 0019's unique index): a few draws fall on the same day.
        once = {(r["user_id"], r["kind"], r["created_at"].date()): r for r in drawn}  # type: ignore[attr-defined]
        with tenancy.tenant_session(tenant_id) as session:
            session.execute(insert(Reaction), list(once.values()))
            session.execute(insert(ImprovementAction), [
                {"tenant_id": tenant_id, "title": f"Action {i}", "problem": "", "status": "proposed",
                 "rejection_reason": "", "origin": rng.choice(["reaction", "workshop", "manual", "clip"]),
                 "topic": "", "reason": "", "product": "", "origin_query": "", "created_by_id": rng.choice(user_ids),
                 "created_at": now - timedelta(seconds=rng.uniform(0, 365 * 86400)), "version": 1}
                for i in range(actions)])
    return time.perf_counter() - started


def explain(app: Any, tenant_id: int) -> list[str]:
    """EXPLAIN ANALYZE of the per-person sums of the current quarter, the query that reads the listens."""
    from sqlalchemy import func
    from sqlalchemy.dialects import postgresql

    from webapp import tenancy
    from webapp.models import Listen, Tenant
    from webapp.services.listening import current_quarter, zone_of

    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        start, end = current_quarter(tenant).bounds(zone_of(tenant))
        stmt = (select(Listen.user_id, func.sum(Listen.seconds)).where(Listen.at >= start, Listen.at < end)
                .group_by(Listen.user_id))
        sql = str(stmt.compile(dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
                               compile_kwargs={"literal_binds": True}))
        return [row[0] for row in session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--listens", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the listens' sums")
    parser.add_argument("--only-people", action="store_true", help="measure the per-person list only")
    parser.add_argument("--without-0018", action="store_true",
                        help="measure again without the covering index of migration 0018")
    args = parser.parse_args()

    from tests import factories
    from tests.support.pgcluster import APP_DATABASE
    from webapp.models import Role
    from webapp.services.listening import Quarter

    rng = random.Random(args.seed)  # noqa: S311 - synthetic data
    with ExitStack() as stack:
        app, cluster = postgres_app(stack, "coverage", "fr")
        with app.app_context():
            tenant = factories.make_tenant(slug="bench", name="Bench", locale="fr")
            admin = factories.make_user(tenant, role=Role.TENANT_ADMIN, email="admin@bench.example", password=PASSWORD)
            manager = factories.make_user(tenant, role=Role.QUALITY_MANAGER, email="qm@bench.example",
                                          password=PASSWORD)
            other = factories.make_tenant(slug="other", name="Other", locale="fr")
            factories.make_user(other, role=Role.TENANT_ADMIN, email="admin@other.example", password=PASSWORD)
        load_s = seed(app, tenant, people=args.people, listens=args.listens, reactions=20_000, actions=2_000, rng=rng)
        seed(app, other, people=args.people // 10, listens=args.listens // 10, reactions=2_000, actions=200, rng=rng)
        cluster.psql("VACUUM ANALYZE", dbname=APP_DATABASE)
        print(f"loaded {args.people:,} people and {args.listens:,} listens in {load_s:.0f} s")
        if args.explain:
            print("\n".join(explain(app, tenant)))

        now = Quarter.of(datetime.now(UTC).date())
        cases: dict[str, dict[str, Any]] = {}
        reader, boss = app.test_client(), app.test_client()
        login(reader, manager.email)
        login(boss, admin.email)
        for label in [""] + (["without 0018"] if args.without_0018 else []):
            if label:
                cluster.psql("DROP INDEX ix_listens_tenant_id_at_covering", dbname=APP_DATABASE)
                cluster.psql("VACUUM ANALYZE listens", dbname=APP_DATABASE)
                if args.explain:
                    print("\n".join(explain(app, tenant)))
            for name, client, url in [
                    ("coverage, this quarter", reader, "/coverage"),
                    ("coverage, the quarter before", reader, f"/coverage?quarter={now.previous.key}"),
                    ("per person (admin), this quarter", boss, "/coverage/people"),
                    ("per person, page 200", boss, "/coverage/people?page=200"),
                    ("per person, one department", boss, f"/coverage/people?department={DEPARTMENTS[7]}"),
                    ("per person, a name searched", boss, "/coverage/people?q=Person+123")][
                    2 if args.only_people else 0:]:
                key = f"{name} ({label})" if label else name
                cases[key] = measure(app, client, url, requests=args.requests, warmup=args.warmup)

    worst = max((case["p95_ms"] for name, case in cases.items() if name.startswith("coverage") and "(" not in name),
                default=0.0)
    print(f"\n{'case':36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL':>5} {'SQL ms':>7}")
    for name, case in cases.items():
        over = name.startswith("coverage") and case["p95_ms"] > TARGET_P95_MS
        print(f"{name:36} {case['p50_ms']:8.1f} {case['p95_ms']:8.1f} {case['max_ms']:8.1f} "
              f"{case['statements']:5d} {case['sql_ms']:7.1f}{'  (over the target)' if over else ''}")
        for slow in case["slowest_sql"][:2]:
            print(f"    {slow['ms']:7.1f} ms  {slow['sql'][:100]}")
    if not args.only_people:
        print(f"\ncoverage page p95, worst case: {worst:.1f} ms; target <= {TARGET_P95_MS:.0f} ms: "
              f"{'met' if worst <= TARGET_P95_MS else 'MISSED'}")
    path = save("coverage", {
        "when": datetime.now(UTC).isoformat(), "machine": platform.node(), "python": platform.python_version(),
        "people": args.people, "listens": args.listens, "load_s": round(load_s, 1), "target_p95_ms": TARGET_P95_MS,
        "worst_p95_ms": worst, "cases": cases})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
