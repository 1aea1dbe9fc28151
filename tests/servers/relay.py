"""A real mail path for tests: SMTP in, IMAP out.

``MailRelay`` is the aiosmtpd server of ``smtp.py`` that also delivers every message it
accepts into the test Dovecot mailbox of each recipient it knows (like an MTA with a local
delivery agent: a ``Return-Path`` with the envelope sender goes on top, then ``doveadm save``).
Recipients it does not know are "the outside world": the message is only captured.

    relay = MailRelay(dovecot).start()
    relay.add_mailbox(support_user)                 # support_user.email → its INBOX
    relay.add_mailbox(sales_user, "sales@corp.example")   # aliases too
    ...  # Postaci sends through relay.host:relay.port, then fetches the mailboxes
    assert relay.deliveries == [("support-…@example.test", "support-…")]
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from aiosmtpd.smtp import Envelope, Session

from .dovecot import DovecotServer, ImapUser
from .smtp import SmtpServer


@dataclass(frozen=True)
class Delivery:
    """One copy put into one mailbox."""

    address: str  # the envelope recipient
    username: str  # the Dovecot user it went to
    mail_from: str


class MailRelay(SmtpServer):
    """aiosmtpd that captures like ``SmtpServer`` and delivers known recipients to Dovecot."""

    def __init__(self, dovecot: DovecotServer, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dovecot = dovecot
        self._routes: dict[str, ImapUser] = {}
        self._deliveries: list[Delivery] = []
        self._outside: list[tuple[str, str]] = []  # (recipient, mail_from) not delivered
        self._lock = threading.Lock()

    def add_mailbox(self, user: ImapUser, *addresses: str) -> ImapUser:
        """Deliver mail for ``user.email`` (and any ``addresses``) into ``user``'s INBOX."""
        with self._lock:
            for address in (user.email, *addresses):
                self._routes[address.strip().lower()] = user
        return user

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def outside(self) -> list[tuple[str, str]]:
        """``(recipient, envelope sender)`` of copies for addresses no mailbox takes."""
        with self._lock:
            return list(self._outside)

    def _capture(self, session: Session, envelope: Envelope) -> None:
        # Deliver first, so a test that waited for the captured message finds it in IMAP.
        content = envelope.original_content or b""
        mail_from = envelope.mail_from or ""
        for recipient in envelope.rcpt_tos:
            with self._lock:
                user = self._routes.get(recipient.strip().lower())
            if user is None:
                with self._lock:
                    self._outside.append((recipient, mail_from))
                continue
            stamped = f"Return-Path: <{mail_from}>\r\nDelivered-To: {recipient}\r\n".encode()
            self.dovecot.deliver(user, stamped + content)
            with self._lock:
                self._deliveries.append(Delivery(recipient, user.username, mail_from))
        super()._capture(session, envelope)
