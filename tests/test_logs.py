"""Log lines carry the request id and the tenant's short name, and no secret or personal data.

The access log is read from a real gunicorn started with infra/gunicorn.conf.py, as
``ecoute serve`` and ``ecoute run`` start it (issue #13, item 7).
"""

from __future__ import annotations

import io
import logging
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from tests.conftest import Client, TenantSet
from webapp.config import Settings
from webapp.models import Role

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


@contextmanager
def _app_log() -> Iterator[io.StringIO]:
    handler = next(h for h in logging.getLogger("webapp").handlers if getattr(h, "ecoute", False))
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def test_log_lines_carry_request_id_and_tenant(login_as, tenants: dict[str, TenantSet]) -> None:
    with _app_log() as buffer:
        admin = login_as("a", Role.TENANT_ADMIN)
        response = admin.post("/people/invite", {"email": "logged@a.test", "role": "staff"},
                              headers={"X-Request-Id": "req-42"})
    assert response.status_code == 303
    lines = [line for line in buffer.getvalue().splitlines() if "mail queued" in line]
    assert lines, buffer.getvalue()
    assert re.search(r"\[req=req-42 tenant=tenant-a\]", lines[0]), lines[0]


def test_a_request_id_that_is_not_a_plain_token_is_replaced(app: Flask, client: Client) -> None:
    for sent in ["a b", 'x"] forged [req=admin', "é", "x" * 65, ""]:
        echoed = client.get("/healthz", headers={"X-Request-Id": sent}).headers["X-Request-Id"]
        assert echoed != sent
        assert re.fullmatch(r"[0-9a-f]{16}", echoed), echoed
    for kept in ["abc123", "A-Z.a_z-0.9", "x" * 64]:
        assert client.get("/healthz", headers={"X-Request-Id": kept}).headers["X-Request-Id"] == kept


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(base: str, path: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(base + path, headers=headers)  # noqa: S310 - 127.0.0.1
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_gunicorn_access_log_masks_tokens_and_personal_data(settings: Settings, app: Flask,
                                                            tenants: dict[str, TenantSet]) -> None:
    port = _free_port()
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(settings.data_dir), "ECOUTE_ENV": "test",
        "ECOUTE_DATA_DIR": str(settings.data_dir), "ECOUTE_DATABASE_URL": settings.database_url,
        "ECOUTE_DATABASE_OWNER_URL": settings.database_owner_url, "ECOUTE_SECRET_KEY": settings.secret_key,
        "ECOUTE_DATABASE_OPS_URL": settings.database_ops_url,
        "ECOUTE_WHISPER_MODEL_DIR": str(settings.whisper_model_dir), "ECOUTE_HOST": "127.0.0.1",
        "ECOUTE_PORT": str(port), "ECOUTE_WEB_WORKERS": "1", "ECOUTE_LOG_LEVEL": "info",
    }
    reset, invitation = "1.ResetSecretResetSecretResetSecret", "2.InviteSecretInviteSecretInviteSecret"
    server = subprocess.Popen([GUNICORN, "-c", str(ROOT / "infra" / "gunicorn.conf.py"), "webapp:create_app()"],  # noqa: S603
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(base, "/healthz", {}) == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
            time.sleep(0.2)
        urllib.request.install_opener(urllib.request.build_opener(_NoRedirect))
        statuses = [
            _get(base, f"/password/reset/{reset}", {"X-Request-Id": "req-reset"}),
            _get(base, f"/invitation/{invitation}?x=1", {"X-Request-Id": 'bad id"'}),
            _get(base, "/calls?customer_ref=CUST-7731&q=Dupont%20d%C3%A9%C3%A7u&page=2",
                 {"Referer": f"{base}/password/reset/{reset}?q=Martin"}),
        ]
    finally:
        urllib.request.install_opener(urllib.request.build_opener())
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert all(status < 500 for status in statuses), (statuses, output)
    lines = [line for line in output.splitlines() if '"GET /' in line and "/healthz" not in line]
    assert len(lines) == 3, output
    for secret in ["ResetSecret", "InviteSecret", "CUST-7731", "Dupont", "Martin", "bad id"]:
        assert secret not in output, output
    # gunicorn's threads write the access line after the answer has left: lines may come in any order.
    requests = ('"GET /password/reset/', '"GET /invitation/', '"GET /calls?')
    reset_line, invitation_line, calls_line = (next((line for line in lines if r in line), "") for r in requests)
    assert '"GET /password/reset/*** HTTP/1.1"' in reset_line, output
    assert "req=req-reset" in reset_line, reset_line
    assert '"GET /invitation/***?x=1 HTTP/1.1"' in invitation_line, output
    assert re.search(r"req=[0-9a-f]{16}$", invitation_line), invitation_line
    assert '"GET /calls?customer_ref=***&q=***&page=2 HTTP/1.1"' in calls_line, output
    assert f'"{base}/password/reset/***?q=***"' in calls_line, calls_line


def test_werkzeug_development_server_log_masks_tokens(app: Flask) -> None:
    from werkzeug.serving import make_server

    logger = logging.getLogger("werkzeug")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        urllib.request.install_opener(urllib.request.build_opener(_NoRedirect))
        status = _get(base, "/invitation/3.DevServerSecretDevServerSecret?q=Durand", {})
    finally:
        urllib.request.install_opener(urllib.request.build_opener())
        server.shutdown()
        thread.join()
        server.server_close()
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    output = buffer.getvalue()
    assert status < 500 and "GET /invitation/***?q=*** HTTP/1.1" in output, output
    assert "DevServerSecret" not in output and "Durand" not in output


def test_gunicorn_error_lines_mask_the_uri_too() -> None:
    from gunicorn.config import Config

    from webapp.logs import AccessLogger

    logger = AccessLogger(Config())
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logger.error_log.addHandler(handler)
    try:
        try:
            raise RuntimeError("boom")
        except RuntimeError:  # as gunicorn's worker logs an app that raised (workers/base.py handle_error)
            logger.exception("Error handling request %s %s", "GET", "/password/reset/4.ErrorLineSecretErrorLine")
    finally:
        logger.error_log.removeHandler(handler)
    assert "Error handling request GET /password/reset/***" in buffer.getvalue()
    assert "ErrorLineSecret" not in buffer.getvalue()
