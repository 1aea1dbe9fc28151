"""The data a page's form would post, built from an object and an API call's JSON, so the
API validates with the page's own form."""

from __future__ import annotations

from datetime import date, datetime

from django.http import QueryDict

from mailboxes.forms import SECRET_FIELDS


def _as_data(value) -> list[str] | str:
    if isinstance(value, list | tuple):
        return [str(getattr(v, "pk", v)) for v in value]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(getattr(value, "pk", value))


def _put(data: QueryDict, name: str, value) -> None:
    value = _as_data(value)
    if isinstance(value, list):
        data.setlist(name, value)
    else:
        data[name] = value


def form_post_data(form, incoming: dict) -> QueryDict:
    """What the page would post: every field of the (unbound) form and of its added panels
    as the object has it now (passwords empty: kept), overlaid with ``incoming``."""
    data = QueryDict(mutable=True)
    for part in [form, *getattr(form, "extra_forms", ())]:
        for name in part.fields:
            if name not in SECRET_FIELDS:
                _put(data, name, part[name].value())
    folder_map = form.instance.folder_map if hasattr(form.instance, "folder_map") else None
    if folder_map:
        data.setlist("folder_map_folder", list(folder_map))
        data.setlist("folder_map_target", [str(v) for v in folder_map.values()])
    for name, value in incoming.items():
        _put(data, name, value)
    return data
