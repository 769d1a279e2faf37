"""E-mail out through the configured SMTP server (``SURVEY_SMTP_*``), for the reminders.

aiosmtplib speaks SMTP on the server's own event loop: a batch of letters goes over one
connection (STARTTLS and login once), each letter's outcome reported as it is known, and a
slow mail server holds up only the request that sends, not the other requests of the
process (stdlib smtplib would need a thread for that)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from survey_service.db.models import utcnow
from survey_service.settings import SmtpSettings

# Seconds one SMTP step (connect, a command) may take before the letter counts as failed.
SMTP_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Letter:
    to: str
    subject: str
    body: str


def message_of(sender: str, letter: Letter) -> EmailMessage:
    """The letter as a plain-text UTF-8 message; ValueError when the address is not one
    or a header would hold a line break."""
    recipient = Address(addr_spec=letter.to)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = letter.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    message.set_content(letter.body)
    return message


def _client(smtp: SmtpSettings) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        username=smtp.user,
        password=smtp.password,
        start_tls=smtp.starttls,
        timeout=SMTP_TIMEOUT,
        # Named, not looked up: socket.getfqdn() can wait seconds on a machine without DNS.
        local_hostname=smtp.sender.rpartition("@")[2],
    )


async def send_each(
    smtp: SmtpSettings, letters: Iterable[Letter]
) -> AsyncIterator[tuple[Letter, str | None]]:
    """Send the letters one by one; yield each with None once the server took it, or with
    why it did not (an address refused, the server unreachable: then every letter left
    fails with that reason at once, so a server that is down costs one timeout, not one a
    letter; a connection lost between letters is opened again)."""
    client = _client(smtp)
    unreachable: str | None = None
    try:
        for letter in letters:
            if unreachable is not None:
                yield letter, unreachable
                continue
            try:
                message = message_of(smtp.sender, letter)
            except ValueError as exc:
                yield letter, f"not sent: {exc}"
                continue
            if not client.is_connected:
                try:
                    await client.connect()
                except (aiosmtplib.SMTPException, OSError) as exc:
                    unreachable = _why(exc)
                    yield letter, unreachable
                    continue
            try:
                await client.send_message(message)
            except (aiosmtplib.SMTPException, OSError) as exc:
                yield letter, _why(exc)
                continue
            yield letter, None
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]
