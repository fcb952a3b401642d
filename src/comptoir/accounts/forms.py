from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import ApiToken
from comptoir.core.forms import StyledForm, StyledModelForm
from comptoir.core.models import Certification, Membership, color_validator
from comptoir.core.roles import ROLE_SPECS, Role, may_assign


def assignable_roles() -> list[tuple[str, str]]:
    return [
        (value, str(label))
        for value, label in Role.choices
        if value in ROLE_SPECS and may_assign(value)
    ]


class LoginForm(StyledForm):
    identifier = forms.CharField(
        label=_("E-mail or login"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class OtpForm(StyledForm):
    code = forms.RegexField(
        label=_("6-digit code"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6 digits shown by your app.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class SetPasswordForm(StyledForm):
    password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    confirm = forms.CharField(
        label=_("Confirm the password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("confirm"):
            self.add_error("confirm", _("The two passwords differ."))
        return data


class ResetRequestForm(StyledForm):
    identifier = forms.CharField(label=_("E-mail or login"), max_length=254)


class MemberForm(StyledForm):
    """The seed's "Modifier l'utilisateur" window."""

    role = forms.ChoiceField(label=_("Role"), choices=assignable_roles)
    login = forms.CharField(
        label=_("Login"),
        max_length=150,
        required=False,
        help_text=_("Left empty, it is made from the name."),
    )
    display_name = forms.CharField(label=_("Name"), max_length=150)
    initials = forms.CharField(label=_("Initials"), max_length=5, required=False)
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        help_text=_(
            "Receives the invitation and the next day's "
            "appointments. Without one, generate a password."
        ),
    )
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    address_street = forms.CharField(label=_("Private address"), max_length=200, required=False)
    address_postcode = forms.CharField(label=_("Postcode"), max_length=10, required=False)
    address_city = forms.CharField(label=_("City"), max_length=100, required=False)
    performs_diagnostics = forms.BooleanField(label=_("Performs diagnostics"), required=False)
    listed_on_calendar = forms.BooleanField(label=_("Listed on the calendar"), required=False)
    agenda_color = forms.CharField(
        label=_("Agenda colour"),
        max_length=7,
        initial="#2e9afe",
        validators=[color_validator],
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    @classmethod
    def for_member(cls, member: Membership, data: Any = None) -> MemberForm:
        initial = {
            field: getattr(member, field) for field in cls.base_fields if hasattr(member, field)
        }
        initial.update(login=member.user.login, email=member.user.email or "")
        return cls(data, initial=initial)

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["email"] = data.get("email") or None
        if not data.get("login"):
            data.pop("login", None)
        return data


class CertificationForm(StyledModelForm):
    class Meta:
        model = Certification
        fields = ["kind", "number", "body", "expires_on"]
        widgets = {"expires_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


class TokenForm(StyledForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Which script or application uses it, e.g. “WebDAV bureau”."),
    )
    scope = forms.ChoiceField(
        label=_("Access"), choices=ApiToken.Scope.choices, initial=ApiToken.Scope.WRITE
    )
