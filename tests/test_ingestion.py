"""Calls and complaints arriving through the browser: stored, checked, deduplicated, queued."""

from __future__ import annotations

import html
import io
import re
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import Client, TenantSet
from webapp import storage, tenancy
from webapp.jobs import Job
from webapp.models import Call, CallStatus, Complaint, Role

pytestmark = pytest.mark.usefixtures("tenants")


def _upload(client: Client, *paths: Path, htmx: bool = False, **meta: str):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {"csrf_token": client.csrf_token(), "channel": "phone", "consent": "yes", **meta}
    data["file"] = [(io.BytesIO(p.read_bytes()), p.name) for p in paths]
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post_multipart("/calls/upload", data, headers)


def _counts(app: Flask, tenant_id: int) -> tuple[int, int]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        return (int(session.scalar(select(func.count()).select_from(Call)) or 0),
                int(session.scalar(select(func.count()).select_from(Job)) or 0))


def _stored_objects(app: Flask, tenant_id: int) -> list[Path]:
    root = Path(app.config["ECOUTE"].storage_url.removeprefix("file://")) / "tenants" / str(tenant_id)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_upload_stores_probes_and_queues(app: Flask, login_as, audio: dict[str, Path],
                                         tenants: dict[str, TenantSet]) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    response = _upload(qm, audio["call.wav"], audio["call.mp3"], product="Four X200", agent="Léa",
                       received_at="2026-11-02")
    assert response.status_code == 200, response.text
    assert response.text.count("Uploaded. Processing is queued.") == 2
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        calls = session.scalars(select(Call).order_by(Call.id)).all()
        assert [(c.original_filename, c.status, c.product, c.agent) for c in calls] == [
            ("call.wav", CallStatus.QUEUED, "Four X200", "Léa"), ("call.mp3", CallStatus.QUEUED, "Four X200", "Léa")]
        assert calls[0].content_type == "audio/wav" and abs(calls[0].duration_seconds - 3.0) < 0.1
        assert calls[0].received_at.date().isoformat() == "2026-11-02"
        jobs = session.scalars(select(Job)).all()
        assert sorted(j.payload["call_id"] for j in jobs) == [c.id for c in calls]
        keys = [c.storage_key for c in calls]
    assert all(k.startswith(f"tenants/{tenants['a'].id}/calls/") for k in keys)
    assert all("call" not in k.rsplit("/", 1)[1] for k in keys)  # the user's file name is never a path
    assert len(_stored_objects(app, tenants["a"].id)) == 2


@pytest.mark.parametrize(("name", "reason"), [
    ("empty.wav", "This file is empty."),
    ("text.mp3", "be read as audio"),
    ("image.wav", "holds no sound"),
    ("garbage.m4a", "be read as audio"),
    ("truncated.mp3", "cut off"),
    ("truncated.wav", "cut off"),
])
def test_bad_files_are_refused_with_the_reason_and_leave_nothing(app: Flask, login_as, audio: dict[str, Path],
                                                                 tenants: dict[str, TenantSet], name: str,
                                                                 reason: str) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    response = _upload(qm, audio[name])
    assert response.status_code == 422
    assert reason in response.text, response.text
    assert _counts(app, tenants["a"].id) == (0, 0)
    assert _stored_objects(app, tenants["a"].id) == []


def test_one_bad_file_does_not_stop_the_others(app: Flask, login_as, audio: dict[str, Path],
                                               tenants: dict[str, TenantSet]) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    response = _upload(qm, audio["call.ogg"], audio["text.mp3"], audio["call.m4a"])
    assert response.status_code == 422
    assert response.text.count("Uploaded. Processing is queued.") == 2
    assert "be read as audio" in response.text
    assert _counts(app, tenants["a"].id) == (2, 2)
    assert len(_stored_objects(app, tenants["a"].id)) == 2


