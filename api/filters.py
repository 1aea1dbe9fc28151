"""Email filters over the API, in their four scopes, with the filter pages' form and
``filters.services`` (the access rules: global and group-account filters are
administrators'; another user's filters do not exist for the caller)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from api.form_data import form_post_data
from api.records import form_errors
from filters.access import check_can_manage_filter, get_filter_for
from filters.forms import EmailFilterForm
from filters.models import EmailFilter
from filters.services import filter_delete, filter_new, filter_save_with_new_folder

PHRASE_FIELDS = ("body_contains_any", "body_contains_all")


class EmailFilterSerializer(serializers.ModelSerializer):
    body_contains_any = serializers.ListField(
        child=serializers.CharField(max_length=500), required=False, max_length=100
    )
    body_contains_all = serializers.ListField(
        child=serializers.CharField(max_length=500), required=False, max_length=100
    )
    new_folder = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Create (or reuse) this inbox folder and move matching emails into it.",
    )

    class Meta:
        model = EmailFilter
        fields = [
            "id",
            "name",
            "is_active",
            "order",
            "scope",
            "personal_account",
            "group_account",
            "user",
            "from_pattern",
            "to_pattern",
            "subject_pattern",
            "body_contains_any",
            "body_contains_all",
            "action",
            "folder",
            "group_folder",
            "mark_as_read",
            "no_notification",
            "new_folder",
            "match_count",
            "last_matched_at",
        ]
        read_only_fields = ["id", "order", "user", "match_count", "last_matched_at"]


@extend_schema_view(
    list=extend_schema(tags=["filters"]),
    retrieve=extend_schema(tags=["filters"]),
    create=extend_schema(tags=["filters"]),
    partial_update=extend_schema(tags=["filters"]),
    update=extend_schema(tags=["filters"]),
    destroy=extend_schema(tags=["filters"]),
)
class EmailFilterViewSet(viewsets.ModelViewSet):
    serializer_class = EmailFilterSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        filters = EmailFilter.objects.visible_to(self.request.user).order_by("scope", "order", "pk")
        scope = self.request.query_params.get("scope")
        return filters.filter(scope=scope) if scope else filters

    def get_object(self):
        return get_filter_for(self.request.user, self.kwargs["pk"])

    def _save(self, filter_obj: EmailFilter, partial: bool) -> Response:
        checked = self.get_serializer(data=self.request.data, partial=partial)
        checked.is_valid(raise_exception=True)
        incoming = {k: v for k, v in self.request.data.items() if k in checked.fields}
        for name in PHRASE_FIELDS:
            if isinstance(incoming.get(name), list):
                incoming[name] = "\n".join(incoming[name])
        user = self.request.user
        blank = EmailFilterForm(instance=filter_obj, user=user)
        form = EmailFilterForm(form_post_data(blank, incoming), instance=filter_obj, user=user)
        if form.is_valid():
            try:
                filter_save_with_new_folder(
                    user=user,
                    filter_obj=form.instance,
                    new_folder=form.cleaned_data.get("new_folder", ""),
                )
            except ValidationError as exc:
                form.add_model_errors(exc)
        if form.errors:
            raise form_errors(form)
        code = status.HTTP_200_OK if partial or filter_obj.pk else status.HTTP_201_CREATED
        return Response(self.get_serializer(form.instance).data, status=code)

    def create(self, request, *args, **kwargs):
        scope = request.data.get("scope") if isinstance(request.data, dict) else None
        if scope not in EmailFilter.Scope.values:
            raise serializers.ValidationError({"scope": [_("Choose one of the four scopes.")]})
        response = self._save(filter_new(user=request.user, scope=scope), partial=False)
        response.status_code = status.HTTP_201_CREATED
        return response

    def update(self, request, *args, **kwargs):
        filter_obj = self.get_object()
        check_can_manage_filter(request.user, filter_obj)
        return self._save(filter_obj, partial=True)

    def perform_destroy(self, instance) -> None:
        filter_delete(user=self.request.user, filter_obj=instance)
