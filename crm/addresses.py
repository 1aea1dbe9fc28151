"""Email address rows and their links to records."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import parseaddr

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction

from crm.models import EmailAddress, EmailAddressLink

_NEEDS_PARSING = re.compile(r'[\s<>"(),;:]')


def normalize_address(raw: str) -> str:
    """Lower-case, trimmed bare address (``"Ayşe <A@X.com>"`` → ``"a@x.com"``); ``""`` when
    there is no usable address."""
    raw = (raw or "").strip()
    if raw and not _NEEDS_PARSING.search(raw):
        address = raw.lower()  # already a bare address: the common case, no parsing needed
        return address[:320] if "@" in address else ""  # and no blank in it (\s above)
    _name, address = parseaddr(raw)
    address = address.strip().strip("<>").strip().lower()
    if "@" not in address or any(ch.isspace() for ch in address):
        return ""
    return address[:320]


def addresses_get_or_create(addresses: Iterable[str]) -> dict[str, EmailAddress]:
    """Map each normalized address to its row, creating missing rows in one bulk insert."""
    wanted = {a for a in (normalize_address(x) for x in addresses) if a}
    if not wanted:
        return {}
    found = {row.address: row for row in EmailAddress.objects.filter(address__in=wanted)}
    missing = wanted - found.keys()
    if missing:
        found.update(_insert_new(sorted(missing)))
        raced = missing - found.keys()  # inserted meanwhile by another transaction
        if raced:
            found.update(
                {row.address: row for row in EmailAddress.objects.filter(address__in=raced)}
            )
    return found


def _insert_new(addresses: list[str]) -> dict[str, EmailAddress]:
    """Insert the addresses, leaving out those that exist by now, and return the new rows
    (``RETURNING``: no second query to read them back)."""
    quote = connection.ops.quote_name
    values = ", ".join(["(%s, %s, %s)"] * len(addresses))
    sql = (
        f"INSERT INTO {quote(EmailAddress._meta.db_table)} "  # noqa: S608 - our own table
        f"(address, is_invalid, opted_out) VALUES {values} "
        "ON CONFLICT DO NOTHING RETURNING id, address"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for address in addresses for value in (address, False, False)])
        rows = cursor.fetchall()
    created = {}
    for pk, address in rows:
        row = EmailAddress(pk=pk, address=address)
        row._state.adding, row._state.db = False, connection.alias
        created[address] = row
    return created


def record_set_addresses(record, addresses: list[str]) -> None:
    """Give ``record`` exactly these addresses; the first one is primary."""
    normalized = [a for a in dict.fromkeys(normalize_address(x) for x in addresses) if a]
    rows = addresses_get_or_create(normalized)
    content_type = ContentType.objects.get_for_model(record)
    with transaction.atomic():
        EmailAddressLink.objects.filter(content_type=content_type, object_id=record.pk).exclude(
            address__address__in=normalized
        ).delete()
        for position, address in enumerate(normalized):
            try:
                with transaction.atomic():
                    EmailAddressLink.objects.update_or_create(
                        address=rows[address],
                        content_type=content_type,
                        object_id=record.pk,
                        defaults={"primary": position == 0},
                    )
            except IntegrityError:  # concurrent writer linked it first; primary flag only
                EmailAddressLink.objects.filter(
                    address=rows[address], content_type=content_type, object_id=record.pk
                ).update(primary=position == 0)


def records_for_addresses(addresses: Iterable[str], models: Iterable[type]) -> dict[str, list]:
    """For each normalized address, the records of the given types carrying it.

    One indexed query for the links plus one per record type that occurs; records come in a
    deterministic order (primary links first, then oldest record).
    """
    wanted = [a for a in (normalize_address(x) for x in addresses) if a]
    if not wanted:
        return {}
    types = ContentType.objects.get_for_models(*models)
    model_for_type = {ct.pk: model for model, ct in types.items()}
    links = list(
        EmailAddressLink.objects.filter(
            address__address__in=wanted, content_type__in=list(types.values())
        )
        .order_by("-primary", "object_id")
        .values_list("address__address", "content_type_id", "object_id")
    )
    ids_by_type: dict[int, set[int]] = {}
    for _address, type_id, object_id in links:
        ids_by_type.setdefault(type_id, set()).add(object_id)
    objects = {
        (type_id, obj.pk): obj
        for type_id, ids in ids_by_type.items()
        for obj in model_for_type[type_id]._default_manager.filter(pk__in=ids)
    }
    result: dict[str, list] = {}
    for address, type_id, object_id in links:
        obj = objects.get((type_id, object_id))
        if obj is not None:
            result.setdefault(address, []).append(obj)
    return result
