"""Review pack benchmark: the time to build a product's pack, as a page and as a PDF, on PostgreSQL with
20,000 voices about the product.

    .venv/bin/python benchmarks/review_pack.py [--voices 20000] [--others 20000] [--requests 20] [--pdfs 5]

**Set-up.** A throwaway PostgreSQL cluster (tests/support/pgcluster.py, as benchmarks/insights.py
does), the app's migrations, one company with an admin and a product "Four X" owned by a staff
member. ``--voices`` voices about it (half calls, half written complaints) and ``--others`` about 30
other products, received uniformly over 2025-07-01 to 2026-06-30 (the pack's semester, 2026-H1, and
the one before), bulk-inserted through the tenant's Session (row-level security on), each with a
sentiment (45 % unhappy), one or two main topics, a passing mention for one in five, a complaint
reason (of 6, with the words that made it) for half the complaints, and a phone number tagged as
personal data in one complaint in ten; 300 register entries about the product (a third answered and
upheld in the semester, the rest open, many overdue). ``ANALYZE`` runs after the load.

**Measure.** The pack's page (``GET /review-packs?scope=product:<id>&period=2026-H1``, logged in as
the admin), 3 times unmeasured then ``--requests`` times: p50, p95, max and its SQL statements. The
PDF as the worker makes it (``review_pack_pdf``: gather, render the template, lay out with WeasyPrint,
store), ``--pdfs`` times, with each step timed apart, and the PDF's size and pages.

Results: a table on stdout and ``benchmarks/results/review_pack-<UTC stamp>.json`` plus
``review_pack-latest.json``. The cluster and the temporary folder are removed at the end.
"""

# ruff: noqa: E402 - sys.path is fixed before the other imports (below)
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import io
import platform
import random
import re
import statistics
import time
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert

from benchmarks.insights import postgres_app
from benchmarks.results import save

PASSWORD = "bench-pack-password"  # noqa: S105 - a throwaway cluster's only user
TOPICS = ["delivery", "billing", "product", "staff", "waiting", "after_sales", "website"]
REASONS = [("late", "Retard", "Late"), ("broken", "Cassé", "Broken"), ("refund", "Remboursement", "Refund"),
           ("double_charge", "Double prélèvement", "Double charge"), ("rude", "Impoli", "Rude"),
           ("missing", "Manquant", "Missing")]
CHANNELS = ["phone", "store", "email", "web", "letter"]
PRODUCT = "Four X"
OTHERS = [f"Produit {i:02d}" for i in range(30)]
START = datetime(2025, 7, 1, tzinfo=UTC)
SECONDS = 365 * 86400
BATCH = 5000
TEXT = "Le four est tombé en panne après une semaine, rappelez-moi au 06 12 34 56 78 s'il vous plaît."


def load(app: Any, tenant_id: int, *, voices: int, others: int, seed: int) -> float:
    """Bulk-insert the voices, their tags and the register entries; return the seconds it took."""
    from webapp import tenancy
    from webapp.models import Call, Complaint, Label, LabelKind, RegisterEntry, Tag

    rng = random.Random(seed)  # noqa: S311 - synthetic data
    phone = TEXT.index("06 12")
    started = time.perf_counter()
    with app.app_context():
        with tenancy.tenant_session(tenant_id) as session:
            for key, fr, en in REASONS:
                session.add(Label(kind=LabelKind.REASON, key=key, label_fr=fr, label_en=en))
        plan = [(PRODUCT, voices), ("", others)]
        n = 0
        for product, total in plan:
            for model, count in ((Call, total // 2), (Complaint, total - total // 2)):
                done = 0
                while done < count:
                    size = min(BATCH, count - done)
                    with tenancy.tenant_session(tenant_id) as session:
                        rows = []
                        for _ in range(size):
                            n += 1
                            row: dict[str, Any] = {
                                "tenant_id": tenant_id, "agent": "Agent", "channel": rng.choice(CHANNELS),
                                "received_at": START + timedelta(seconds=rng.randrange(SECONDS)),
                                "product": product or rng.choice(OTHERS)}
                            if model is Call:
                                row.update(storage_key=f"bench/{n}", content_type="audio/wav", size_bytes=1000,
                                           sha256=f"{n:064x}", duration_seconds=60.0, status="ready")
                            else:
                                row.update(text=TEXT, text_folded=TEXT.lower())
                            rows.append(row)
                        ids = list(session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True),
                                                   rows))
                        owner = "call_id" if model is Call else "complaint_id"
                        tags: dict[tuple[int, str, str], dict[str, Any]] = {}
                        for voice_id in ids:
                            mood = rng.choices(["unhappy", "satisfied", "neutral"], [.45, .35, .2])[0]
                            picked: list[tuple[str, str, bool, list[Any]]] = [("sentiment", mood, False, [])]
                            topics = rng.sample(TOPICS, rng.choice([1, 1, 2]))
                            picked += [("topic", topic, False, []) for topic in topics]
                            if rng.random() < .2:
                                picked.append(("topic", "waiting", True, []))
                            if model is Complaint and rng.random() < .5:
                                picked.append(("reason", rng.choice(REASONS)[0], False, ["en panne"]))
                            if model is Complaint and rng.random() < .1:
                                picked.append(("pii", "phone", False, [[phone, phone + 14]]))
                            # one row per (voice, kind, value): a passing "waiting" on a voice about it is dropped
                            for kind, value, mention, evidence in picked:
                                tags.setdefault((voice_id, kind, value), {
                                    "tenant_id": tenant_id, owner: voice_id, "kind": kind, "value": value,
                                    "confidence": 0.9, "mention": mention, "evidence": evidence})
                        session.execute(insert(Tag), list(tags.values()))
                    done += size
        with tenancy.tenant_session(tenant_id) as session:
            entries = []
            for i in range(300):
                answered = i % 3 == 0
                received = date(2026, 1, 1) + timedelta(days=rng.randrange(170))
                entries.append({
                    "tenant_id": tenant_id, "year": 1999, "number": i + 1, "reference": f"REC-1999-{i + 1:06d}",
                    "subject": f"Réclamation {i + 1}", "received_on": received, "product": PRODUCT,
                    "status": "answered" if answered else rng.choice(["received", "acknowledged", "investigating"]),
                    "acknowledge_by": received + timedelta(days=12), "answer_by": received + timedelta(days=60),
                    "outcome": "upheld" if answered else None, "channel": "email", "reasons": [],
                    "answered_at": datetime.combine(received + timedelta(days=20), datetime.min.time(), UTC)
                    if answered else None})
            session.execute(insert(RegisterEntry), entries)
    return time.perf_counter() - started


