"""List, detail, create, edit and delete screens shared by the four CRM record types.

Each type is described once by a :class:`RecordScreen`; the views are generic. Every record
is read through ``visible_to(user)``: a record the user may not see answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView, FormView, ListView
from django.views.generic.base import TemplateResponseMixin

from crm import forms, list_filters
from crm.access import access_level
from crm.deliverability import address_mark_valid
from crm.leads import LeadAlreadyConverted, lead_convert
from crm.models import Account, Contact, EmailAddressLink, Lead, Opportunity, Record
from crm.records import record_create, record_delete, record_update, status_field_of
from crm.views.stream import stream_context

LIST_PAGE_SIZE = 50


@dataclass(frozen=True)
class Column:
    """A list column: ``attr`` is read from the record (``get_<attr>_display`` for choices);
    ``sort`` are the ``order_by`` fields when the column is sortable."""

    key: str
    label: str
    attr: str
    sort: tuple[str, ...] = ()
    link: bool = False
    badge: bool = False  # a choice shown as a badge (CSS class ``badge-<value>``)


@dataclass(frozen=True)
class RecordScreen:
    model: type[Record]
    form_class: type[forms.RecordForm]
    filterset_class: type[list_filters.RecordFilterSet]
    columns: tuple[Column, ...]
    detail_fields: tuple[str, ...]
    default_sort: str
    select_related: tuple[str, ...] = ()
    icon: str = ""
    extra_sorts: dict = field(default_factory=dict)
    namespace: str = "crm"  # URL namespace and template folder of the record's app

    @property
    def name(self) -> str:
        return self.model._meta.model_name

    @property
    def has_addresses(self) -> bool:
        return self.form_class.has_addresses

    def url_name(self, action: str) -> str:
        return f"{self.namespace}:{self.name}-{action}"

    def sorts(self) -> dict[str, tuple[str, ...]]:
        return {c.key: c.sort for c in self.columns if c.sort} | self.extra_sorts


_assigned = Column(
    "assigned",
    gettext_lazy("Assigned user"),
    "assigned_user",
    ("assigned_user__first_name", "assigned_user__last_name", "assigned_user__username"),
)
_created = Column("created", gettext_lazy("Created"), "created_at", ("created_at",))
_email = Column("email", gettext_lazy("Email"), "primary_email")

ACCOUNTS = RecordScreen(
    model=Account,
    form_class=forms.AccountForm,
    filterset_class=list_filters.AccountFilterSet,
    columns=(
        Column("name", gettext_lazy("Name"), "name", ("name",), link=True),
        Column("type", gettext_lazy("Type"), "type", ("type",)),
        _email,
        Column("phone", gettext_lazy("Phone"), "phone"),
        _assigned,
        _created,
    ),
    detail_fields=(
        "type",
        "industry",
        "website",
        "email_addresses",
        "phone",
        "billing_address",
        "description",
    ),
    default_sort="name",
    select_related=("assigned_user",),
)
CONTACTS = RecordScreen(
    model=Contact,
    form_class=forms.ContactForm,
    filterset_class=list_filters.ContactFilterSet,
    columns=(
        Column("name", gettext_lazy("Name"), "name", ("last_name", "first_name"), link=True),
        Column("account", gettext_lazy("Account"), "account", ("account__name",)),
        _email,
        Column("phone", gettext_lazy("Phone"), "phone"),
        _assigned,
        _created,
    ),
    detail_fields=("salutation", "account", "title", "email_addresses", "phone", "description"),
    default_sort="name",
    select_related=("assigned_user", "account"),
)
LEADS = RecordScreen(
    model=Lead,
    form_class=forms.LeadForm,
    filterset_class=list_filters.LeadFilterSet,
    columns=(
        Column("name", gettext_lazy("Name"), "name", ("last_name", "first_name"), link=True),
        Column("company", gettext_lazy("Company"), "account_name", ("account_name",)),
        Column("status", gettext_lazy("Status"), "status", ("status",)),
        _email,
        _assigned,
        _created,
    ),
    detail_fields=(
        "salutation",
        "account_name",
        "title",
        "status",
        "source",
        "email_addresses",
        "phone",
        "description",
        "converted_account",
        "converted_contact",
    ),
    default_sort="-created",
    select_related=("assigned_user",),
)
OPPORTUNITIES = RecordScreen(
    model=Opportunity,
    form_class=forms.OpportunityForm,
    filterset_class=list_filters.OpportunityFilterSet,
    columns=(
        Column("name", gettext_lazy("Name"), "name", ("name",), link=True),
        Column("account", gettext_lazy("Account"), "account", ("account__name",)),
        Column("stage", gettext_lazy("Stage"), "stage", ("stage",)),
        Column("amount", gettext_lazy("Amount"), "amount", ("amount",)),
        Column("close_date", gettext_lazy("Close date"), "close_date", ("close_date",)),
        _assigned,
    ),
    detail_fields=("account", "contact", "stage", "amount", "close_date", "description"),
    default_sort="-created",
    select_related=("assigned_user", "account"),
    extra_sorts={"created": ("created_at",)},
)

SCREENS = {screen.name: screen for screen in (ACCOUNTS, CONTACTS, LEADS, OPPORTUNITIES)}


def address_prefetch() -> Prefetch:
    return Prefetch("email_links", queryset=EmailAddressLink.objects.select_related("address"))


class ScreenMixin(LoginRequiredMixin):
    screen: RecordScreen = None  # given to as_view()

    def visible_records(self) -> QuerySet:
        queryset = self.screen.model.objects.visible_to(self.request.user).select_related(
            *self.screen.select_related
        )
        if self.screen.has_addresses:
            queryset = queryset.prefetch_related(address_prefetch())
        return queryset

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["screen"] = self.screen
        context["meta"] = self.screen.model._meta
        context["list_url"] = reverse(self.screen.url_name("list"))
        context["create_url"] = reverse(self.screen.url_name("create"))
        level = access_level(self.request.user, self.screen.model.access_scope)
        context["may_create"] = level != "no"
        return context


class RecordListView(ScreenMixin, ListView):
    paginate_by = LIST_PAGE_SIZE
    template_name = "crm/record_list.html"

    @cached_property
    def filterset(self) -> list_filters.RecordFilterSet:
        return self.screen.filterset_class(
            self.request.GET or None, queryset=self.visible_records(), request=self.request
        )

    @cached_property
    def sort(self) -> str:
        wanted = self.request.GET.get("sort", "")
        return wanted if wanted.lstrip("-") in self.screen.sorts() else self.screen.default_sort

    def get_queryset(self) -> QuerySet:
        queryset = self.filterset.qs if self.filterset.is_bound else self.visible_records()
        if self.filterset.is_bound and not self.filterset.is_valid():
            queryset = queryset.none()
        descending = self.sort.startswith("-")
        fields = self.screen.sorts()[self.sort.lstrip("-")]
        order = [f"-{f}" if descending else f for f in fields]
        return queryset.order_by(*order, "-pk" if descending else "pk")

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context.update(filter=self.filterset, sort=self.sort, columns=self.screen.columns)
        return context


class RecordDetailView(ScreenMixin, DetailView):
    template_name = "crm/record_detail.html"
    context_object_name = "record"

    def get_queryset(self) -> QuerySet:
        return self.visible_records()

    def get_template_names(self) -> list[str]:
        return [f"{self.screen.namespace}/{self.screen.name}_detail.html", self.template_name]

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        record = self.object
        context["fields"] = [
            (name, self._label(name), self._value(record, name))
            for name in self.screen.detail_fields
        ]
        context["panels"] = self._panels(record)
        context["edit_url"] = reverse(self.screen.url_name("edit"), args=[record.pk])
        context["screen_address_valid"] = self.screen.url_name("address-valid")
        context["delete_url"] = reverse(self.screen.url_name("delete"), args=[record.pk])
        if isinstance(record, Lead) and record.status != Lead.Status.CONVERTED:
            context["convert_url"] = reverse("crm:lead-convert", args=[record.pk])
        status_field = status_field_of(record) or ("type" if isinstance(record, Account) else "")
        if status_field and getattr(record, status_field):
            context["status_value"] = getattr(record, status_field)
            context["status_display"] = getattr(record, f"get_{status_field}_display")()
        context.update(stream_context(self.request, record))
        return context

    def _label(self, name: str) -> str:
        if name == "email_addresses":
            return _("Email addresses")
        return self.screen.model._meta.get_field(name).verbose_name

    def _value(self, record: Record, name: str):
        if name == "email_addresses":
            return record.email_address_rows  # an invalid one shows struck through, with why
        value = getattr(record, name)
        if isinstance(value, Record):
            # link only what the user may open
            visible = type(value).objects.visible_to(self.request.user).filter(pk=value.pk)
            return value if visible.exists() else str(value)
        display = getattr(record, f"get_{name}_display", None)
        return display() if display and value else value

    def _panels(self, record: Record) -> list[dict]:
        """Related records shown under the fields: an Account's contacts and opportunities,
        a Contact's opportunities (only those the user may see)."""
        user = self.request.user
        panels = []
        if isinstance(record, Account):
            panels.append(
                {
                    "title": _("Contacts"),
                    "records": Contact.objects.visible_to(user).filter(account=record)[:50],
                    "create_url": reverse("crm:contact-create") + f"?account={record.pk}",
                }
            )
        if isinstance(record, Account | Contact):
            panels.append(
                {
                    "title": _("Opportunities"),
                    "records": Opportunity.objects.visible_to(user)
                    .filter(**{record._meta.model_name: record})
                    .select_related("account")[:50],
                    "create_url": reverse("crm:opportunity-create")
                    + f"?{record._meta.model_name}={record.pk}",
                }
            )
        return panels


