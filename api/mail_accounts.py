"""Group (administrators) and personal (owner, administrators) email accounts over the API:
read and update through the account pages' own forms; passwords are write-only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from api.form_data import form_post_data
from api.permissions import IsAdministrator
from api.records import form_errors
from crm.access import is_admin
from mailboxes.forms import (
    SECRET_FIELDS,
    GroupEmailAccountForm,
    PersonalEmailAccountForm,
)
from mailboxes.models import GroupEmailAccount, PersonalEmailAccount
from mailboxes.views.accounts import account_form_save


def account_serializer_for(model, form_class):
    fields = [f for f in form_class._meta.fields if f not in SECRET_FIELDS]
    writable_secrets = [f for f in SECRET_FIELDS if f in form_class._meta.fields]
    meta = type(
        "Meta",
        (),
        {"model": model, "fields": ["id", *fields, *writable_secrets], "read_only_fields": ["id"]},
    )
    attrs = {"Meta": meta}
    for name in writable_secrets:
        attrs[name] = serializers.CharField(
            write_only=True, required=False, allow_blank=True, max_length=1000
        )
    return type(f"{model.__name__}Serializer", (serializers.ModelSerializer,), attrs)


class MailAccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    lookup_value_regex = "[0-9]+"
    form_class = None

    def form(self, instance, data=None):
        return self.form_class(data, instance=instance)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        account = self.get_object()
        checked = self.get_serializer(account, data=request.data, partial=partial)
        checked.is_valid(raise_exception=True)
        incoming = {k: v for k, v in request.data.items() if k in checked.fields}
        form = self.form(account, form_post_data(self.form(account), incoming))
        if not form.is_valid():
            raise form_errors(form)
        account = account_form_save(form)
        return Response(self.get_serializer(self.get_queryset().get(pk=account.pk)).data)


@extend_schema_view(
    list=extend_schema(tags=["email accounts"]),
    retrieve=extend_schema(tags=["email accounts"]),
    update=extend_schema(tags=["email accounts"]),
    partial_update=extend_schema(tags=["email accounts"]),
)
class GroupEmailAccountViewSet(MailAccountViewSet):
    """Group email accounts: administrators only, as on the account pages."""

    permission_classes = [*MailAccountViewSet.permission_classes, IsAdministrator]
    serializer_class = account_serializer_for(GroupEmailAccount, GroupEmailAccountForm)
    form_class = GroupEmailAccountForm
    queryset = GroupEmailAccount.objects.prefetch_related("teams").order_by("name", "pk")


@extend_schema_view(
    list=extend_schema(tags=["email accounts"]),
    retrieve=extend_schema(tags=["email accounts"]),
    update=extend_schema(tags=["email accounts"]),
    partial_update=extend_schema(tags=["email accounts"]),
)
class PersonalEmailAccountViewSet(MailAccountViewSet):
    """Personal email accounts: the caller's own (administrators: everyone's)."""

    serializer_class = account_serializer_for(PersonalEmailAccount, PersonalEmailAccountForm)
    form_class = PersonalEmailAccountForm

    def get_queryset(self):
        accounts = PersonalEmailAccount.objects.order_by("name", "pk")
        if getattr(self, "swagger_fake_view", False):
            return accounts.none()
        user = self.request.user
        return accounts if is_admin(user) else accounts.filter(owner=user)

    def form(self, instance, data=None):
        user = self.request.user
        return PersonalEmailAccountForm(data, instance=instance, user=user, admin=is_admin(user))
