"""Accounts, contacts, leads, opportunities and cases over the API: one generic viewset
driven by the web UI's record screens, saving through the UI's forms (their validation and
the choices they offer the user) and ``crm.records`` (stream, follows, notifications)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.forms.models import model_to_dict
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api import serializers as api_serializers
from api.pagination import NewestFirstCursorPagination
from api.serializers import record_serializer_for
from crm.access import access_level
from crm.forms import NoteForm
from crm.models import Note
from crm.records import record_create, record_delete, record_update
from crm.stream import note_create, notes_prepare, stream_for
from crm.views.records import RecordScreen, address_prefetch


def form_errors(form) -> serializers.ValidationError:
    """The UI form's errors, by field, in the reader's language."""
    return serializers.ValidationError(
        {field: [str(message) for message in errors] for field, errors in form.errors.items()}
    )


def _form_value(value):
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, list | tuple):
        return [_form_value(v) for v in value]
    return "" if value is None else value


def form_data(form_class, instance, incoming: dict) -> dict:
    """The form's data: the record's current values (a new one's defaults), overlaid with
    what the caller sent (so PATCH changes only the fields it names)."""
    names = list(form_class._meta.fields)
    current = instance if instance is not None else form_class._meta.model()
    # a new record starts from the model's defaults (a case's status New, priority Normal)
    data = {k: _form_value(v) for k, v in model_to_dict(current, fields=names).items()}
    if current.pk and form_class.has_addresses:
        data["email_addresses"] = "\n".join(current.email_addresses)
    for name in [*names, "email_addresses"]:
        if name in incoming:
            value = incoming[name]
            if name == "email_addresses" and isinstance(value, list):
                value = "\n".join(str(v) for v in value)
            data[name] = _form_value(value)
    return data


class RecordViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Only records the caller may see exist (404 for the others)."""

    screen: RecordScreen = None
    lookup_value_regex = "[0-9]+"
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        screen = self.screen
        queryset = screen.model.objects.visible_to(self.request.user).select_related(
            *screen.select_related
        )
        queryset = queryset.prefetch_related("teams")
        if screen.has_addresses:
            queryset = queryset.prefetch_related(address_prefetch())
        return queryset.order_by(*screen.sorts()[screen.default_sort.lstrip("-")], "pk")

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def _form(self, instance, incoming: dict):
        form_class = self.screen.form_class
        return form_class(
            data=form_data(form_class, instance, incoming),
            instance=instance,
            user=self.request.user,
        )

    def _check_input(self, data, partial: bool) -> dict:
        """``data`` checked for types only (the form checks the rules); what of it to use."""
        serializer = self.get_serializer(data=data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return {k: v for k, v in data.items() if k in serializer.fields}

    def perform_save(self, instance, incoming: dict):
        """Save through the UI form and ``crm.records``; returns the saved record."""
        form = self._form(instance, incoming)
        if not form.is_valid():
            raise form_errors(form)
        with transaction.atomic():
            record = form.save(commit=False)
            if instance is None:
                record = record_create(record, user=self.request.user, addresses=form.addresses)
            else:
                record_update(
                    record,
                    user=self.request.user,
                    changed=form.changed_data,
                    addresses=form.addresses,
                )
            form.save_m2m()
        return record

    def _answer(self, record, code=status.HTTP_200_OK) -> Response:
        record = self.get_queryset().get(pk=record.pk)
        return Response(self.get_serializer(record).data, status=code)

    def create(self, request, *args, **kwargs):
        return self.create_from(request.data)

    def create_from(self, data) -> Response:
        if access_level(self.request.user, self.screen.model.access_scope) == "no":
            raise PermissionDenied
        record = self.perform_save(None, self._check_input(data, partial=False))
        return self._answer(record, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        record = self.perform_save(instance, self._check_input(request.data, partial=partial))
        return self._answer(record)

    def perform_destroy(self, instance) -> None:
        record_delete(instance)

    @extend_schema(
        responses={200: api_serializers.NotePageSerializer},
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
    )
    @action(detail=True, methods=["get"], pagination_class=NewestFirstCursorPagination)
    def stream(self, request, pk=None):
        """The record's stream, newest first, as the caller may see it (an account's also
        holds its contacts', opportunities' and cases' notes the caller may see)."""
        record = self.get_object()
        notes = stream_for(record, request.user)
        page = self.paginate_queryset(notes)
        notes_prepare(page, request.user)
        return self.get_paginated_response(api_serializers.NoteSerializer(page, many=True).data)

    @extend_schema(
        request=api_serializers.NotePostSerializer,
        responses={201: api_serializers.NoteSerializer},
    )
    @stream.mapping.post
    def note(self, request, pk=None):
        """Post a note to the record's stream (followers and @mentions are told)."""
        record = self.get_object()
        form = NoteForm(data={"body": request.data.get("body", "")})
        if not form.is_valid():
            raise form_errors(form)
        note = note_create(
            parent=record,
            type=Note.Type.POST,
            author=request.user,
            body=form.cleaned_data["body"],
        )
        return Response(api_serializers.NoteSerializer(note).data, status=status.HTTP_201_CREATED)


def record_viewset(
    screen: RecordScreen,
    *,
    base=RecordViewSet,
    tag: str,
    extra_fields: dict | None = None,
    read_only: tuple[str, ...] = (),
):
    """A viewset class for ``screen`` (its serializer follows the screen's form)."""
    serializer = record_serializer_for(
        screen.model,
        screen.form_class,
        addresses=screen.has_addresses,
        extra=extra_fields,
        read_only=read_only,
    )
    name = screen.model._meta.verbose_name_plural
    viewset = type(
        f"{screen.model.__name__}ViewSet",
        (base,),
        {
            "screen": screen,
            "serializer_class": serializer,
            "filterset_class": screen.filterset_class,
            "api_tag": tag,  # every operation of it, the base's actions too (api.schema)
            "__doc__": f"{name}",
        },
    )
    return extend_schema_view(
        list=extend_schema(tags=[tag], filters=True),
        retrieve=extend_schema(tags=[tag]),
        create=extend_schema(tags=[tag]),
        update=extend_schema(tags=[tag]),
        partial_update=extend_schema(tags=[tag]),
        destroy=extend_schema(tags=[tag]),
        stream=extend_schema(tags=[tag]),
    )(viewset)