def test_same_file_twice_is_a_duplicate_not_a_second_copy(app: Flask, login_as, audio: dict[str, Path],
                                                          tenants: dict[str, TenantSet]) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    _upload(qm, audio["call.flac"])
    again = _upload(qm, audio["call.flac"], htmx=True)
    assert again.status_code == 200 and "Already uploaded" in again.text
    assert _counts(app, tenants["a"].id) == (1, 1)
    assert len(_stored_objects(app, tenants["a"].id)) == 1
    # Another company uploading the same bytes gets its own copy: nothing is shared, nothing inferred.
    other = login_as("b", Role.QUALITY_MANAGER)
    assert "Uploaded. Processing is queued." in _upload(other, audio["call.flac"]).text
    assert _counts(app, tenants["b"].id) == (1, 1)


def test_a_recording_of_several_megabytes_goes_through(app: Flask, login_as, audio: dict[str, Path],
                                                       tenants: dict[str, TenantSet]) -> None:
    """Far above the 1 MiB limit of ordinary forms (the CSRF check reads the body before the view)."""
    from tests.audio import tone

    big = tone(audio["call.wav"].parent / "five-minutes.wav", seconds=300)  # ~9.6 MB
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    response = _upload(qm, big)
    assert response.status_code == 200 and "Uploaded. Processing is queued." in response.text
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        assert session.scalars(select(Call.size_bytes)).one() == big.stat().st_size


def test_oversized_upload_is_refused_while_streaming(app: Flask, make_app, audio: dict[str, Path],
                                                     tenants: dict[str, TenantSet]) -> None:
    small = make_app(max_upload_mb=1)
    client = Client(small.test_client())
    client.login(tenants["b"].users[Role.QUALITY_MANAGER].email)
    big = audio["call.wav"].parent / "big.wav"
    if not big.exists():
        from tests.audio import tone

        tone(big, seconds=70)  # ~2.2 MB
    response = _upload(client, big)
    assert response.status_code == 413
    assert "too large" in response.text
    assert _counts(app, tenants["b"].id) == (0, 0)
    assert _stored_objects(app, tenants["b"].id) == []


def test_bad_metadata_is_refused_before_storing(app: Flask, login_as, audio: dict[str, Path],
                                                tenants: dict[str, TenantSet]) -> None:
    qm = login_as("b", Role.QUALITY_MANAGER)
    cases = [({"channel": "pigeon"}, "Choose a channel"), ({"received_at": "31/02/2026"}, "not understood"),
             ({"consent": "maybe"}, "yes, no or unknown"), ({"product": "p" * 121}, "too long")]
    for meta, message in cases:
        response = _upload(qm, audio["call.wav"], **meta)
        assert response.status_code == 422 and message in response.text, (meta, response.text)
    assert _counts(app, tenants["b"].id) == (0, 0)
    assert _stored_objects(app, tenants["b"].id) == []