class RecordFormMixin(ScreenMixin):
    template_name = "crm/record_form.html"

    def get_form_kwargs(self) -> dict:
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def get_form_class(self):
        return self.screen.form_class

    def get_success_url(self) -> str:
        return self.object.get_absolute_url()


class RecordCreateView(RecordFormMixin, FormView):
    object = None

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and (
            access_level(request.user, self.screen.model.access_scope) == "no"
        ):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self) -> dict:
        # "New contact" from an Account page arrives with ?account=<id>
        initial = super().get_initial()
        form_fields = self.screen.form_class.base_fields
        for name in ("account", "contact"):
            if name in form_fields and self.request.GET.get(name, "").isdigit():
                initial[name] = int(self.request.GET[name])
        return initial

    def form_valid(self, form):
        record = form.save(commit=False)
        self.object = record_create(record, user=self.request.user, addresses=form.addresses)
        form.save_m2m()
        messages.success(self.request, _("%(record)s was created.") % {"record": record})
        return HttpResponseRedirect(self.get_success_url())


class RecordUpdateView(RecordFormMixin, FormView):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.object = get_object_or_404(self.visible_records(), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict:
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = self.object
        return kwargs

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["record"] = self.object
        return context

    def form_valid(self, form):
        record = form.save(commit=False)
        record_update(
            record, user=self.request.user, changed=form.changed_data, addresses=form.addresses
        )
        form.save_m2m()
        messages.success(self.request, _("Your changes were saved."))
        return HttpResponseRedirect(self.get_success_url())


class AddressMarkValidView(ScreenMixin, View):
    """An agent who may edit the record says one of its invalid addresses works again."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        record = get_object_or_404(self.visible_records(), pk=kwargs["pk"])
        # the record's own addresses, read with it (address_prefetch): not one of them, 404
        address = next((a for a in record.email_address_rows if a.pk == kwargs["address"]), None)
        if address is None:
            raise Http404
        if address.is_invalid:
            address_mark_valid(address)
            messages.success(
                request, _("%(address)s is marked valid again.") % {"address": address}
            )
        return HttpResponseRedirect(record.get_absolute_url())


class RecordDeleteView(ScreenMixin, TemplateResponseMixin, View):
    template_name = "crm/record_confirm_delete.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.object = get_object_or_404(self.visible_records(), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(
            {
                "record": self.object,
                "meta": self.screen.model._meta,
                "list_url": reverse(self.screen.url_name("list")),
            }
        )

    def post(self, request, *args, **kwargs):
        name = str(self.object)
        record_delete(self.object)
        messages.success(request, _("%(record)s was deleted.") % {"record": name})
        return HttpResponseRedirect(reverse(self.screen.url_name("list")))


class LeadConvertView(LoginRequiredMixin, FormView):
    template_name = "crm/lead_convert.html"
    form_class = forms.LeadConvertForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.lead = get_object_or_404(Lead.objects.visible_to(request.user), pk=kwargs["pk"])
            if self.lead.status == Lead.Status.CONVERTED:
                messages.info(request, _("This lead has already been converted."))
                return HttpResponseRedirect(self.lead.get_absolute_url())
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict:
        return super().get_form_kwargs() | {"user": self.request.user, "lead": self.lead}

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(**kwargs) | {
            "record": self.lead,
            "meta": Lead._meta,
            "list_url": reverse(LEADS.url_name("list")),
        }

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            result = lead_convert(
                self.lead,
                user=self.request.user,
                account=data["account"],
                account_name=data["account_name"],
                opportunity_name=data["opportunity_name"],
                opportunity_amount=data["opportunity_amount"],
                opportunity_close_date=data["opportunity_close_date"],
            )
        except LeadAlreadyConverted as error:
            messages.error(self.request, str(error))
            return HttpResponseRedirect(self.lead.get_absolute_url())
        messages.success(
            self.request,
            _("%(lead)s was converted into %(contact)s.")
            % {"lead": self.lead, "contact": result.contact},
        )
        return HttpResponseRedirect(result.contact.get_absolute_url())
