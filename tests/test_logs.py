"""Log lines carry the request id and the tenant's short name."""

from __future__ import annotations

import io
import logging
import re

from tests.conftest import TenantSet
from webapp.models import Role


def test_log_lines_carry_request_id_and_tenant(login_as, tenants: dict[str, TenantSet]) -> None:
    handler = next(h for h in logging.getLogger("webapp").handlers if getattr(h, "ecoute", False))
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        admin = login_as("a", Role.TENANT_ADMIN)
        response = admin.post("/people/invite", {"email": "logged@a.test", "role": "staff"},
                              headers={"X-Request-Id": "req-42"})
    finally:
        handler.setStream(previous)
    assert response.status_code == 303
    lines = [line for line in buffer.getvalue().splitlines() if "mail sent" in line]
    assert lines, buffer.getvalue()
    assert re.search(r"\[req=req-42 tenant=tenant-a\]", lines[0]), lines[0]