def test_path_tricks_in_file_names_stay_names(app: Flask, login_as, audio: dict[str, Path],
                                              tenants: dict[str, TenantSet]) -> None:
    qm = login_as("b", Role.QUALITY_MANAGER)
    trick = (io.BytesIO(audio["other.wav"].read_bytes()), "../../etc/passwd.wav")
    data = {"csrf_token": qm.csrf_token(), "file": trick}
    response = qm.raw.post("/calls/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    objects = _stored_objects(app, tenants["b"].id)
    assert len(objects) == 1 and "passwd" not in str(objects[0])
    with app.app_context(), tenancy.tenant_session(tenants["b"].id) as session:
        call = session.scalars(select(Call)).one()
        assert "passwd.wav" in call.original_filename and ".." not in call.storage_key


def test_failed_commit_removes_the_stored_object(app: Flask, login_as, audio: dict[str, Path],
                                                 tenants: dict[str, TenantSet]) -> None:
    """If the transaction rolls back after the file was stored, the object goes too."""
    from webapp.db import rollback
    from webapp.models import Source
    from webapp.services import ingestion

    with app.app_context():
        session = tenancy.open_session(tenants["a"].id)
        with audio["call.wav"].open("rb") as stream:
            done = ingestion.ingest_call(session, app.config["ECOUTE"], tenants["a"].id, stream=stream,
                                         filename="x.wav", meta=ingestion.clean_meta({}),
                                         origin=ingestion.Origin(Source.BROWSER))
        key = done.call.storage_key
        assert storage.get_storage(app.config["ECOUTE"]).exists(key)
        rollback(session)
        session.close()
        assert not storage.get_storage(app.config["ECOUTE"]).exists(key)


def test_call_list_filters_and_polls_while_pending(app: Flask, login_as, audio: dict[str, Path],
                                                    tenants: dict[str, TenantSet]) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    _upload(qm, audio["call.wav"], product="Four X200", received_at="2026-10-01")
    _upload(qm, audio["call.mp3"], product="Lave-linge L7", channel="store", received_at="2026-11-01")
    page = qm.get("/calls")
    assert page.text.index("call.mp3") < page.text.index("call.wav")  # newest received first
    assert 'hx-trigger="every 3s"' in page.text  # queued calls: the list keeps itself up to date
    only_store = qm.get("/calls?channel=store")
    assert "call.mp3" in only_store.text and "call.wav" not in only_store.text
    by_product = qm.get("/calls?product=four")
    assert "call.wav" in by_product.text and "call.mp3" not in by_product.text
    by_date = qm.get("/calls?date_from=2026-10-15&date_to=2026-11-30")
    assert "call.mp3" in by_date.text and "call.wav" not in by_date.text
    rows = qm.get("/calls", headers={"HX-Request": "true", "HX-Target": "call-rows"})
    assert rows.status_code == 200 and rows.text.lstrip().startswith("<tr")
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        for call in session.scalars(select(Call)):
            call.status = CallStatus.READY
    final = qm.get("/calls", headers={"HX-Request": "true", "HX-Target": "call-rows"})
    assert final.status_code == 286  # nothing pending: htmx stops polling


def test_audio_is_served_with_ranges(app: Flask, login_as, audio: dict[str, Path],
                                     tenants: dict[str, TenantSet]) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER)
    _upload(qm, audio["call.wav"])
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        call_id = session.scalars(select(Call.id)).one()
    whole = qm.get(f"/calls/{call_id}/audio")
    assert whole.status_code == 200 and whole.data == audio["call.wav"].read_bytes()
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.headers["Content-Type"] == "audio/wav"
    part = qm.get(f"/calls/{call_id}/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == audio["call.wav"].read_bytes()[100:200]
    size = audio["call.wav"].stat().st_size
    assert part.headers["Content-Range"] == f"bytes 100-199/{size}"
    tail = qm.get(f"/calls/{call_id}/audio", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == audio["call.wav"].read_bytes()[-10:]
    past = qm.get(f"/calls/{call_id}/audio", headers={"Range": f"bytes={size + 10}-"})
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{size}"
    assert login_as("a", Role.STAFF).get(f"/calls/{call_id}/audio").status_code == 403
    assert login_as("b", Role.QUALITY_MANAGER).get(f"/calls/{call_id}/audio").status_code == 404


def test_written_complaint_and_csv_import(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    ok = qm.post("/complaints", {"text": "Livraison en retard de trois semaines !", "product": "Canapé",
                                 "channel": "letter", "received_at": "2026-11-20"})
    assert ok.status_code == 303
    empty = qm.post("/complaints", {"text": "   "})
    assert empty.status_code == 422 and "Enter the text of the complaint." in empty.text
    csv_text = ("text;received_at;channel;product;external_id\n"
                "Le SAV ne répond jamais;2026-11-01;email;Four X200;crm-1\n"
                ";2026-11-02;email;Four X200;crm-2\n"
                "Facturé deux fois;le 3 novembre;web;Abonnement;crm-3\n"
                "Très satisfait du conseiller;2026-11-04;phone;;crm-4\n"
                "Le SAV ne répond jamais;2026-11-01;email;Four X200;crm-1\n")
    data = {"csrf_token": qm.csrf_token(), "csv": (io.BytesIO(csv_text.encode("cp1252")), "plaintes.csv")}
    report = qm.raw.post("/complaints/import", data=data, content_type="multipart/form-data")
    assert report.status_code == 200
    assert "2 complaints imported." in report.text and "1 already known, skipped." in report.text
    assert "Row 3: Enter the text of the complaint." in report.text
    assert "Row 4: The date “le 3 novembre” is not understood." in report.text
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        texts = sorted(session.scalars(select(Complaint.text)))
    assert texts == ["Le SAV ne répond jamais", "Livraison en retard de trois semaines !",
                     "Très satisfait du conseiller"]
    bad = {"csrf_token": qm.csrf_token(), "csv": (io.BytesIO(b"produit;date\nx;y\n"), "x.csv")}
    refused = qm.raw.post("/complaints/import", data=bad, content_type="multipart/form-data")
    assert refused.status_code == 422 and "“text” column" in refused.text


def _import(qm: Client, content: bytes, name: str = "plaintes.csv"):  # type: ignore[no-untyped-def]
    data = {"csrf_token": qm.csrf_token(), "csv": (io.BytesIO(content), name)}
    return qm.raw.post("/complaints/import", data=data, content_type="multipart/form-data")


def test_csv_in_french_columns_channels_and_dates(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    """A file exported from a French spreadsheet: French column names, channels in words, dates as 31/03/2026."""
    from webapp.models import Channel, Consent

    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    csv_text = ("Texte;Date de réception;Canal;Produit;Référence client;Conseiller;Consentement;Langue;Identifiant\n"
                "Colis jamais reçu;31/03/2026;Téléphone;Four X200;CL-1;Léa;oui;français;t-1\n"
                "Facture en double;01/04/2026 14:05;courriel;Abonnement;CL-2;Marc;non;;t-2\n"
                "Vendeur très aimable;2/4/2026 9h30;En magasin;;CL-3;;;anglais;t-3\n"
                "Lettre recommandée;2026-04-03;Courrier;;;;inconnu;;t-4\n"
                "Formulaire du site;04/04/2026;site web;;;;;;t-5\n"
                "Envoyé par e-mail;05.04.2026;E-mail;;;;;;t-6\n")
    report = _import(qm, csv_text.encode("cp1252"))
    assert report.status_code == 200, report.text
    assert "6 complaints imported." in report.text and "refused" not in report.text, report.text
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        rows = {c.external_id: c for c in session.scalars(select(Complaint))}
    assert {k: (c.channel, c.received_at.isoformat()) for k, c in rows.items()} == {
        "t-1": (Channel.PHONE, "2026-03-31T00:00:00+00:00"), "t-2": (Channel.EMAIL, "2026-04-01T14:05:00+00:00"),
        "t-3": (Channel.STORE, "2026-04-02T09:30:00+00:00"), "t-4": (Channel.LETTER, "2026-04-03T00:00:00+00:00"),
        "t-5": (Channel.WEB, "2026-04-04T00:00:00+00:00"), "t-6": (Channel.EMAIL, "2026-04-05T00:00:00+00:00")}
    assert (rows["t-1"].product, rows["t-1"].customer_ref, rows["t-1"].agent, rows["t-1"].consent,
            rows["t-1"].language_hint) == ("Four X200", "CL-1", "Léa", Consent.YES, "fr")
    assert (rows["t-2"].consent, rows["t-3"].language_hint, rows["t-4"].consent) == (Consent.NO, "en", Consent.UNKNOWN)
    assert rows["t-1"].text == "Colis jamais reçu"


def test_csv_reports_every_problem_of_a_row(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    csv_text = ("texte,date_reception,canal,consentement,external_id\n"
                ",31/02/2026,pigeon,peut-être,r-1\n"
                "Bien reçu,01/03/2026,téléphone,oui,r-2\n"
                "Autre texte,01/03/2026,téléphone,oui,r-2\n"
                "Bien reçu,01/03/2026,téléphone,oui,r-2\n")
    report = _import(qm, csv_text.encode())
    assert report.status_code == 200, report.text
    assert "1 complaint imported." in report.text and "1 already known, skipped." in report.text, report.text
    row2 = re.search(r"<li>Row 2: (.*?)</li>", report.text)
    assert row2, report.text
    for problem in ("Enter the text of the complaint.", "The date “31/02/2026” is not understood.",
                    "Choose a channel", "Customer consent must be yes, no or unknown."):
        assert problem in html.unescape(row2.group(1)), row2.group(1)
    assert "Row 4: The external id “r-2” was already used for complaint #" in html.unescape(report.text)
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        assert session.scalars(select(Complaint.text)).all() == ["Bien reçu"]


def test_csv_a_cell_too_long_for_the_reader_loses_only_its_row(app: Flask, login_as,
                                                               tenants: dict[str, TenantSet]) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    huge = "x" * 200_000  # past the csv module's field limit
    csv_text = f"text,external_id\nAvant,c-1\n\"{huge}\",c-2\nAprès,c-3\nNul\x00 caractère,c-4\n"
    report = _import(qm, csv_text.encode())
    assert report.status_code == 200, report.text
    assert "Row 3: This row cannot be read" in report.text, report.text
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        stored = set(session.scalars(select(Complaint.text)))
    assert {"Avant", "Après", "Nul caractère"} <= stored and not any(len(t) > 20_000 for t in stored)


@pytest.fixture
def s3_app(make_app, s3_server, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The app storing media in a real S3-compatible server over HTTP (credentials as boto3 reads them)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = s3_server.create_bucket(f"ecoute-{uuid.uuid4().hex[:8]}")
    return make_app(storage_url=f"s3://{bucket}/media", s3_endpoint_url=s3_server.endpoint_url), bucket


def test_upload_and_ranges_on_s3(s3_app, s3_server, audio: dict[str, Path], tenants: dict[str, TenantSet]) -> None:
    app, bucket = s3_app
    qm = Client(app.test_client())
    qm.login(tenants["a"].users[Role.QUALITY_MANAGER].email)
    qm.post("/locale", {"locale": "en"})
    assert "Uploaded. Processing is queued." in _upload(qm, audio["call.m4a"]).text
    assert _upload(qm, audio["text.mp3"]).status_code == 422
    keys = [o["Key"] for o in s3_server.admin.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert len(keys) == 1 and keys[0].startswith(f"media/tenants/{tenants['a'].id}/calls/")
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        call_id = session.scalars(select(Call.id)).one()
    data = audio["call.m4a"].read_bytes()
    assert qm.get(f"/calls/{call_id}/audio").data == data
    part = qm.get(f"/calls/{call_id}/audio", headers={"Range": "bytes=10-1033"})
    assert part.status_code == 206 and part.data == data[10:1034]


def test_storage_server_down_tells_the_user_and_keeps_nothing(make_app, audio: dict[str, Path],
                                                              tenants: dict[str, TenantSet],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app = make_app(storage_url="s3://nowhere/media", s3_endpoint_url=f"http://127.0.0.1:{closed_port}")
    qm = Client(app.test_client())
    qm.login(tenants["b"].users[Role.QUALITY_MANAGER].email)
    response = _upload(qm, audio["call.wav"])
    assert response.status_code == 422
    assert "could not be stored just now. Nothing was kept" in response.text
    assert _counts(app, tenants["b"].id) == (0, 0)


# --- hostile audio: duration bombs, references to other files --------------------------------


def _ffmpeg(*args: str) -> None:
    import subprocess

    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True, timeout=120)


def _silent_flac(path: Path, seconds: int) -> Path:
    """Silence in FLAC with the largest blocks: a few kilobytes for an hour."""
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds), "-c:a", "flac",
            "-frame_size", "65535", str(path))
    return path


def _api_upload(app: Flask, tenant_id: int, path: Path, language: str = "en"):  # type: ignore[no-untyped-def]
    from tests import factories

    with app.app_context():
        token = factories.make_api_token(tenant_id)
    client = app.test_client(use_cookies=False)
    return client.post("/api/v1/calls", data={"audio": (io.BytesIO(path.read_bytes()), path.name)},
                       headers={"Authorization": f"Bearer {token.raw}", "Accept-Language": language},
                       content_type="multipart/form-data")


def test_a_recording_longer_than_the_limit_is_refused_at_upload_with_its_reason(
        make_app, tenants: dict[str, TenantSet], tmp_path: Path) -> None:
    """A few kilobytes of FLAC that decode to more than the limit: refused through the form and the API."""
    limited = make_app(max_recording_s=60)
    bomb = _silent_flac(tmp_path / "silence.flac", 61 + 30)
    assert bomb.stat().st_size < 20_000
    fine = _silent_flac(tmp_path / "fine.flac", 59)
    client = Client(limited.test_client())
    client.login(tenants["a"].users[Role.QUALITY_MANAGER].email)
    client.post("/locale", {"locale": "en"})
    refused = _upload(client, bomb)
    assert refused.status_code == 422
    assert "This recording lasts longer than 1:00, the longest accepted." in refused.text, refused.text
    api = _api_upload(limited, tenants["a"].id, bomb)
    assert api.status_code == 422
    assert api.get_json()["code"] == "audio_too_long"
    assert "longer than 1:00" in api.get_json()["message"]
    french = _api_upload(limited, tenants["a"].id, bomb, language="fr")
    assert french.status_code == 422 and "1:00" in french.get_json()["message"]
    assert _counts(limited, tenants["a"].id) == (0, 0)
    assert _stored_objects(limited, tenants["a"].id) == []
    accepted = _upload(client, fine)
    assert accepted.status_code == 200 and "Uploaded. Processing is queued." in accepted.text


def test_the_length_stored_is_what_decodes_not_what_the_container_claims(
        app: Flask, login_as, tenants: dict[str, TenantSet], tmp_path: Path) -> None:
    """A WebM whose timestamps jump by ten hours holds 12 s of audio: it is stored as 12 s long."""
    gap = tmp_path / "gap.webm"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=12", "-af", "asetpts='PTS+gte(T,6)*36000/TB'",
            "-c:a", "libopus", str(gap))
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    response = _upload(qm, gap)
    assert response.status_code == 200 and "Uploaded. Processing is queued." in response.text, response.text
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        duration = session.scalars(select(Call.duration_seconds)).one()
    assert duration == pytest.approx(12.0, abs=0.2)


def _references(folder: Path, target: Path) -> dict[str, Path]:
    """A DASH manifest, an HLS playlist and an ffconcat list, each pointing at ``target``."""
    folder.mkdir(parents=True, exist_ok=True)
    dash = folder / "manifest.mpd"
    dash.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" '
        'type="static" mediaPresentationDuration="PT3S" minBufferTime="PT1S"><Period>'
        '<AdaptationSet mimeType="audio/webm"><Representation id="a" bandwidth="64000" codecs="opus">'
        f"<BaseURL>{target}</BaseURL></Representation></AdaptationSet></Period></MPD>\n")
    hls = folder / "playlist.m3u8"
    hls.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n{target}\n#EXT-X-ENDLIST\n")
    concat = folder / "list.ffconcat"
    concat.write_text(f"ffconcat version 1.0\nfile '{target}'\n")
    return {"dash": dash, "hls": hls, "ffconcat": concat}


def test_playlists_and_manifests_are_refused_alike_whether_what_they_name_exists(
        app: Flask, login_as, tenants: dict[str, TenantSet], tmp_path: Path) -> None:
    """ffprobe must not open what an upload names: the answer may not depend on another file's existence."""
    from tests.audio import tone

    other = login_as("b", Role.QUALITY_MANAGER, locale="en")
    assert _upload(other, tone(tmp_path / "theirs.webm")).status_code == 200
    theirs = _stored_objects(app, tenants["b"].id)[0]
    mp3 = tone(tmp_path / "real.mp3")
    # From where tenant A's upload is stored: tenants/<a>/calls/<key> -> tenants/<b>/calls/<key>.
    relative = Path("..", "..", str(tenants["b"].id), "calls", theirs.name)
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    answers: dict[str, set[tuple[int, str]]] = {}
    for label, (dash_target, other_target) in {"present": (relative, mp3),
                                               "missing": (relative.with_name("0" * 32), tmp_path / "no.mp3")}.items():
        files = _references(tmp_path / label, other_target)
        _references(tmp_path / label / "dash", dash_target)
        files["dash"] = tmp_path / label / "dash" / "manifest.mpd"
        for kind, path in files.items():
            response = _upload(qm, path)
            message = re.sub(r"\s+", " ", html.unescape(response.text))
            found = re.search(r"This file is a playlist[^<]*", message)
            answers.setdefault(kind, set()).add((response.status_code, found.group(0) if found else message))
    for kind, seen in answers.items():
        assert len(seen) == 1, (kind, seen)  # the same answer, present or missing
        ((status, message),) = seen
        assert status == 422 and message.startswith("This file is a playlist"), (kind, message)
    assert _counts(app, tenants["a"].id) == (0, 0)
    assert _stored_objects(app, tenants["a"].id) == []
