"""The compose form: From limited to the user's allowed addresses, checked address lists,
subject without line breaks, text or (sanitized) HTML body, files, parent record."""

from __future__ import annotations

import json
import secrets

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from crm.addresses import normalize_address
from crm.models import EmailAddress
from mailboxes.linking.parents import email_parent_models
from mailboxes.models import Attachment, Email
from mailboxes.sending.compose import AttachmentPart, check_header_value, parse_addresses
from mailboxes.sending.compose_tools import compose_files
from mailboxes.sending.drafts import ComposeData, parent_resolve
from mailboxes.sending.exceptions import SendError
from mailboxes.sending.inline_images import inline_images_embed
from mailboxes.sending.permissions import SendingIdentity
from mailboxes.sending.send_actions import send_actions_clean, send_actions_offered
from mailboxes.sending.signatures import (
    signature_insert,
    signature_insert_text,
    signatures_by_account,
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


def parent_type_choices() -> list[tuple[str, str]]:
    choices = [("", _("Nothing"))]
    for model in email_parent_models().values():
        choices.append((model._meta.label_lower, str(model._meta.verbose_name).capitalize()))
    return choices


class AddressListField(forms.CharField):
    """``Name <a@b>, c@d``; cleans to a list of ``Mailbox``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 10000)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        )
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return parse_addresses(value)
        except SendError as exc:
            raise forms.ValidationError(str(exc), code=exc.code) from None


class ComposeForm(forms.Form):
    from_account = forms.TypedChoiceField(
        label=_("From"),
        coerce=int,
        error_messages={"invalid_choice": _("You may not send from this address.")},
    )
    to = AddressListField(label=_("To"))
    cc = AddressListField(label=_("Cc"))
    bcc = AddressListField(label=_("Bcc"))
    subject = forms.CharField(label=_("Subject"), required=False, max_length=998)
    body = forms.CharField(
        label=_("Message"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14}),
    )
    body_html = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    body_format = forms.ChoiceField(
        choices=[("text", "text"), ("html", "html")],
        initial="text",
        required=False,
        widget=forms.HiddenInput,
    )
    attachments = MultipleFileField(label=_("Attach files"), required=False)
    keep_attachments = forms.TypedMultipleChoiceField(
        label=_("Attachments"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    parent_type = forms.ChoiceField(label=_("Related to"), required=False)
    parent_id = forms.IntegerField(label=_("Record number"), required=False, min_value=1)
    replied = forms.IntegerField(required=False, widget=forms.HiddenInput)
    forwarded = forms.IntegerField(required=False, widget=forms.HiddenInput)
    token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    send_to_invalid = forms.BooleanField(
        label=_("Send anyway: I checked the addresses"), required=False
    )

    def __init__(
        self,
        *args,
        user,
        identities: list[SendingIdentity],
        draft: Email | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.user = user
        self.draft = draft
        self.identities = identities
        self.fields["from_account"].choices = [(i.account_id, i.label) for i in identities]
        self.fields["parent_type"].choices = parent_type_choices()
        suggest_url = reverse("mailboxes:address-suggest")
        for name in ("to", "cc", "bcc"):
            field_id = self.auto_id % name if self.auto_id else name
            self.fields[name].widget.attrs.update(
                {
                    "list": f"{field_id}-suggestions",
                    "hx-get": suggest_url,
                    "hx-trigger": "input changed delay:250ms",
                    "hx-target": f"#{field_id}-suggestions",
                    "hx-swap": "innerHTML",
                    "hx-sync": "this:replace",
                }
            )
        if not self.is_bound and not self.initial.get("token"):
            self.initial["token"] = secrets.token_urlsafe(24)
        self._signatures(user, identities, draft)
        self.carried = self._carried_attachments()
        self.fields["keep_attachments"].choices = [(a.pk, a.filename) for a in self.carried]
        if not self.is_bound:
            self.initial.setdefault("keep_attachments", [a.pk for a in self.carried])

    def _signatures(self, user, identities: list[SendingIdentity], draft) -> None:
        """Each From's signature for the editor (``data-signatures``); a new email, reply or
        forward starts with the chosen From's one above the quote."""
        signatures = signatures_by_account(user, identities)
        self.fields["from_account"].widget.attrs["data-signatures"] = json.dumps(signatures)
        if self.is_bound or draft is not None:
            return
        signature = signatures.get(str(self.initial.get("from_account") or ""), "")
        if signature:
            self.initial["body_html"] = signature_insert(
                self.initial.get("body_html") or "", signature
            )
            self.initial["body"] = signature_insert_text(self.initial.get("body") or "", signature)

    def _carried_attachments(self) -> list[Attachment]:
        """Files already on the draft, or on the email being forwarded."""
        if self.draft is not None:
            return list(self.draft.attachments.filter(is_inline=False))
        source = self.data.get("forwarded") if self.is_bound else self.initial.get("forwarded")
        email = self._visible_email(source)
        return list(email.attachments.all()) if email is not None else []

    def _visible_email(self, pk) -> Email | None:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            return None
        return Email.objects.visible_to(self.user).filter(pk=pk).first()

    def send_actions(self) -> list[tuple[str, dict]]:
        """``(template, context)`` of what other apps offer beside Send for this form's
        parent record (``send_actions.py``); the record must be one the user may see."""
        source = self.data if self.is_bound else self.initial
        try:
            parent = parent_resolve(
                self.user, source.get("parent_type", ""), source.get("parent_id")
            )
        except SendError:
            return []
        return send_actions_offered(self.user, parent)

    @cached_property
    def invalid_recipients(self) -> list[EmailAddress]:
        """The recipients known not to take mail (they bounced): the page warns, and Send
        waits for "Send anyway" (one query; none without recipients)."""
        addresses = []
        for name in ("to", "cc", "bcc"):
            cleaned = getattr(self, "cleaned_data", {})
            if name in cleaned:
                mailboxes = cleaned[name] or []
            else:
                raw = (self.data.get(name) if self.is_bound else self.initial.get(name)) or ""
                try:
                    mailboxes = parse_addresses(raw) if isinstance(raw, str) else []
                except SendError:
                    mailboxes = []
            addresses += [normalize_address(mailbox.address) for mailbox in mailboxes]
        addresses = [address for address in addresses if address]
        if not addresses:
            return []
        return list(EmailAddress.objects.filter(address__in=addresses, is_invalid=True))

    def confirm_invalid_recipients(self) -> bool:
        """Before a send: False (with the form error that says why) when a recipient bounced
        and the sender has not ticked "Send anyway"."""
        if not self.invalid_recipients or self.cleaned_data.get("send_to_invalid"):
            return True
        self.add_error(
            None,
            _(
                "Some recipients did not take mail before (see below). Check the addresses, or "
                "tick “Send anyway” and send again."
            ),
        )
        return False

    @property
    def address_fields(self) -> list:
        return [self["to"], self["cc"], self["bcc"]]

    @property
    def from_identity(self) -> SendingIdentity | None:
        pk = self.cleaned_data.get("from_account") if hasattr(self, "cleaned_data") else None
        return next((i for i in self.identities if i.account_id == pk), None)

    def clean_subject(self) -> str:
        try:
            return check_header_value(self.cleaned_data["subject"], field="subject")
        except SendError as exc:
            raise forms.ValidationError(str(exc), code=exc.code) from None

    def clean_attachments(self) -> list[AttachmentPart]:
        parts, total = [], 0
        for upload in self.cleaned_data.get("attachments") or []:
            total += upload.size
            if total > settings.POSTACI_MAX_MESSAGE_SIZE:
                raise forms.ValidationError(_("The attachments are too large to send."))
            try:
                filename = check_header_value(upload.name or "attachment", field="attachments")
            except SendError as exc:
                raise forms.ValidationError(str(exc), code=exc.code) from None
            parts.append(
                AttachmentPart(
                    filename=filename,
                    content_type=(upload.content_type or "application/octet-stream")[:255],
                    payload=upload.read(),
                )
            )
        return parts

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["parent"] = parent_resolve(
                self.user, cleaned.get("parent_type", ""), cleaned.get("parent_id")
            )
        except SendError as exc:
            self.add_error(exc.field or None, str(exc))
        cleaned["files"] = compose_files(self.user, self.data)
        try:
            cleaned["after_send"] = send_actions_clean(self.user, cleaned.get("parent"), self.data)
        except SendError as exc:
            self.add_error(None, str(exc))
        for name in ("replied", "forwarded"):
            pk = cleaned.get(name)
            cleaned[f"{name}_email"] = None
            if pk:
                email = self._visible_email(pk)
                if email is None:
                    self.add_error(None, _("The original email is not available."))
                cleaned[f"{name}_email"] = email
        return cleaned

    def compose_data(self) -> ComposeData:
        cleaned = self.cleaned_data
        html = cleaned.get("body_format") == "html" and cleaned.get("body_html", "").strip()
        return ComposeData(
            from_account_id=cleaned.get("from_account"),
            to=cleaned.get("to") or [],
            cc=cleaned.get("cc") or [],
            bcc=cleaned.get("bcc") or [],
            subject=cleaned.get("subject", ""),
            body_text="" if html else cleaned.get("body", ""),
            body_html=cleaned["body_html"] if html else "",
            uploads=cleaned.get("attachments") or [],
            keep_attachment_ids=cleaned.get("keep_attachments") or [],
            parent=cleaned.get("parent"),
            replied=cleaned.get("replied_email"),
            forwarded=cleaned.get("forwarded_email"),
            compose_token=cleaned.get("token", ""),
            after_send=cleaned.get("after_send") or {},
            files=cleaned.get("files") or [],
        )


def draft_initial(email: Email) -> dict:
    """Form values of a saved draft."""

    def joined(kind: str) -> str:
        from mailboxes.sending.compose import Mailbox

        return ", ".join(
            Mailbox(address=r.address.address, name=r.name).display()
            for r in email.recipients_of(kind)
        )

    return {
        "from_account": email.send_account_id,
        "to": joined("to"),
        "cc": joined("cc"),
        "bcc": joined("bcc"),
        "subject": email.subject,
        "body": email.body_text,
        "body_html": inline_images_embed(email.body_html, email.attachments.all()),
        "body_format": "html" if email.body_html else "text",
        "parent_type": email.parent_type.model_class()._meta.label_lower
        if email.parent_type_id and email.parent_type.model_class()
        else "",
        "parent_id": email.parent_id or "",
        "replied": email.replied_id or "",
        "token": getattr(getattr(email, "outgoing", None), "compose_token", "") or "",
    }
