"""The "Send test email" button of a mail account: one short message through its SMTP, now."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from mailboxes.linking.message_ids import message_id_new
from mailboxes.messages import (
    SMTP_RECIPIENTS,
    refused_list,
)
from mailboxes.models import (
    GroupEmailAccount,
    MailAccount,
)
from mailboxes.sending.compose import (
    Mailbox,
    MessageSpec,
    message_build,
    parse_addresses,
)
from mailboxes.sending.exceptions import DeliveryError, InvalidAddress
from mailboxes.sending.smtp import SmtpSettings, smtp_deliver


def account_send_test(account: MailAccount, *, to: str, user: User | None = None) -> None:
    """Send a short test email through ``account``'s SMTP, now (the "Send test email"
    button); raises ``DeliveryError`` with the server's words when it fails."""
    account = account.specific
    recipients = parse_addresses(to, field="to")
    if len(recipients) != 1:
        raise InvalidAddress(field="to")
    to = recipients[0].address
    name = account.from_name if isinstance(account, GroupEmailAccount) else ""
    raw = message_build(
        MessageSpec(
            message_id=message_id_new(None),
            sender=Mailbox(address=account.email_address, name=name or account.name),
            date=timezone.now(),
            to=[Mailbox(address=to)],
            subject=_("Postaci test email"),
            body_text=_(
                "This is a test email from Postaci. The SMTP settings of “%(account)s” work."
            )
            % {"account": account.name},
        )
    )
    refused = smtp_deliver(
        SmtpSettings.of(account), raw, envelope_from=account.email_address, envelope_to=[to]
    )
    if refused:
        raise DeliveryError(SMTP_RECIPIENTS(list=refused_list(refused)))
