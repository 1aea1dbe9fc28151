"""Step 7: the email's parent record, and why it was chosen.

First hit wins:

A bounce counts the message that bounced (found in the original it carries) as the one it
replies to, so it lands on the thread it bounced from.

1. ``reference`` — one of our signed Message-IDs (``mailboxes.linking.message_ids``) in In-Reply-To,
   then References newest first: the record it names. A forged or altered id is ignored.
2. ``reply`` — the email it replies to (In-Reply-To, then References newest first): that
   email's parent. The first of them we know becomes ``email.replied``.
3. ``sender`` — the From address: a Contact carrying it → the Contact's Account when it has
   one, else the Contact; else an Account carrying it; else a Lead (a converted Lead → the
   Account it was converted to, else its Contact by the Contact rule).
4. ``reply_to`` / ``to`` — the first Reply-To address, then the first To address, same rule.

An address several Contacts share picks one deterministically: a Contact whose *primary*
address it is comes first, then the oldest Contact (lowest id); the same for Accounts and Leads
(``crm.addresses.records_for_addresses``). Opportunities and Cases are never found by address.

A record named by a reference or by a replied email's parent is taken as it is (a Contact
stays the Contact), except that a converted Lead gives way to what it became.

``email.account`` is the parent when it is an Account, else the parent's Account (Contact,
Opportunity, Case). Only new emails are linked here; a duplicate keeps its parent, and a parent
set by hand (``linked_by=manual``) is never changed by the intake.

Then the rules other apps register (``mailboxes.linking.parents.link_rule_register``) see
the batch's decisions and may change them: cases makes an email to a case mailbox join the
case of its thread (a case email it answers, else an authorised ``[#N]`` in its subject), so
the parent is decided here, once. Such a rule also sees the batch's duplicates (with the
parent they have; never one linked by hand) and may move them to a case.

The whole batch costs a handful of statements: one for the replied emails, one per record type
named by references or replied emails, one ``records_for_addresses`` call for every address of
the batch, what the registered rules load for the whole batch, and one UPDATE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model

from crm.addresses import records_for_addresses
from crm.bulk import bulk_update_values
from mailboxes.intake.context import IntakeContext
from mailboxes.linking.message_ids import message_id_parent
from mailboxes.linking.parents import LINK_RULES, email_parent_models, link_rules
from mailboxes.models import Email

LinkedBy = Email.LinkedBy
LINK_FIELDS = ("parent_type", "parent_id", "account", "linked_by", "replied")
_RECORD_FIELDS = ("account_id", "status", "converted_account_id", "converted_contact_id")


@dataclass(frozen=True)
class Parent:
    """Where an email belongs: a record (by content type and id) and its Account's id."""

    type_id: int
    pk: int
    account_id: int | None


@dataclass(frozen=True)
class _Record:
    """What linking needs to know about one candidate record (no model instance needed)."""

    kind: str  # "account", "contact", "lead", "opportunity", "case"
    type_id: int
    pk: int
    account_id: int | None = None
    converted: bool = False
    converted_account_id: int | None = None
    converted_contact_id: int | None = None


# References of long threads are read from the newest end, plus the first one (which starts
# the thread and which trimming mail clients keep, RFC 5322 §3.6.4): a bounded lookup per message.
MAX_REFERENCES = 30


_QUOTED_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


def bounced_message_ids(ctx: IntakeContext) -> list[str]:
    """For a bounce: the Message-IDs of the message that bounced — from the original it
    carries (message/rfc822, text/rfc822-headers), else from headers it quotes as text."""
    classification = ctx.classification
    if classification is None or classification.kind != Email.AutoKind.BOUNCE:
        return []
    parsed = ctx.parsed
    if parsed.enclosed_message_ids:
        return parsed.enclosed_message_ids
    return _QUOTED_MESSAGE_ID.findall(parsed.body_text[:50_000])


def thread_ids(ctx: IntakeContext) -> list[str]:
    """In-Reply-To, then References newest first (a bounce: the message that bounced);
    without the message's own id."""
    parsed = ctx.parsed
    references = parsed.references
    ids = ([parsed.in_reply_to] if parsed.in_reply_to else []) + references[::-1][:MAX_REFERENCES]
    if len(references) > MAX_REFERENCES:
        ids.append(references[0])
    ids += bounced_message_ids(ctx)
    own = parsed.message_id
    return [i for i in dict.fromkeys(ids) if i and i != own]


