"""Compose values to reply on a case: its group mailbox as From, the customer as To, the
case tag kept in the subject, the case as parent (the case page renders them with
``mailboxes/_reply_form.html``)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from crm.models import User
from mailboxes.models import Email
from mailboxes.sending.compose import Mailbox, reply_subject, subject_with_tag
from mailboxes.sending.drafts import parent_label
from mailboxes.sending.permissions import sending_identities
from mailboxes.sending.replies import answer_address
from mailboxes.sending.send import automatic_reply_to


def case_reply_initial(case, user: User, *, replied: Email | None = None) -> dict:
    """Initial compose values for replying on ``case`` (the cases work renders them with
    ``mailboxes/_reply_form.html``).

    From: the case's group mailbox when the user may send as it (else their first allowed
    address); To: the customer (contact, else account, else lead: primary address); subject:
    a reply to the case's latest customer email, keeping ``[#N]``; parent: the case;
    Reply-To: the group address (set again by ``email_send`` for any case parent).

    ``replied``: answer this email of the case instead (its Reply-To or sender is the To,
    unless it is our own mail); the caller checks that the user can read it.
    """
    identities = sending_identities(user)
    group = case.group_account
    from_account = None
    if group is not None and any(i.account_id == group.pk for i in identities):
        from_account = group.pk
    elif identities:
        from_account = identities[0].account_id

    customer = None
    for record in (case.contact, case.account, case.lead):
        if record is not None and record.primary_email:
            customer = Mailbox(address=record.primary_email, name=str(record))
            break
    case_type = ContentType.objects.get_for_model(type(case))
    latest = replied or (
        Email.objects.visible_to(user)
        .filter(parent_type=case_type, parent_id=case.pk)
        .filter(status=Email.Status.IMPORTED)
        .select_related("from_address")
        .order_by("-date_sent", "-pk")
        .first()
    )
    if replied is not None:
        customer = answer_address(replied, user) or customer
    tag = case.display_number
    if latest is not None:
        subject = subject_with_tag(reply_subject(latest.subject), tag)
    else:
        subject = subject_with_tag(case.name, tag)
    if customer is None and latest is not None:
        customer = answer_address(latest, user)
    reply_to = automatic_reply_to(case)
    return {
        "from_account": from_account,
        "to": customer.display() if customer else "",
        "subject": subject,
        "parent_type": parent_label(case),
        "parent_id": case.pk,
        "replied": latest.pk if latest is not None else None,
        "reply_to": ", ".join(m.display() for m in reply_to),
    }
