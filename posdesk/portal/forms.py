"""Forms of the merchant portal. They parse what the phone sends; the rules live in the services,
whose ApplicationErrors are put back on the form by `add_application_error`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import User
from posdesk.core.errors import ApplicationError
from posdesk.core.identifiers import parse_mobile
from posdesk.merchants.models import Merchant
from posdesk.merchants.selectors import merchant_list_for_user
from posdesk.terminals.models import Terminal
from posdesk.terminals.selectors import terminal_choices_for_reporter
from posdesk.tickets.attachments import CheckedFile, check_uploads

# Service error fields that have another name on a portal form.
_FIELD_ALIASES = {"files": "photos"}


def add_application_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a domain error on the field it names (detail.field), else above the form."""
    field = exc.detail.get("field") if isinstance(exc.detail, dict) else None
    field = _FIELD_ALIASES.get(field, field)
    form.add_error(field if field in form.fields else None, forms.ValidationError(str(exc.message), code=exc.code))


# --- photos -------------------------------------------------------------------------------

class PhotoInput(forms.FileInput):
    """A camera-first picker on phones: several photos at once, the back camera by default."""

    allow_multiple_selected = True

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"accept": "image/*", "capture": "environment", "multiple": True, **(attrs or {})})


class PhotosField(forms.Field):
    """Up to MAX_FILES_PER_UPLOAD files, checked by content (tickets.attachments), cleaned to
    CheckedFile values ready for the ticket services."""

    widget = PhotoInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Photos"))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> list[CheckedFile]:
        uploads = [f for f in (value or []) if isinstance(f, UploadedFile)]
        # Read one byte past the limit at most: enough for the size check, never a whole huge file.
        limit = settings.ATTACHMENT_MAX_BYTES + 1
        try:
            return check_uploads([(upload.name or "photo", upload.read(limit)) for upload in uploads])
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from exc


# --- sign-in ------------------------------------------------------------------------------

class MobileForm(forms.Form):
    mobile = forms.CharField(
        label=_("Mobile number"), max_length=20,
        widget=forms.TextInput(attrs={
            "type": "tel", "inputmode": "numeric", "autocomplete": "tel", "placeholder": "138 0000 0000",
            "required": True,
        }),
    )

    def clean_mobile(self) -> str:
        try:
            return parse_mobile(self.cleaned_data["mobile"])
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from exc


class CodeForm(MobileForm):
    code = forms.RegexField(
        label=_("Verification code"), regex=r"^\s*\d{6}\s*$", max_length=12,
        error_messages={"invalid": _("Enter the 6-digit code from the SMS."),
                        "required": _("Enter the 6-digit code from the SMS.")},
        widget=forms.TextInput(attrs={
            "inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6, "pattern": r"\d{6}",
            "placeholder": "000000", "class": "otp-input", "required": True,
        }),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mobile"].widget = forms.HiddenInput()

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip()


# --- report a fault -----------------------------------------------------------------------

class TerminalChoiceField(forms.ModelChoiceField):
    def __init__(self, *args: Any, show_merchant: bool = False, **kwargs: Any) -> None:
        self.show_merchant = show_merchant
        super().__init__(*args, **kwargs)

    def label_from_instance(self, terminal: Terminal) -> str:
        label = f"{terminal.model.manufacturer} {terminal.model.name} · SN …{terminal.sn[-4:]}"
        if terminal.tid:
            label += f" · TID {terminal.tid}"
        if self.show_merchant and terminal.merchant is not None:
            label = f"{terminal.merchant.name} · {label}"
        return label


class ReportForm(forms.Form):
    # A one-time token per form shown: a second submit of the same form finds the first ticket.
    form_token = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={"required": _("This form has expired. Please check it and send it again."),
                        "invalid": _("This form has expired. Please check it and send it again.")},
    )
    merchant = forms.ModelChoiceField(
        label=_("Shop"), queryset=Merchant.objects.none(), required=False, empty_label=_("Choose the shop"),
    )
    terminal = TerminalChoiceField(
        label=_("Terminal"), queryset=Terminal.objects.none(), required=False,
        empty_label=_("Not about one terminal (settlement, fees, account …)"),
    )
    text = forms.CharField(
        label=_("What is wrong?"), required=False,
        widget=forms.Textarea(attrs={
            "rows": 5, "maxlength": 5000, "required": True,
            "placeholder": _("e.g. the card reader does not react, the screen shows A0"),
        }),
    )
    photos = PhotosField()

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        merchants = merchant_list_for_user(user).filter(status=Merchant.Status.ACTIVE)
        self.merchants = list(merchants)
        terminals = terminal_choices_for_reporter(user)
        self.fields["terminal"].queryset = terminals
        self.fields["terminal"].show_merchant = len(self.merchants) > 1
        if len(self.merchants) > 1:
            self.fields["merchant"].queryset = merchants
        else:
            del self.fields["merchant"]  # nothing to choose
        if not self.is_bound:
            only_terminal = list(terminals[:2])
            if len(only_terminal) == 1:
                self.initial.setdefault("terminal", only_terminal[0].pk)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        terminal: Terminal | None = cleaned.get("terminal")
        if "merchant" in self.fields:
            merchant = cleaned.get("merchant") or (terminal.merchant if terminal else None)
            if merchant is None and not self.has_error("merchant") and not self.has_error("terminal"):
                self.add_error("merchant", _("Choose the shop this report is about."))
        else:
            merchant = self.merchants[0] if self.merchants else None
            if merchant is None:
                raise forms.ValidationError(
                    _("Your mobile number is not linked to an active merchant. Please call customer service."),
                    code="no_merchant",
                )
        cleaned["merchant"] = merchant
        return cleaned


# --- on a ticket --------------------------------------------------------------------------

class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 5000,
                                     "placeholder": _("Write to the service team …")}),
    )
    photos = PhotosField()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("body", "").strip() and not cleaned.get("photos") and not self.has_error("photos"):
            self.add_error("body", _("Write a message or add a photo."))
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500}),
    )