class _Types:
    """Content-type ids and models of the parent types, looked up once per batch."""

    def __init__(self) -> None:
        self.models = email_parent_models()
        types = ContentType.objects.get_for_models(*self.models.values())
        self.kind_of_type = {types[model].pk: kind for kind, model in self.models.items()}
        self.type_of_kind = {kind: types[model].pk for kind, model in self.models.items()}
        self.kind_of_model = {model: kind for kind, model in self.models.items()}

    def record_of(self, obj: Model) -> _Record:
        kind = self.kind_of_model[type(obj)]
        return _record(kind, self.type_of_kind[kind], obj.pk, vars(obj))


def _record(kind: str, type_id: int, pk: int, values: dict) -> _Record:
    return _Record(
        kind=kind,
        type_id=type_id,
        pk=pk,
        account_id=values.get("account_id"),
        converted=values.get("status") == "converted",
        converted_account_id=values.get("converted_account_id"),
        converted_contact_id=values.get("converted_contact_id"),
    )


def _load_records(types: _Types, keys: set[tuple[int, int]]) -> dict[tuple[int, int], _Record]:
    """The records behind ``(content type id, pk)`` keys that still exist: one query per type."""
    by_type: dict[int, set[int]] = {}
    for type_id, pk in keys:
        if type_id in types.kind_of_type:
            by_type.setdefault(type_id, set()).add(pk)
    found: dict[tuple[int, int], _Record] = {}
    for type_id, pks in by_type.items():
        kind = types.kind_of_type[type_id]
        model = types.models[kind]
        attnames = {f.attname for f in model._meta.concrete_fields}
        fields = ["pk"] + [f for f in _RECORD_FIELDS if f in attnames]
        for row in model._default_manager.filter(pk__in=pks).values(*fields):
            found[(type_id, row["pk"])] = _record(kind, type_id, row["pk"], row)
    return found


class _Resolver:
    """Turns candidate records into parents by the rules above."""

    def __init__(self, types: _Types, contact_accounts: dict[int, int | None]) -> None:
        self.types = types
        self.contact_accounts = contact_accounts  # converted leads' contacts → their Account

    def _account(self, pk: int) -> Parent:
        return Parent(self.types.type_of_kind["account"], pk, pk)

    def _contact(self, pk: int, *, prefer_account: bool) -> Parent:
        account_id = self.contact_accounts.get(pk)
        if prefer_account and account_id:
            return self._account(account_id)
        return Parent(self.types.type_of_kind["contact"], pk, account_id)

    def _converted(self, record: _Record, *, prefer_account: bool) -> Parent | None:
        if not record.converted:
            return None
        if record.converted_account_id:
            return self._account(record.converted_account_id)
        if record.converted_contact_id:
            return self._contact(record.converted_contact_id, prefer_account=prefer_account)
        return None

    def as_is(self, record: _Record) -> Parent:
        """A record named by a reference or by the replied email's parent."""
        if record.kind == "lead":
            converted = self._converted(record, prefer_account=False)
            if converted is not None:
                return converted
        if record.kind == "account":
            return self._account(record.pk)
        return Parent(record.type_id, record.pk, record.account_id)

    def by_address(self, records: list[_Record]) -> Parent | None:
        """Contact (→ its Account), else Account, else Lead (→ what it converted to)."""
        for record in records:
            if record.kind == "contact":
                if record.account_id:
                    return self._account(record.account_id)
                return Parent(record.type_id, record.pk, None)
        for record in records:
            if record.kind == "account":
                return self._account(record.pk)
        for record in records:
            if record.kind == "lead":
                return self._converted(record, prefer_account=True) or Parent(
                    record.type_id, record.pk, None
                )
        return None


def _address_rules(ctx: IntakeContext) -> list[tuple[str, str]]:
    parsed = ctx.parsed
    rules = []
    if parsed.sender is not None:
        rules.append((LinkedBy.SENDER, parsed.sender.address))
    if parsed.reply_to:
        rules.append((LinkedBy.REPLY_TO, parsed.reply_to[0].address))
    if parsed.to:
        rules.append((LinkedBy.TO, parsed.to[0].address))
    return rules


