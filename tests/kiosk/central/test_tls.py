"""TLS as deployed: the client trusts only the configured CA bundle and can present a client
certificate; the simulator serves HTTPS with a throw-away CA made here (cryptography)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.central.client import CentralClient
from kiosk.central.errors import CentralUnavailable
from kiosk.central.signing import load_key
from tests.fixtures.central import DEMO_KEY_FILE, DEMO_TERMINAL
from tests.fixtures.procs import start_sim


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool = False,
          server: bool = False) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key=None) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("kiosk test CA", ca_key, _name("kiosk test CA"), ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    _write(d / "ca.pem", ca)
    _write(d / "server.pem", _cert("central-sim", server_key, ca.subject, ca_key, server=True), server_key)
    _write(d / "client.pem", _cert(DEMO_TERMINAL, client_key, ca.subject, ca_key), client_key)
    return {"ca": d / "ca.pem", "server": d / "server.pem", "server_key": d / "server.key",
            "client": d / "client.pem", "client_key": d / "client.key"}


@pytest.fixture(scope="module")
def tls_sim(pki):
    sim = start_sim(["central", "--listen", "127.0.0.1:0", "--tls-cert", str(pki["server"]),
                     "--tls-key", str(pki["server_key"]), "--client-ca", str(pki["ca"])])
    try:
        yield sim
    finally:
        sim.stop()


def _client(url: str, **kw) -> CentralClient:
    return CentralClient(url, DEMO_TERMINAL, load_key(DEMO_KEY_FILE), retries=0, timeout=(2, 5), **kw)


def test_trusted_ca_and_client_cert_work(tls_sim, pki):
    assert tls_sim.address.startswith("https://127.0.0.1:")
    with _client(tls_sim.address, ca_bundle=str(pki["ca"]),
                 client_cert=(str(pki["client"]), str(pki["client_key"]))) as client:
        assert client.update_metadata()["software"]["version"]


def test_platform_not_signed_by_our_ca_is_refused(tls_sim, pki):
    with _client(tls_sim.address, client_cert=(str(pki["client"]), str(pki["client_key"]))) as client:
        with pytest.raises(CentralUnavailable, match="SSLError"):
            client.update_metadata()


def test_server_refuses_a_terminal_without_client_cert(tls_sim, pki):
    with _client(tls_sim.address, ca_bundle=str(pki["ca"])) as client:
        with pytest.raises(CentralUnavailable):
            client.update_metadata()
