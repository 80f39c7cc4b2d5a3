"""The outbox sender: delivers due outbox messages over SMTP with aiosmtplib.

The agents service writes e-mails into the outbox together with the event
that causes them; this sender takes them out one at a time
(`Store.claim_due_message`, a lease so two senders never hold the same
message), sends each, and records the outcome:

- sent: `mark_sent` right after the server accepted it, so it is never sent
  again (if even that write fails, the sender remembers the id and records it
  before sending anything else; it never resends it);
- refused by the server (a bad recipient, a rejected message): `mark_retry`
  with exponential backoff, and "failed" after `max_attempts`;
- the server is unreachable, refuses our login or drops the connection: the
  message goes back with a backoff, the round stops and the sender pauses
  (with its own backoff), then tests the connection before claiming anything
  again, so an outage costs one attempt of one message, and an outage never
  makes a message "failed".

Without an SMTP host (local mode) it sends nothing and messages stay in the
outbox, where admins can read them.

Logs name the message id, its event and how many recipients it has, never the
password or the bodies.
"""

from __future__ import annotations

import asyncio
import ssl
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, Mapping

import aiosmtplib
from traitlets import CaselessStrEnum, Float, Integer, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from agents_extension.store.base import OutboxMessage, Store
from oma_contract.environment import DocumentedEnvironment, from_environment

from .templates import compose

SECURITY_MODES = ("starttls", "ssl", "none")


class SMTPUnavailable(Exception):
    """The SMTP server cannot take any message right now (down, login refused, connection lost)."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _describe(error: BaseException) -> str:
    """A short description of a failure for logs and the outbox's last_error."""
    if isinstance(error, SMTPUnavailable):
        return str(error)
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refusals = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
        return f"all {len(error.recipients)} recipient(s) refused: {refusals}"[:500]
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{type(error).__name__}: {error.code} {error.message}"[:500]
    return f"{type(error).__name__}: {error}"[:500]


def _is_server_failure(error: BaseException) -> bool:
    """Whether a failure while sending is the server's (stop the round) rather than this message's."""
    if isinstance(error, (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPAuthenticationError)):
        return True  # our MAIL FROM or login is refused: every message would fail the same way
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return error.code == 421  # "service not available, closing transmission channel"
    return isinstance(error, (ConnectionError, TimeoutError, OSError, aiosmtplib.SMTPTimeoutError))


def _checked_mail_from(value: str) -> str:
    value = value.strip()
    if value and "@" not in parseaddr(value)[1]:
        raise ValueError(f"mail_from (OMA_MAIL_FROM) must be an e-mail address, got {value!r}")
    return value