@dataclass
class Link:
    """One email of the batch and the parent step 7 gives it; a registered rule may change
    ``parent`` and ``linked_by``."""

    ctx: IntakeContext
    thread_ids: list[str]  # In-Reply-To, then References newest first (see thread_ids)
    parent: Parent | None
    linked_by: str
    is_new: bool  # False: a duplicate, which keeps its parent unless a rule moves it

    @property
    def email(self) -> Email:
        return self.ctx.email


class ThreadIndex:
    """The parent of every email a batch's threads name: the batch's own (as decided so far,
    rules included) and those stored before."""

    def __init__(self, links: list[Link], known: dict[str, tuple[int, int | None, int | None]]):
        self._batch = {link.email.message_id: link for link in links if link.is_new}
        self._known = known

    def parent_of(self, message_id: str) -> Parent | None:
        link = self._batch.get(message_id)
        if link is not None:
            return link.parent
        _pk, type_id, parent_id = self._known.get(message_id, (None, None, None))
        return Parent(type_id, parent_id, None) if type_id and parent_id else None


def link_batch(batch: list[IntakeContext]) -> None:
    """Pipeline step 7: find the parent of every new email of the batch (and let the
    registered rules move the batch's duplicates)."""
    stored = [ctx for ctx in batch if ctx.email is not None and ctx.parsed is not None]
    new = [ctx for ctx in stored if ctx.is_new_email]
    duplicates = []
    if LINK_RULES:
        duplicates = [
            ctx for ctx in stored if not ctx.is_new_email and ctx.email.linked_by != LinkedBy.MANUAL
        ]
    if not new and not duplicates:
        return
    types = _Types()
    linker = _Linker(new, types, duplicates)
    linker.load_thread_records()
    linker.load_address_records()
    linker.load_contact_accounts()
    links = [linker.link(ctx) for ctx in new] + [linker.link_kept(ctx) for ctx in duplicates]
    thread = ThreadIndex(links, linker.known)
    for rule in link_rules():
        rule(links, thread)
    _links_save(links)


