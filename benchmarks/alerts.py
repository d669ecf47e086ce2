"""Alert evaluation benchmark: the nightly evaluation of 100 companies' alert rules, on SQLite and on
PostgreSQL.

    .venv/bin/python benchmarks/alerts.py [--companies 100] [--voices 1000] [--engines sqlite,postgresql]

**Set-up.** For each engine, a fresh database with the app's migrations (PostgreSQL: a throwaway cluster,
tests/support/pgcluster.py, under row-level security as the app runs). ``--companies`` companies, each
with ``--voices`` voices (60 % calls, 40 % written complaints) received over the 35 days before the
evaluation day (a 7-day window and its 28-day baseline), bulk-inserted through each company's own
Session, with their tags: one sentiment (30 % unhappy), one or two main topics, a passing mention for
one voice in five, a complaint reason for half the complaints; one company in ten has a surge of one
topic and a new reason in the window, so that alerts are raised. Each company has the four rules of a
typical set-up: unhappy share of everything over 40 %, unhappy share of one product over 40 %, a
significant rise of any topic, a new or emerging reason.

**Measure.** ``webapp.services.alerts.evaluate`` for each company in its own Session (as the
``evaluate_alerts`` job runs it), one company after the other as one worker would: the total, and
p50/p95/max per company, the SQL statements one company costs, the alerts raised; then the same
again (a second worker, or a second run the same day), which must raise nothing.

Results: a table on stdout and ``benchmarks/results/alerts-<UTC stamp>.json`` plus ``alerts-latest.json``.
Exit status 1 if the second pass raised an alert (a storm), else 0.
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
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert

from benchmarks.results import save

TODAY = date(2026, 12, 2)  # a Wednesday: the window is 23-29 November, the baseline the 28 days before
TOPICS = ["delivery", "billing", "product", "staff", "waiting", "after_sales", "website"]
REASONS = ["late", "broken", "refund", "double_charge", "rude", "missing"]
PRODUCTS = [f"Produit {i:02d}" for i in range(20)]


def _received(rng: random.Random, *, in_window: bool = False) -> datetime:
    first = TODAY - timedelta(days=9 if in_window else 37)
    span = 7 if in_window else 35
    return datetime.combine(first, datetime.min.time(), tzinfo=UTC) + timedelta(seconds=rng.randint(0, span * 86400))


def load(app: Any, tenant_id: int, voices: int, rng: random.Random, *, surge: bool) -> None:
    """The company's voices and tags, and its four rules."""
    from webapp import tenancy
    from webapp.models import AlertRule, Call, Complaint, Dimension, RuleKind, Tag

    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        for model, count in ((Call, voices * 6 // 10), (Complaint, voices - voices * 6 // 10)):
            rows = []
            for n in range(count):
                row: dict[str, Any] = {"tenant_id": tenant_id, "received_at": _received(rng),
                                       "product": rng.choice(PRODUCTS)}
                if model is Call:
                    row.update(storage_key=f"bench/{tenant_id}/{n}", content_type="audio/wav", size_bytes=1000,
                               sha256=f"{tenant_id:08x}{n:056x}", duration_seconds=60.0, status="ready")
                else:
                    row.update(text="Le colis est arrivé en retard.", text_folded="le colis est arrive en retard.")
                rows.append(row)
            ids = list(session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))
            owner = "call_id" if model is Call else "complaint_id"
            tags: dict[tuple[int, str, str], dict[str, Any]] = {}

            def tag(voice_id: int, kind: str, value: str, mention: bool = False,
                    _tags: dict[tuple[int, str, str], dict[str, Any]] = tags, _owner: str = owner) -> None:
                _tags.setdefault((voice_id, kind, value), {"tenant_id": tenant_id, _owner: voice_id, "kind": kind,
                                                           "value": value, "mention": mention, "confidence": 0.9})

            for voice_id in ids:
                tag(voice_id, "sentiment", rng.choices(["unhappy", "satisfied", "neutral"], [.3, .45, .25])[0])
                for topic in rng.sample(TOPICS, rng.choice([1, 1, 2])):
                    tag(voice_id, "topic", topic)
                if rng.random() < .2:
                    tag(voice_id, "topic", "waiting", mention=True)
                if model is Complaint and rng.random() < .5:
                    tag(voice_id, "reason", rng.choice(REASONS))
            session.execute(insert(Tag), list(tags.values()))
        if surge:  # a topic jumps and a reason appears in the window
            extra = [{"tenant_id": tenant_id, "received_at": _received(rng, in_window=True), "product": PRODUCTS[0],
                      "text": "Joint cassé.", "text_folded": "joint casse."} for _ in range(60)]
            ids = list(session.scalars(insert(Complaint).returning(Complaint.id, sort_by_parameter_order=True), extra))
            session.execute(insert(Tag), [
                {"tenant_id": tenant_id, "complaint_id": i, "kind": kind, "value": value, "mention": False,
                 "confidence": 0.9}
                for i in ids for kind, value in (("sentiment", "unhappy"), ("topic", "product"),
                                                 ("reason", "broken_seal"))])
        session.add_all([
            AlertRule(name="Unhappy overall", kind=RuleKind.THRESHOLD, threshold=0.40),
            AlertRule(name="Unhappy about Produit 00", kind=RuleKind.THRESHOLD, dimension=Dimension.PRODUCT,
                      value=PRODUCTS[0], threshold=0.40),
            AlertRule(name="Any topic rising", kind=RuleKind.CHANGE, dimension=Dimension.TOPIC, min_count=10),
            AlertRule(name="New reasons", kind=RuleKind.EMERGING, dimension=Dimension.REASON, min_count=10),
        ])


def evaluate_all(app: Any, tenant_ids: list[int]) -> dict[str, Any]:
    """Evaluate each company's rules in its own Session; timings, statements and alerts raised."""
    from webapp import tenancy
    from webapp.db import get_database
    from webapp.services import alerts

    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    times, raised = [], 0
    with app.app_context():
        engine = get_database(app).engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            started_all = time.perf_counter()
            for tenant_id in tenant_ids:
                started = time.perf_counter()
                with tenancy.tenant_session(tenant_id) as session:
                    raised += len(alerts.evaluate(session, TODAY))
                times.append((time.perf_counter() - started) * 1000)
            total = time.perf_counter() - started_all
        finally:
            event.remove(engine, "before_cursor_execute", count)
    times.sort()
    return {"total_s": round(total, 3), "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, round(0.95 * len(times)) - 1)], 1),
            "max_ms": round(times[-1], 1), "statements_per_company": round(statements / len(tenant_ids), 1),
            "alerts": raised}


def run(engine_name: str, args: argparse.Namespace) -> dict[str, Any]:
    from tests import factories
    from webapp import create_app, migrate
    from webapp.config import Settings
    from webapp.db import get_database

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-alerts-")))
        if engine_name == "postgresql":
            from tests.support.pgcluster import APP_DATABASE, PostgresCluster

            cluster = stack.enter_context(PostgresCluster())
            owner_url, rw_url, ops_url = cluster.create_app_database()
        else:
            owner_url = rw_url = ops_url = f"sqlite:///{work / 'bench.sqlite3'}"
        settings = Settings(env="test", data_dir=work / "data", secret_key="bench-alerts",  # noqa: S106
                            default_locale="en", database_url=rw_url, database_owner_url=owner_url,
                            database_ops_url=ops_url).with_overrides({})
        migrate.upgrade(settings)
        app = create_app(settings=settings)
        stack.callback(lambda: get_database(app).dispose())
        rng = random.Random(args.seed)  # noqa: S311 - synthetic data
        started = time.perf_counter()
        tenant_ids = []
        for n in range(args.companies):
            with app.app_context():
                tenant_ids.append(factories.make_tenant(slug=f"bench-{n}", name=f"Bench {n}", locale="en"))
            load(app, tenant_ids[-1], args.voices, rng, surge=n % 10 == 0)
        load_s = time.perf_counter() - started
        if engine_name == "postgresql":
            cluster.psql("ANALYZE", dbname=APP_DATABASE)
        first = evaluate_all(app, tenant_ids)
        second = evaluate_all(app, tenant_ids)
    return {"engine": engine_name, "load_s": round(load_s, 1), "first": first, "again": second}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--companies", type=int, default=100)
    parser.add_argument("--voices", type=int, default=1000, help="voices per company, over 35 days")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    results = [run(name, args) for name in args.engines.split(",")]
    print(f"Alert evaluation: {args.companies} companies, {args.voices} voices each, 4 rules each")
    print(f"{'engine':<11} {'pass':<6} {'total s':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'SQL/co':>7} "
          f"{'alerts':>6}")
    for result in results:
        for name in ("first", "again"):
            r = result[name]
            print(f"{result['engine']:<11} {name:<6} {r['total_s']:>8.2f} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} "
                  f"{r['max_ms']:>7.1f} {r['statements_per_company']:>7.1f} {r['alerts']:>6}")
    path = save("alerts", {"companies": args.companies, "voices_per_company": args.voices, "rules_per_company": 4,
                           "machine": platform.platform(), "python": platform.python_version(),
                           "results": results})
    print(f"written to {path}")
    return 1 if any(r["again"]["alerts"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
