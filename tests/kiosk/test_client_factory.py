"""One way to build central and fleet clients (``kiosk.parts``), used by the app, ``kiosk
enroll``, ``kiosk queue sync`` and ``kiosk doctor`` alike: TLS against the configured CA bundle
with the configured client certificate, paths resolved against the project root whatever the
working directory, and plain http:// refused in production.

The platform here is the real simulator serving HTTPS with mutual TLS (as deployed), the fleet
service the real fleet app under uvicorn with mutual TLS (``kiosk-fleet serve`` has no TLS of
its own: a deployment puts it behind a TLS proxy), both with a throw-away CA made by the test;
every command runs as a real ``kiosk`` process started from a directory that is not the
project root.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.central.client import CentralClient
from kiosk.central.fleet_client import FleetClient
from kiosk.central.signing import load_key
from kiosk.ops.heartbeat import Heartbeat, TerminalFacts
from kiosk.paths import ROOT
from kiosk.secret_store import load_or_create_key
from offline_queue import Outbox
from tests.fixtures.central import DEMO_KEY_FILE, DEMO_TERMINAL
from tests.fixtures.procs import start_sim


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key, issuer: x509.Name, issuer_key, *, ca=False, server=False):
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH
    else:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca_key, other_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("hall test CA", ca_key, _name("hall test CA"), ca_key, ca=True)
    other = _cert("someone else's CA", other_key, _name("someone else's CA"), other_key, ca=True)
    server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    (d / "ca.pem").write_bytes(_pem(ca))
    (d / "other-ca.pem").write_bytes(_pem(other))
    (d / "server.pem").write_bytes(_pem(_cert("central", server_key, ca.subject, ca_key, server=True)))
    (d / "server.key").write_bytes(_key_pem(server_key))
    # central.client_cert is one PEM file: the terminal's certificate and its key
    (d / "terminal.pem").write_bytes(_pem(_cert(DEMO_TERMINAL, client_key, ca.subject, ca_key))
                                     + _key_pem(client_key))
    return {"ca": d / "ca.pem", "other-ca": d / "other-ca.pem", "server": d / "server.pem",
            "server_key": d / "server.key", "terminal": d / "terminal.pem"}


@pytest.fixture(scope="module")
def tls_central(pki):
    sim = start_sim(["central", "--listen", "127.0.0.1:0", "--tls-cert", str(pki["server"]),
                     "--tls-key", str(pki["server_key"]), "--client-ca", str(pki["ca"])])
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def tls_fleet(pki, tmp_path_factory):
    """The real fleet app on 127.0.0.1 over mutual TLS (uvicorn's), on an SQLite file;
    ``.url`` and ``.code()`` (a one-time enrolment code as the console makes it)."""
    import socket
    import ssl
    import threading
    import time
    from types import SimpleNamespace

    import uvicorn

    from fleet import store
    from fleet.app import create_app
    from fleet.db import make_engine, migrate
    from fleet.settings import Settings

    db = f"sqlite:///{tmp_path_factory.mktemp('tls-fleet') / 'fleet.sqlite3'}"
    engine = make_engine(db)
    migrate(engine)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(
        create_app(Settings(database_url=db, sweep_every_s=0)), host="127.0.0.1", port=port,
        log_level="warning", ssl_certfile=str(pki["server"]), ssl_keyfile=str(pki["server_key"]),
        ssl_ca_certs=str(pki["ca"]), ssl_cert_reqs=ssl.CERT_REQUIRED))
    thread = threading.Thread(target=server.run, name="tls-fleet", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the fleet did not start"
        time.sleep(0.02)

    def code() -> str:
        with engine.begin() as conn:
            return store.create_enrol_code(conn, actor="test", now=store.now(), ttl_s=600)

    try:
        yield SimpleNamespace(url=f"https://127.0.0.1:{port}", code=code)
    finally:
        server.should_exit = True
        thread.join(30)
        engine.dispose()


def _admin(sim, pki, path: str, body=None):
    """The simulator's admin API, over its mutual TLS like everything else."""
    tls = {"verify": str(pki["ca"]), "cert": str(pki["terminal"]), "timeout": 5}
    url = sim.address + path
    resp = requests.post(url, json=body, **tls) if body is not None else requests.get(url, **tls)
    resp.raise_for_status()
    return resp.json()


def _from_root(path: Path) -> str:
    """A path as a technician writes it in kiosk.toml: relative to the project root."""
    return os.path.relpath(path, ROOT)


def _config(tmp_path: Path, url: str, *, ca: Path | None, cert: Path | None,
            mode: str = "test", key_file: Path = DEMO_KEY_FILE, name: str = "kiosk.toml",
            fleet: str = "") -> Path:
    """An override naming central (and, with ``fleet``, the fleet service: same CA and
    client certificate)."""
    cfg = tmp_path / name
    tls = (f'ca_bundle = "{_from_root(ca) if ca else ""}"\n'
           f'client_cert = "{_from_root(cert) if cert else ""}"\n')
    cfg.write_text(
        f'[terminal]\nmode = "{mode}"\nid = "{DEMO_TERMINAL}"\n'
        f'[central]\nurl = "{url}"\nkey_file = "{key_file}"\n' + tls
        + (f'[fleet]\nurl = "{fleet}"\nkey_file = "{tmp_path / "fleet.key"}"\n' + tls
           if fleet else "")
        + f'[outbox]\npath = "{tmp_path / "outbox.sqlite"}"\nkey_file = "{tmp_path / "outbox.key"}"\n'
        f'[logging]\ndir = "{tmp_path / "logs"}"\n', encoding="utf-8")
    return cfg


def kiosk(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """A ``kiosk`` command as a technician runs it, from ``cwd`` (not the project root)."""
    cwd.mkdir(parents=True, exist_ok=True)
    base = {k: v for k, v in os.environ.items()
            if k not in ("KIOSK_CONFIG", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True,
                          text=True, timeout=90, cwd=cwd, env={**base, **(env or {})})


def _queued(tmp_path: Path, n: int = 2) -> list[str]:
    with Outbox(tmp_path / "outbox.sqlite", key=load_or_create_key(tmp_path / "outbox.key")) as box:
        return [box.put("submission", {"service": "hall_12345", "inputs": {"n": str(i)}})
                for i in range(n)]


def _sync(tmp_path: Path, cfg: Path) -> subprocess.CompletedProcess:
    return kiosk(tmp_path / "elsewhere", "queue", "sync", "--once", "--json", "--config", str(cfg),
                 "--db", str(tmp_path / "outbox.sqlite"), "--key-file", str(tmp_path / "outbox.key"))


def test_enroll_verifies_the_fleet_against_the_configured_ca(tmp_path, tls_fleet, pki):
    cfg = _config(tmp_path, "https://central.invalid", ca=pki["ca"], cert=pki["terminal"],
                  fleet=tls_fleet.url)
    key = tmp_path / "secrets" / "fleet.key"
    done = kiosk(tmp_path / "elsewhere", "enroll", tls_fleet.code(), "--config", str(cfg),
                 "--key-file", str(key))
    assert done.returncode == 0, done.stderr
    assert "enrolled with the fleet as" in done.stdout
    terminal = done.stdout.split("enrolled with the fleet as ", 1)[1].split(";")[0]
    # The key the fleet sent over that verified connection signs this terminal's beats now.
    transport = CentralClient(tls_fleet.url, terminal, load_key(key), ca_bundle=str(pki["ca"]),
                              client_cert=str(pki["terminal"]), retries=0)
    with FleetClient(transport) as client:
        assert Heartbeat(client, TerminalFacts()).beat().sent


def test_enroll_refuses_a_fleet_the_configured_ca_did_not_sign(tmp_path, tls_fleet, pki):
    cfg = _config(tmp_path, "https://central.invalid", ca=pki["other-ca"], cert=pki["terminal"],
                  fleet=tls_fleet.url)
    key = tmp_path / "fleet.key"
    done = kiosk(tmp_path / "elsewhere", "enroll", tls_fleet.code(), "--config", str(cfg),
                 "--key-file", str(key))
    assert done.returncode == 5, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "not signed by a CA this terminal trusts" in lines[0]
    assert "fleet.ca_bundle" in lines[0] and "other-ca.pem" in lines[0]  # the setting to fix
    assert not key.exists()


def test_queue_sync_trusts_the_configured_ca_and_says_plainly_when_it_does_not(
        tmp_path, tls_central, pki):
    keys = _queued(tmp_path)
    wrong = _config(tmp_path, tls_central.address, ca=pki["other-ca"], cert=pki["terminal"],
                    name="wrong-ca.toml")
    done = _sync(tmp_path, wrong)
    assert done.returncode == 5
    said = [line for line in done.stderr.splitlines() if line.startswith("kiosk queue:")]
    assert len(said) == 1 and "Traceback" not in done.stderr
    assert "not signed by a CA this terminal trusts" in said[0] and "other-ca.pem" in said[0]

    cfg = _config(tmp_path, tls_central.address, ca=pki["ca"], cert=pki["terminal"])
    done = _sync(tmp_path, cfg)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sent"] == 2
    arrived = {t["key"] for t in _admin(tls_central, pki, "/_admin/transactions")["transactions"]}
    assert set(keys) <= arrived


def test_a_missing_ca_bundle_is_named_before_any_call(tmp_path, tls_central, pki):
    cfg = _config(tmp_path, tls_central.address, ca=tmp_path / "no-such-ca.pem", cert=pki["terminal"])
    _queued(tmp_path, 1)
    done = _sync(tmp_path, cfg)
    assert done.returncode == 2
    assert "ca_bundle" in done.stderr and "no such file" in done.stderr


# -- plain http:// ---------------------------------------------------------------------------

@pytest.fixture
def production_http(tmp_path, central_sim) -> Path:
    """A production terminal (its own key, not the demo's) pointed at plain http://."""
    key = tmp_path / "secrets" / "terminal.key"
    key.parent.mkdir()
    key.write_text("7e" * 32 + "\n")
    key.chmod(0o600)
    (tmp_path / "logs").mkdir()
    return _config(tmp_path, central_sim.url, ca=None, cert=None, mode="production", key_file=key)


def test_production_refuses_plain_http_for_sync_and_enrolment(tmp_path, production_http, central_sim):
    central_sim.reset()
    _queued(tmp_path, 1)
    done = _sync(tmp_path, production_http)
    assert done.returncode == 2, done.stderr
    assert "plain http:// is refused in production mode" in done.stderr
    enrol = kiosk(tmp_path / "elsewhere", "enroll", "ANY-CODE", "--url", central_sim.url,
                  "--config", str(production_http), "--key-file", str(tmp_path / "new.key"))
    assert enrol.returncode == 2 and "plain http:// is refused in production mode" in enrol.stderr
    # Nothing went out: the refusal comes before the first request.
    assert central_sim.admin("/_admin/received")["requests"] == []


def test_production_with_plain_http_does_not_start(tmp_path, production_http):
    done = kiosk(tmp_path / "elsewhere", "run", "--windowed", "--config", str(production_http),
                 env={"QT_QPA_PLATFORM": "offscreen", "KIOSK_EXIT_AFTER_PAINT": "1"})
    assert done.returncode in (1, 2), (done.stdout, done.stderr)  # kiosk run's "cannot start"
    assert "painted" not in done.stdout
    said = [line for line in done.stderr.splitlines() if "plain http://" in line]
    assert len(said) == 1 and "central.url" in said[0] and "Traceback" not in done.stderr


def test_doctor_passes_mutual_tls_and_fails_loudly_on_plain_http_in_production(
        tmp_path, production_http, tls_central, pki):
    # Mutual TLS, paths relative to the project root, run from a directory where the same
    # relative paths name nothing: central is reached, no false alarm.
    cfg = _config(tmp_path, tls_central.address, ca=pki["ca"], cert=pki["terminal"],
                  name="tls.toml")
    elsewhere = tmp_path / "a" / "b" / "c"
    assert not (elsewhere / _from_root(pki["ca"])).exists()
    done = kiosk(elsewhere, "doctor", "--json", "--config", str(cfg), "--settle", "0.1")
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["central"]["ok"], checks["central"]
    assert "urls" not in checks

    done = kiosk(elsewhere, "doctor", "--json", "--config", str(production_http), "--settle", "0.1")
    assert done.returncode != 0
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert not checks["urls"]["ok"] and "central.url" in checks["urls"]["detail"]
    assert "refused in production mode" in checks["urls"]["detail"]
    assert not checks["central"]["ok"] and "plain http://" in checks["central"]["detail"]


def test_demo_and_test_mode_allow_plain_http_only_to_this_machine(tmp_path):
    from kiosk.central.url_policy import InsecureURL
    from kiosk.config import load_config
    from kiosk.parts import central_client

    local = load_config(_config(tmp_path, "http://127.0.0.1:8600", ca=None, cert=None))
    central_client(local).close()  # the simulator on this machine: allowed
    remote = load_config(_config(tmp_path, "http://192.0.2.10:8600", ca=None, cert=None,
                                 name="remote.toml"))
    with pytest.raises(InsecureURL, match="only to this machine"):
        central_client(remote)


def test_the_heartbeat_flags_a_terminal_on_plain_http(central_sim, tls_central, tls_fleet, pki):
    tls = {"ca_bundle": str(pki["ca"]), "client_cert": str(pki["terminal"])}
    with FleetClient(CentralClient(tls_fleet.url, "T-1", b"k" * 32, **tls)) as fleet, \
            FleetClient(CentralClient("http://127.0.0.1:9", "T-1", b"k" * 32)) as plain_fleet:
        assert Heartbeat(fleet, TerminalFacts(), central_url=central_sim.url).payload()[
            "warnings"] == ["central_plain_http"]
        assert Heartbeat(fleet, TerminalFacts(), central_url=tls_central.address).payload()[
            "warnings"] == []
        assert Heartbeat(plain_fleet, TerminalFacts(), central_url=tls_central.address).payload()[
            "warnings"] == ["fleet_plain_http"]


def test_queue_sync_without_a_client_certificate_says_which_setting(tmp_path, tls_central, pki):
    _queued(tmp_path, 1)
    done = _sync(tmp_path, _config(tmp_path, tls_central.address, ca=pki["ca"], cert=None))
    assert done.returncode == 5
    said = [line for line in done.stderr.splitlines() if line.startswith("kiosk queue:")]
    assert len(said) == 1 and "central.client_cert is empty" in said[0], done.stderr