class _Linker:
    """The batch's candidate records, loaded a few queries for all emails at once, and the
    rules applied to each email (a reply within the batch is linked after what it replies to).
    """

    def __init__(
        self, new: list[IntakeContext], types: _Types, duplicates: list[IntakeContext]
    ) -> None:
        self.new = new
        self.types = types
        self.threads = {id(ctx): thread_ids(ctx) for ctx in new + duplicates}
        self.batch_emails = {ctx.email.message_id: ctx for ctx in new}
        # signed id → (content type, pk); replied id → (email pk, parent type id, parent id)
        self.signed: dict[str, tuple[ContentType, int]] = {}
        self.known: dict[str, tuple[int, int | None, int | None]] = {}
        self.records: dict[tuple[int, int], _Record] = {}
        self.by_address: dict[str, list[_Record]] = {}
        self.resolver = _Resolver(types, {})
        self.resolved: dict[int, tuple[Parent | None, str]] = {}
        self.visiting: set[int] = set()

    def load_thread_records(self) -> None:
        """Rules 1 and 2: the records our signed ids name, and the replied emails outside the
        batch with their parents."""
        all_ids = {i for ids in self.threads.values() for i in ids}
        self.signed = {i: key for i in all_ids if (key := message_id_parent(i)) is not None}
        outside = all_ids - self.batch_emails.keys()
        if outside:
            for pk, message_id, type_id, parent_id in Email.objects.filter(
                message_id__in=outside
            ).values_list("pk", "message_id", "parent_type_id", "parent_id"):
                self.known[message_id] = (pk, type_id, parent_id)
        keys = {(ct.pk, pk) for ct, pk in self.signed.values()}
        keys |= {(t, p) for _pk, t, p in self.known.values() if t and p}
        self.records = _load_records(self.types, keys)

    def load_address_records(self) -> None:
        """Rules 3 and 4: every address of the batch in one lookup."""
        addresses = {address for ctx in self.new for _rule, address in _address_rules(ctx)}
        if not addresses:
            return
        models = [self.types.models[kind] for kind in ("contact", "account", "lead")]
        found = records_for_addresses(addresses, models)
        self.by_address = {
            address: [self.types.record_of(obj) for obj in objs] for address, objs in found.items()
        }

    def load_contact_accounts(self) -> None:
        """The Accounts of the Contacts converted leads became (rare: one query for the batch
        when it happens)."""
        every_record = list(self.records.values()) + [
            r for rs in self.by_address.values() for r in rs
        ]
        contact_ids = {r.converted_contact_id for r in every_record if r.converted_contact_id}
        contact_accounts = {r.pk: r.account_id for r in every_record if r.kind == "contact"}
        missing = contact_ids - contact_accounts.keys()
        if missing:
            contact_model = self.types.models["contact"]
            contact_accounts.update(
                contact_model._default_manager.filter(pk__in=missing).values_list(
                    "pk", "account_id"
                )
            )
        self.resolver = _Resolver(self.types, contact_accounts)

    def link(self, ctx: IntakeContext) -> Link:
        """A new email's link by mailboxes' rules."""
        parent, rule = self.resolve(ctx)
        return Link(ctx, self.threads[id(ctx)], parent, rule, is_new=True)

    def link_kept(self, ctx: IntakeContext) -> Link:
        """A duplicate's link: the parent it has."""
        email = ctx.email
        parent = None
        if email.parent_type_id and email.parent_id:
            parent = Parent(email.parent_type_id, email.parent_id, email.account_id)
        return Link(ctx, self.threads[id(ctx)], parent, email.linked_by, is_new=False)

    def resolve(self, ctx: IntakeContext) -> tuple[Parent | None, str]:
        """The email's parent and the rule that found it; sets ``email.replied_id``."""
        if id(ctx) in self.resolved:
            return self.resolved[id(ctx)]
        if id(ctx) in self.visiting:  # a thread that refers to itself in a circle
            return None, LinkedBy.NONE
        self.visiting.add(id(ctx))
        ids = self.threads[id(ctx)]
        result = self._by_reference(ids)
        result, replied_pk = self._by_reply(ctx, ids, result)
        if result[0] is None:
            result = self._by_address(ctx)
        ctx.email.replied_id = replied_pk
        self.resolved[id(ctx)] = result
        self.visiting.discard(id(ctx))
        return result

    def _by_reference(self, ids: list[str]) -> tuple[Parent | None, str]:
        """Rule 1: the first of our own signed ids whose record still exists."""
        for message_id in ids:
            key = self.signed.get(message_id)
            record = self.records.get((key[0].pk, key[1])) if key else None
            if record is not None:
                return self.resolver.as_is(record), LinkedBy.REFERENCE
        return None, LinkedBy.NONE

    def _by_reply(
        self, ctx: IntakeContext, ids: list[str], result: tuple[Parent | None, str]
    ) -> tuple[tuple[Parent | None, str], int | None]:
        """Rule 2: the parent of the replied email (unless rule 1 found one), and the first
        replied email we know, found even when rule 1 decided."""
        replied_pk = None
        for message_id in ids:
            other = self.batch_emails.get(message_id)
            if other is not None and other is not ctx:
                replied_pk = replied_pk or other.email.pk
                if result[0] is None:
                    parent = self.resolve(other)[0]
                    if parent is not None:
                        result = (parent, LinkedBy.REPLY)
            elif message_id in self.known:
                pk, type_id, parent_id = self.known[message_id]
                replied_pk = replied_pk or pk
                record = self.records.get((type_id, parent_id))
                if result[0] is None and record is not None:
                    result = (self.resolver.as_is(record), LinkedBy.REPLY)
            if result[0] is not None and replied_pk:
                break
        return result, replied_pk

    def _by_address(self, ctx: IntakeContext) -> tuple[Parent | None, str]:
        """Rules 3 and 4: the sender, then the first Reply-To, then the first To address."""
        for rule, address in _address_rules(ctx):
            parent = self.resolver.by_address(self.by_address.get(address, []))
            if parent is not None:
                return parent, rule
        return None, LinkedBy.NONE


def _links_save(links: list[Link]) -> None:
    """Set each email's parent and write those that changed in one UPDATE."""
    changed: dict[int, Email] = {}
    for link in links:
        email = link.email
        parent = link.parent
        moved = parent is not None and (
            (email.parent_type_id, email.parent_id, email.linked_by)
            != (parent.type_id, parent.pk, link.linked_by)
        )
        if moved:
            email.parent_type_id, email.parent_id = parent.type_id, parent.pk
            email.account_id = parent.account_id
            email.linked_by = link.linked_by
        if moved or (link.is_new and (parent is not None or email.replied_id)):
            changed[email.pk] = email
    bulk_update_values(list(changed.values()), LINK_FIELDS)