class OutboxSender(DocumentedEnvironment, LoggingConfigurable):
    """The e-mail component of the agents service: composes beta e-mails into the
    outbox (`compose`) and delivers the outbox over SMTP, with retries and backoff.

    Its settings are traits whose defaults come from OMA_SMTP_* and OMA_MAIL_*
    variables; the agents service creates it with ``parent=`` itself, so they are
    read from the service's configuration too (``--OutboxSender.interval=...``).
    """

    smtp_host = Unicode(
        config=True,
        help="""SMTP server host name. Empty means local mode: nothing is sent and
        messages stay in the outbox, where admins read them.""",
    ).tag(env="OMA_SMTP_HOST")

    @default("smtp_host")
    def _smtp_host_default(self) -> str:
        return from_environment(self, "smtp_host", "")

    smtp_security = CaselessStrEnum(
        SECURITY_MODES,
        config=True,
        help="""How the connection is protected: "starttls" (plain connection upgraded
        with STARTTLS, required), "ssl" (implicit TLS from the first byte, usually
        port 465) or "none" (no TLS; only for a relay on a trusted network).""",
    ).tag(env="OMA_SMTP_SECURITY")

    @default("smtp_security")
    def _smtp_security_default(self) -> str:
        return from_environment(self, "smtp_security", "starttls").lower()

    smtp_port = Integer(
        config=True,
        help="""SMTP server port. Unset: 587, or 465 when smtp_security is "ssl".""",
    ).tag(env="OMA_SMTP_PORT")

    @default("smtp_port")
    def _smtp_port_default(self) -> int:
        return from_environment(self, "smtp_port", 465 if self.smtp_security == "ssl" else 587)

    smtp_username = Unicode(
        config=True,
        help="User name for SMTP AUTH. Empty: no login.",
    ).tag(env="OMA_SMTP_USERNAME")

    @default("smtp_username")
    def _smtp_username_default(self) -> str:
        return from_environment(self, "smtp_username", "")

    smtp_password = Unicode(
        config=True,
        help="Password for SMTP AUTH. Never logged, and never reaches user servers.",
    ).tag(env="OMA_SMTP_PASSWORD")

    @default("smtp_password")
    def _smtp_password_default(self) -> str:
        return from_environment(self, "smtp_password", "")

    smtp_timeout = Float(
        config=True,
        help="Seconds to wait for the SMTP server on each step.",
    ).tag(env="OMA_SMTP_TIMEOUT")

    @default("smtp_timeout")
    def _smtp_timeout_default(self) -> float:
        return from_environment(self, "smtp_timeout", 30.0)

    smtp_ca_file = Unicode(
        config=True,
        help="""PEM file of certificate authorities to trust for the SMTP server's
        certificate. Empty: the system's. Certificates are always verified.""",
    ).tag(env="OMA_SMTP_CA_FILE")

    @default("smtp_ca_file")
    def _smtp_ca_file_default(self) -> str:
        return from_environment(self, "smtp_ca_file", "")

    mail_from = Unicode(
        config=True,
        help="""The From address, optionally with a display name, e.g.
        "oh-my-agent <noreply@example.org>". Empty: the SMTP user name when it is an
        e-mail address.""",
    ).tag(env="OMA_MAIL_FROM")

    @default("mail_from")
    def _mail_from_default(self) -> str:
        value = from_environment(self, "mail_from", "")
        if value:
            return _checked_mail_from(value)
        return self.smtp_username if "@" in self.smtp_username else ""

    max_attempts = Integer(
        10,
        config=True,
        help="""Attempts before a message the server keeps refusing is marked "failed".
        Attempts that fail because the server is unreachable do not make a message fail.""",
    )

    retry_delay = Float(
        config=True,
        help="Seconds before the first retry; the delay doubles with every attempt, up to max_retry_delay.",
    ).tag(env="OMA_MAIL_RETRY_SECONDS")

    @default("retry_delay")
    def _default_retry_delay(self) -> float:
        return from_environment(self, "retry_delay", 30.0)

    max_retry_delay = Float(
        3600.0,
        config=True,
        help="The longest delay between two attempts, in seconds.",
    )

    lease_seconds = Float(
        300.0,
        config=True,
        help="""How long a claimed message is reserved for this sender. Longer than
        one send can take, so no other sender picks it up mid-send.""",
    )

    interval = Float(
        config=True,
        help="Seconds between two checks of the outbox for due messages.",
    ).tag(env="OMA_MAIL_INTERVAL_SECONDS")

    @default("interval")
    def _interval_default(self) -> float:
        return from_environment(self, "interval", 10.0)

    @validate("mail_from")
    def _validate_mail_from(self, proposal):
        return _checked_mail_from(proposal.value)

    @validate("max_attempts")
    def _validate_max_attempts(self, proposal):
        if proposal.value < 1:
            raise ValueError("max_attempts must be at least 1")
        return proposal.value

    def __init__(self, store: Store, **kwargs):
        super().__init__(**kwargs)
        self.store = store
        self._outage_until: datetime | None = None
        self._outage_delay = 0.0
        # Messages the server accepted but whose mark_sent failed: never send them again.
        self._sent_unrecorded: dict[str, datetime] = {}
        self._stop_requested = False
        self._wake: asyncio.Event | None = None
        self._said_unconfigured = False

    @staticmethod
    def compose(event: str, language: str | None, *, to: list[str], context: Mapping[str, Any]) -> OutboxMessage:
        """An event's e-mail as a new pending outbox message (templates.compose), for the
        agents service to store with the event; this sender delivers it later."""
        return compose(event, language, to=to, context=context)

    # -- settings ---------------------------------------------------------------
    @property
    def configured(self) -> bool:
        """Whether there is an SMTP server to send to (else: local mode)."""
        return bool(self.smtp_host and self.mail_from)

    def retry_delay_after(self, attempts: int) -> timedelta:
        """The backoff after the `attempts`-th failed attempt: retry_delay doubling, capped."""
        exponent = max(attempts - 1, 0)
        seconds = self.max_retry_delay if exponent >= 32 else self.retry_delay * 2**exponent
        return timedelta(seconds=min(seconds, self.max_retry_delay))

    # -- SMTP -------------------------------------------------------------------
    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.smtp_ca_file or None)

    async def _connect(self) -> aiosmtplib.SMTP:
        """Connect (with TLS as configured) and log in; any failure is SMTPUnavailable."""
        secure = self.smtp_security != "none"
        client = aiosmtplib.SMTP(
            hostname=self.smtp_host,
            port=self.smtp_port,
            timeout=self.smtp_timeout,
            use_tls=self.smtp_security == "ssl",
            start_tls=self.smtp_security == "starttls",
            tls_context=self._tls_context() if secure else None,
        )
        try:
            await client.connect()
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()
            if self.smtp_username:
                await client.login(self.smtp_username, self.smtp_password)
            # An empty transaction: a server that refuses our sender (no login, TLS
            # required, From not allowed) would refuse every message, so find out
            # here, before a message is charged an attempt for it.
            await client.mail(parseaddr(self.mail_from)[1])
            await client.rset()
        except (aiosmtplib.SMTPException, OSError) as error:
            client.close()
            raise SMTPUnavailable(_describe(error)) from error
        return client

    @staticmethod
    async def _disconnect(client: aiosmtplib.SMTP) -> None:
        try:
            if client.is_connected:
                await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()

    def build_email(self, message: OutboxMessage) -> EmailMessage:
        """The MIME message for an outbox message: text and HTML alternatives, and a
        Message-ID derived from the outbox id, so a retry carries the same one."""
        domain = parseaddr(self.mail_from)[1].rpartition("@")[2] or "oh-my-agent.invalid"
        email = EmailMessage()
        email["Subject"] = message.subject
        email["From"] = self.mail_from
        email["To"] = ", ".join(message.to)
        email["Date"] = format_datetime(message.created_at or _utcnow())
        email["Message-ID"] = f"<{message.id}@{domain}>"
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        return email

    # -- delivery ---------------------------------------------------------------
    async def deliver_due(self, now: datetime | None = None) -> int:
        """Send every due outbox message, one at a time; return how many were sent.

        `now` fixes the clock for this round (tests); by default the real UTC time.
        """
        if not self.configured:
            if not self._said_unconfigured:
                if self.smtp_host:
                    self.log.warning("SMTP host %s set but no From address (OMA_MAIL_FROM): e-mails stay in the outbox",
                                     self.smtp_host)
                else:
                    self.log.info("No SMTP server configured (OMA_SMTP_HOST): e-mails stay in the outbox")
                self._said_unconfigured = True
            return 0

        def clock() -> datetime:
            return now or _utcnow()

        await self._record_unrecorded_sends()
        if self._outage_until is not None and clock() < self._outage_until:
            self.log.debug("SMTP server unavailable: no delivery before %s", self._outage_until.isoformat())
            return 0

        sent = 0
        client: aiosmtplib.SMTP | None = None
        try:
            if self._outage_until is not None:
                # After an outage, check the server before claiming, so no message pays for it.
                try:
                    client = await self._connect()
                except SMTPUnavailable as error:
                    self._note_outage(error, clock())
                    return 0
                self._note_recovery()

            while not self._stop_requested:
                message = await self.store.claim_due_message(clock(), self.lease_seconds)
                if message is None:
                    break

                if client is None:
                    try:
                        client = await self._connect()
                    except SMTPUnavailable as error:
                        await self._retry(message, error, clock(), server_failure=True)
                        self._note_outage(error, clock())
                        break
                    self._note_recovery()

                try:
                    refused, _ = await client.send_message(self.build_email(message))
                except (aiosmtplib.SMTPException, OSError, ValueError) as error:
                    if _is_server_failure(error):
                        await self._retry(message, error, clock(), server_failure=True)
                        self._note_outage(error, clock())
                        break
                    await self._retry(message, error, clock(), server_failure=False)
                    continue

                if refused:
                    self.log.warning(
                        "Outbox message %s (%s): %d of %d recipient(s) refused, sent to the others",
                        message.id, message.event, len(refused), len(message.to),
                    )
                self._outage_delay = 0.0
                await self._record_sent(message, clock())
                sent += 1
        finally:
            if client is not None:
                await self._disconnect(client)
        return sent

    async def _record_sent(self, message: OutboxMessage, sent_at: datetime) -> None:
        self._sent_unrecorded[message.id] = sent_at
        try:
            await self.store.mark_sent(message.id, sent_at)
        except Exception:
            self.log.error(
                "Outbox message %s (%s) was sent but could not be recorded as sent; it will not be sent again",
                message.id, message.event,
            )
            raise
        del self._sent_unrecorded[message.id]
        self.log.info(
            "Sent outbox message %s (%s) to %d recipient(s), attempt %d",
            message.id, message.event, len(message.to), message.attempts,
        )

    async def _record_unrecorded_sends(self) -> None:
        for message_id, sent_at in list(self._sent_unrecorded.items()):
            await self.store.mark_sent(message_id, sent_at)
            del self._sent_unrecorded[message_id]
            self.log.info("Recorded earlier send of outbox message %s", message_id)

    async def _retry(self, message: OutboxMessage, error: BaseException, now: datetime, *, server_failure: bool) -> None:
        description = _describe(error)
        if not server_failure and message.attempts >= self.max_attempts:
            await self.store.mark_retry(message.id, description, None)
            self.log.error(
                "Outbox message %s (%s, %d recipient(s)) failed after %d attempts, giving up: %s",
                message.id, message.event, len(message.to), message.attempts, description,
            )
            return
        next_attempt_at = now + self.retry_delay_after(message.attempts)
        await self.store.mark_retry(message.id, description, next_attempt_at)
        self.log.warning(
            "Outbox message %s (%s, %d recipient(s)) not sent, attempt %d: %s; next attempt at %s",
            message.id, message.event, len(message.to), message.attempts, description,
            next_attempt_at.isoformat(),
        )

    def _note_outage(self, error: BaseException, now: datetime) -> None:
        self._outage_delay = (
            self.retry_delay if not self._outage_delay else min(self._outage_delay * 2, self.max_retry_delay)
        )
        self._outage_until = now + timedelta(seconds=self._outage_delay)
        self.log.warning(
            "SMTP server %s:%d (%s) unavailable: %s; pausing delivery until %s",
            self.smtp_host, self.smtp_port, self.smtp_security, _describe(error),
            self._outage_until.isoformat(),
        )

    def _note_recovery(self) -> None:
        # The pause ends; its backoff is reset only by a delivered message, so a
        # server that accepts connections but drops every message still gets
        # longer and longer pauses.
        if self._outage_until is not None:
            self.log.info("SMTP server %s:%d is reachable again", self.smtp_host, self.smtp_port)
        self._outage_until = None

    # -- the loop ---------------------------------------------------------------
    async def run_forever(self, interval: float | None = None) -> None:
        """Deliver due messages every `interval` seconds (default: the interval
        setting) until stop() is called. A failed round is logged, not fatal."""
        interval = self.interval if interval is None else interval
        self._stop_requested = False
        self._wake = asyncio.Event()
        self.log.info(
            "Outbox sender started: %s every %gs",
            f"SMTP {self.smtp_host}:{self.smtp_port} ({self.smtp_security})" if self.configured else "local mode",
            interval,
        )
        while not self._stop_requested:
            try:
                await self.deliver_due()
            except Exception:
                self.log.exception("Outbox delivery round failed")
            if self._stop_requested:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except TimeoutError:
                pass
            self._wake.clear()
        self._stop_requested = False
        self.log.info("Outbox sender stopped")

    def wake(self) -> None:
        """Start the next round now (e.g. right after messages were queued)."""
        if self._wake is not None:
            self._wake.set()

    def stop(self) -> None:
        """Make run_forever return after the message being sent, if any."""
        self._stop_requested = True
        if self._wake is not None:
            self._wake.set()
