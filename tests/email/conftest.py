"""Fixtures: a real SMTP server (aiosmtpd) in a thread, TLS certificates, an SQLite store."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import inspect
import ipaddress
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from email_hook.sender import OutboxSender
from tests.network import free_port

SMTP_USER = "mailer@example.org"
SMTP_PASSWORD = "s3cret-app-password"
MAIL_FROM = "oh-my-agent <noreply@example.org>"




@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage
    tls: bool
    login: str | None


class Mailbox:
    """aiosmtpd handler: keeps what it accepts, refuses the listed recipients with 550."""

    def __init__(self, refuse: set[str] = frozenset()):
        self.refuse = set(refuse)
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data.login.decode() if session.authenticated else None
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, tls, login))
        return "250 2.0.0 Accepted"

    @property
    def message_ids(self) -> list[str]:
        with self._lock:
            return [r.message["Message-ID"] for r in self.received]


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data == (SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data)  # unhandled: the server answers 535


@dataclass
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@pytest.fixture(scope="session")
def certificates(tmp_path_factory) -> Certificates:
    """A throwaway CA and a server certificate it signed, for localhost and 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.timezone.utc)

    def pem(key) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oh-my-agent test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    files = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(pem(key))
    return files


@dataclass
class SMTPServer:
    port: int
    mailbox: Mailbox
    controller: Controller

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server(certificates) -> Callable[..., SMTPServer]:
    """Start a real SMTP server on 127.0.0.1: smtp_server(security="none"|"starttls"|"ssl", ...).

    "starttls" requires STARTTLS and offers AUTH (only over TLS); "ssl" is
    implicit TLS with AUTH. Stopped at the end of the test."""
    started: list[SMTPServer] = []

    def start(security: str = "none", *, port: int | None = None, refuse: set[str] = frozenset()) -> SMTPServer:
        port = port or free_port()
        mailbox = Mailbox(refuse)
        options: dict = {}
        if security == "starttls":
            options = dict(tls_context=certificates.server_context(), require_starttls=True, authenticator=_authenticator)
        elif security == "ssl":
            # aiosmtpd only knows about TLS it negotiated itself (STARTTLS); this connection is TLS throughout.
            options = dict(ssl_context=certificates.server_context(), authenticator=_authenticator, auth_require_tls=False)
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        server = SMTPServer(port, mailbox, controller)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.controller.server is not None:
            server.stop()


@pytest.fixture
def make_sender(store) -> Callable[..., OutboxSender]:
    """An OutboxSender for the test store, talking to 127.0.0.1."""

    def make(port: int, security: str = "none", **settings) -> OutboxSender:
        settings.setdefault("mail_from", MAIL_FROM)
        settings.setdefault("smtp_timeout", 5)
        return OutboxSender(store, smtp_host="127.0.0.1", smtp_port=port, smtp_security=security, **settings)

    return make


@pytest.fixture
async def store(tmp_path):
    from agents_extension.store import open_store

    opened = open_store("sqlite:///" + str(tmp_path / "s.db"))
    if inspect.isawaitable(opened):
        opened = await opened
    yield opened
    await opened.close()
