"""The admin's side of the customer room's screens in Debian's Chromium (issue #16, item 8): the proof-of-play
report reached from the screens page, its range and its download; the company's look (logo and accent
colour) on the company settings page; each page passes axe-core."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import OpenPage
from tests.browser.test_layout import accessibility
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from webapp import tenancy
from webapp.models import Kiosk, Role, Tenant
from webapp.services import proof_of_play


def test_the_admin_reads_the_proof_of_play(app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage) -> None:
    a = tenants["a"].id
    with app.app_context():
        clip = factories.make_clip(a, factories.make_ready_call(a), title="Livraison en retard")
        ref = factories.make_kiosk(a, name="Salle client Lyon")
        with tenancy.tenant_session(a) as session:
            kiosk = session.get(Kiosk, ref.id)
            assert kiosk is not None
            at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
            proof_of_play.count_plays(session, kiosk, [(clip, at), (clip, at), (999_999, at)])
    fr = translator(app, "fr")
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    page.goto("/settings/kiosks")
    assert accessibility(page) == []
    page.get_by_role("link", name=fr("Proof of play"), exact=True).click()
    page.get_by_label(fr("From"), exact=True).fill("2026-11-01")
    page.get_by_label(fr("To"), exact=True).fill("2026-11-30")
    page.get_by_role("button", name=fr("Show"), exact=True).click()
    expect(page.locator("#plays-total")).to_contain_text("3 lectures du")
    expect(page.locator(f'#plays-clips tr[data-clip="{clip}"] td')).to_have_text("2")
    expect(page.locator('#plays-clips tr[data-clip="999999"] th')).to_have_text(fr("clip erased"))
    expect(page.locator(f'#plays-screens tr[data-kiosk="{ref.id}"] th')).to_have_text("Salle client Lyon")
    expect(page.locator(".downloads a").first).to_have_attribute(
        "href", "/settings/kiosks/plays.csv?start=2026-11-01&end=2026-11-30")
    assert accessibility(page) == []


def test_the_admin_gives_the_screens_the_companys_look(app: Flask, tenants: dict[str, TenantSet],
                                                       new_page: OpenPage, tmp_path: Path) -> None:
    from tests.test_kiosk_look import png

    logo = tmp_path / "logo.png"
    logo.write_bytes(png(4, 4))
    fr = translator(app, "fr")
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    page.goto("/settings/company#look-settings")
    page.get_by_label(fr("Accent colour"), exact=True).fill("#1d4ed8")
    page.get_by_label(fr("Logo (PNG or JPEG, 512 KB at most)"), exact=True).set_input_files(str(logo))
    page.get_by_role("button", name=fr("Save the screens' look"), exact=True).click()
    expect(page.get_by_role("status")).to_have_text(fr("Saved. The screens show it within a minute."))
    expect(page.locator("#logo-state")).to_be_visible()
    expect(page.get_by_label(fr("Accent colour"), exact=True)).to_have_value("#1d4ed8")
    assert accessibility(page) == []
    with app.app_context(), tenancy.all_tenants_session() as session:
        tenant = session.get(Tenant, tenants["a"].id)
        assert tenant is not None and tenant.accent_color == "#1d4ed8" and tenant.logo_key.endswith(".png")