def login(client: Any, email: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    answer = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)})
    assert answer.status_code == 303, answer.status_code


def measure(app: Any, client: Any, url: str, *, requests: int, warmup: int) -> dict[str, Any]:
    from webapp.db import get_database

    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    for _ in range(warmup):
        assert client.get(url).status_code == 200
    engine = get_database(app).engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
        per_request = statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{url}: {answer.status_code}")
    times.sort()
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
    return {"url": url, "requests": requests, "p50_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1),
            "max_ms": round(times[-1], 1), "statements": per_request}


def pdf_once(app: Any, tenant_id: int, admin_id: int, product_id: int) -> dict[str, float]:
    """Make the PDF as the review_pack_pdf job does, each step timed (seconds)."""
    from webapp import pdf, storage, tenancy
    from webapp.models import Tenant, User
    from webapp.services import review_packs
    from worker.handlers import review_pack_pdf

    settings = app.config["ECOUTE"]
    with app.app_context():
        t0 = time.perf_counter()
        with tenancy.tenant_session(tenant_id) as session:
            user = session.get(User, admin_id)
            tenant = session.get(Tenant, tenant_id)
            assert user is not None and tenant is not None
            scope = review_packs.resolve_scope(session, user, f"product:{product_id}")
            assert scope is not None
            pack = review_packs.build_pack(session, scope, review_packs.Period(2026, 1), locale="fr")
            t1 = time.perf_counter()
            html = review_pack_pdf.document(settings, pack, lang="fr", company=tenant.name, opens_voices=True)
        t2 = time.perf_counter()
        body = pdf.render(html)
        t3 = time.perf_counter()
        storage.get_storage(settings).write(review_packs.pdf_key(tenant_id, 1), io.BytesIO(body),
                                            content_type="application/pdf")
        t4 = time.perf_counter()
    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(body)).pages)
    return {"gather_s": t1 - t0, "template_s": t2 - t1, "weasyprint_s": t3 - t2, "store_s": t4 - t3,
            "total_s": t4 - t0, "bytes": len(body), "pages": pages}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", type=int, default=20_000)
    parser.add_argument("--others", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--pdfs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    from tests import factories
    from tests.support.pgcluster import APP_DATABASE
    from webapp import tenancy
    from webapp.models import Product, Role

    with ExitStack() as stack:
        app, cluster = postgres_app(stack, "pack", "fr")
        with app.app_context():
            tenant = factories.make_tenant(slug="bench", name="Bench", locale="fr")
            admin = factories.make_user(tenant, role=Role.TENANT_ADMIN, email="admin@bench.example", password=PASSWORD)
            staff = factories.make_user(tenant, role=Role.STAFF, email="staff@bench.example", password=PASSWORD)
            with tenancy.tenant_session(tenant) as session:
                product = Product(name=PRODUCT, family="Cuisson", owner_id=staff.id)
                session.add(product)
                session.flush()
                product_id = product.id
        load_s = load(app, tenant, voices=args.voices, others=args.others, seed=args.seed)
        cluster.psql("ANALYZE", dbname=APP_DATABASE)
        print(f"loaded {args.voices:,} voices about {PRODUCT} and {args.others:,} others in {load_s:.0f} s")

        client = app.test_client()
        login(client, admin.email)
        page = measure(app, client, f"/review-packs?scope=product:{product_id}&period=2026-H1",
                       requests=args.requests, warmup=3)
        runs = [pdf_once(app, tenant, admin.id, product_id) for _ in range(args.pdfs)]

    steps = {key: round(statistics.median(r[key] for r in runs) * 1000, 1)
             for key in ("gather_s", "template_s", "weasyprint_s", "store_s", "total_s")}
    print(f"\npage: p50 {page['p50_ms']:.1f} ms, p95 {page['p95_ms']:.1f} ms, max {page['max_ms']:.1f} ms, "
          f"{page['statements']} SQL statements")
    print(f"PDF (median of {args.pdfs}): " + ", ".join(f"{k[:-2]} {v:.1f} ms" for k, v in steps.items())
          + f"; {runs[0]['pages']} pages, {runs[0]['bytes']:,} bytes")
    path = save("review_pack", {
        "when": datetime.now(UTC).isoformat(), "machine": platform.node(), "python": platform.python_version(),
        "voices": args.voices, "others": args.others, "load_s": round(load_s, 1), "page": page,
        "pdf_median_ms": steps, "pdf_pages": runs[0]["pages"], "pdf_bytes": runs[0]["bytes"],
        "pdf_runs_total_ms": [round(r["total_s"] * 1000, 1) for r in runs]})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
