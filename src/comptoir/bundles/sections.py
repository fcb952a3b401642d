"""The sections of a settings bundle: how each one is checked, read, compared and applied.

A section is one tab of the field software's "Paramètres › Entreprise" (company
details, logo and footer, operators, accounting, numbering, tariffs, devices,
contacts) plus its drop-down lists. Each `Section` knows:

- `validate(payload)`: the payload checked (types, lengths, identifiers, dates…) and
  normalised, or `InvalidBundle` naming the section and the field; reads nothing;
- `export(org)`: the web's current data as a payload (what the web publishes);
- `diff(org, payload)`: what an import would change, as `Change` rows (before → after);
- `apply(org, payload, actor=)`: the import itself, through the owning app's services
  (so each change is checked and audited there); returns a summary.

`apply` and `diff` take a payload `validate` returned. Nothing here deletes: rows a
station no longer has are kept (tariffs are deactivated), members are never created,
and drop-down lists are merged by key (`comptoir.bundles.merge`). The payload format
is documented in docs/sync/settings.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib
import io
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Model
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from comptoir.accounts import services as accounts
from comptoir.bundles import dropdowns
from comptoir.bundles.merge import merge_dropdowns
from comptoir.company import services as company
from comptoir.company.formatting import euros, french_number, percent
from comptoir.company.identifiers import format_iban
from comptoir.company.models import VAT_RATES, CompanyProfile, Device, Tariff
from comptoir.company.uploads import check_image
from comptoir.contacts import services as contacts
from comptoir.contacts.models import Contact, ContactAddress, ContactChannel
from comptoir.contacts.validation import (
    CONTACT_FIELDS,
    check_address,
    check_channel,
    check_contact,
)
from comptoir.core.errors import DomainError
from comptoir.core.models import Certification, Membership, Organization
from comptoir.core.roles import Action, Resource
from comptoir.core.text import fold

ROW_LIMIT = 20_000  # rows in one list section (the 5 MB limit of a push comes first)


class InvalidBundle(DomainError):
    """A section's payload cannot be taken: `details` names the section and the field."""

    code = "invalid_bundle"
    status = 400

    def __init__(self, section: str, where: str, problem: str) -> None:
        message = _("Section “%(section)s”, field “%(field)s”: %(problem)s") % {
            "section": section,
            "field": where or section,
            "problem": problem,
        }
        super().__init__(
            message, details={"section": section, "field": where or section, "problem": problem}
        )
        self.section = section
        self.where = where
        self.problem = problem


# --- what an import changes ---------------------------------------------------------

ADDED = "added"
CHANGED = "changed"
DEACTIVATED = "deactivated"
NOT_MATCHED = "not_matched"
KEPT = "kept"  # shown, not applied


@dataclass(frozen=True)
class Change:
    """One line of a preview: a field that changes, a row added, deactivated or not matched,
    or a value shown but kept as it is on the web.

    `row` names the row of a list section ("DPE", "DUJ — Jean Durant"), "" for the
    company's details; `field` is the payload's field name ("" for a whole row) and
    `label` the same in words; `before` and `after` are shown as they read.
    """

    kind: str
    row: str = ""
    field: str = ""
    label: str = ""
    before: str = ""
    after: str = ""


def shown(value: Any) -> str:
    """A value as the preview shows it: dates as 31/12/2026, booleans as yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Decimal):
        return french_number(value)
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _label(model: type[Model], name: str) -> str:
    text = str(getattr(model._meta.get_field(name), "verbose_name", name))
    return text[:1].upper() + text[1:]


def _choices(model: type[Model], name: str) -> dict[Any, Any]:
    return dict(getattr(model._meta.get_field(name), "choices", None) or [])


def _choice_label(model: type[Model], name: str, value: Any) -> str:
    choices = _choices(model, name)
    return str(choices.get(value, value)) if value not in (None, "") else ""


# --- reading raw JSON -----------------------------------------------------------------


def _join(where: str, name: str | int) -> str:
    return f"{where}.{name}" if where else str(name)


class Reader:
    """Type checks on a section's raw JSON, each refusal naming the field's path."""

    def __init__(self, section: str) -> None:
        self.section = section

    def fail(self, where: str, problem: str) -> NoReturn:
        raise InvalidBundle(self.section, where, problem)

    def obj(self, value: Any, where: str, fields: Collection[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, _("a JSON object is expected."))
        unknown = sorted(set(value) - set(fields))
        if unknown:
            self.fail(
                _join(where, unknown[0]),
                _("unknown field (known fields: %(fields)s).") % {"fields": ", ".join(fields)},
            )
        return value

    def items(self, value: Any, where: str, limit: int = ROW_LIMIT) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, _("a JSON list is expected."))
        if len(value) > limit:
            self.fail(where, _("%(count)d rows at most.") % {"count": limit})
        return value

    def text(self, value: Any, where: str, limit: int, *, required: bool = False) -> str:
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.fail(where, _("text is expected."))
        text = value.strip()
        if required and not text:
            self.fail(where, _("this field is required."))
        if len(text) > limit:
            self.fail(
                where,
                _("%(count)d characters at most (%(given)d given).")
                % {"count": limit, "given": len(text)},
            )
        return text

    def flag(self, value: Any, where: str, default: bool = True) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(where, _("true or false is expected."))
        return value

    def day(self, value: Any, where: str, *, required: bool = False) -> date | None:
        if value in (None, "") and not required:
            return None
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        return self.fail(where, _("a date such as 2026-12-31 is expected."))

    def choice(self, value: Any, where: str, choices: Collection[str], default: str) -> str:
        if value in (None, ""):
            return default
        if value not in choices:
            self.fail(
                where,
                _("unknown value “%(value)s” (known values: %(values)s).")
                % {"value": value, "values": ", ".join(choices)},
            )
        return str(value)

    def decimal(self, value: Any, where: str, *, required: bool = False) -> Decimal | None:
        """A non-negative amount with at most 2 decimals, as a JSON number or text."""
        if value in (None, "") and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(where, _("an amount such as 150.00 is expected."))
        text = re.sub(r"[\s\u00a0\u202f€]", "", str(value)).replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            self.fail(where, _("an amount such as 150.00 is expected."))
        if not number.is_finite() or number < 0 or number > company.MAX_PRICE:
            self.fail(where, _("an amount between 0 and 99,999,999.99 is expected."))
        if number != number.quantize(Decimal("0.01")):
            self.fail(where, _("2 decimals at most."))
        return number.quantize(Decimal("0.01"))

    @contextmanager
    def refusal(self, where: str = "") -> Iterator[None]:
        """Turn an app's refusal (DomainError naming a field) into one naming the section."""
        try:
            yield
        except InvalidBundle:
            raise
        except DomainError as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            errors = details.get("errors")
            name = details.get("field") or ""
            message = exc.message
            if isinstance(errors, dict) and errors:
                name, message = next(iter(errors.items()))
            raise InvalidBundle(
                self.section, _join(where, name) if name else where, message
            ) from None


def _same(current: Any, incoming: Any) -> bool:
    """Equal values, an empty text and a missing one being the same."""
    return current == incoming or (current in (None, "") and incoming in (None, ""))


def _json(value: Any) -> Any:
    """A cleaned value back to JSON: amounts and dates as text."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- the sections ---------------------------------------------------------------------


class Section(ABC):
    name: str
    label: StrOrPromise
    help: StrOrPromise = ""
    schema: dict[str, Any] = {"type": "object"}
    # What reading this section through the API needs besides the station right.
    read_permission: tuple[Resource, Action] | None = None

    @property
    def reader(self) -> Reader:
        return Reader(self.name)

    @abstractmethod
    def validate(self, payload: Any) -> Any: ...

    @abstractmethod
    def export(self, org: Organization) -> Any: ...

    @abstractmethod
    def diff(self, org: Organization, payload: Any) -> list[Change]: ...

    def apply(self, org: Organization, payload: Any, *, actor: Any) -> dict[str, Any]:
        """Import a payload `validate` returned: all of it in one transaction, or nothing."""
        with transaction.atomic():
            return self._apply(org, payload, actor=actor)

    @abstractmethod
    def _apply(self, org: Organization, payload: Any, *, actor: Any) -> dict[str, Any]: ...


class ProfileSection(Section):
    """Fields of the company profile: those present are applied as given ("" clears)."""

    fields: list[str] = []
    help = gettext_lazy(
        "The values sent are taken as they are (an empty one clears the field); "
        "the fields the station did not send stay as they are."
    )

    DATES = ("policy_expires_on",)

    def _cleaned(self, payload: Any) -> dict[str, Any]:
        """The payload's values as the company app stores them (or InvalidBundle)."""
        read = self.reader
        data = read.obj(payload, "", self.fields)
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in self.DATES:
                values[name] = read.day(value, name)
            elif value is None or isinstance(value, str):
                values[name] = value or ""
            elif name == "share_capital" and isinstance(value, int | float):
                values[name] = str(value)
            else:
                read.fail(name, _("text is expected."))
        with read.refusal():
            return company.check_profile_changes(values)

    def validate(self, payload: Any) -> dict[str, Any]:
        return {name: _json(value) for name, value in self._cleaned(payload).items()}

    def export(self, org: Organization) -> dict[str, Any]:
        profile = company.get_profile(org)
        return {name: _json(getattr(profile, name)) for name in self.fields}

    def diff(self, org: Organization, payload: Any) -> list[Change]:
        profile = company.get_profile(org)
        changes = []
        for name, value in self._cleaned(payload).items():
            current = getattr(profile, name)
            if not _same(current, value):
                changes.append(
                    Change(
                        CHANGED,
                        field=name,
                        label=_label(CompanyProfile, name),
                        before=self._shown(name, current),
                        after=self._shown(name, value),
                    )
                )
        return changes

    def _shown(self, name: str, value: Any) -> str:
        if _choices(CompanyProfile, name):
            return _choice_label(CompanyProfile, name, value)
        if name == "iban" and value:
            return format_iban(value)
        return shown(value)

    def _apply(self, org: Organization, payload: Any, *, actor: Any) -> dict[str, Any]:
        changed = [change.field for change in self.diff(org, payload)]
        if changed:
            cleaned = self._cleaned(payload)
            with self.reader.refusal():
                company.update_profile(
                    org, actor=actor, **{name: cleaned[name] for name in changed}
                )
        return {"changed": changed}


class CompanySection(ProfileSection):
    name = "company"
    label = gettext_lazy("Company details")
    fields = company.DETAILS_FIELDS
    schema = {
        "type": "object",
        "description": "Company details; the fields present are applied as given.",
        "properties": {
            **{name: {"type": ["string", "null"]} for name in fields},
            "share_capital": {"type": ["string", "number", "null"]},
            "policy_expires_on": {"type": ["string", "null"], "format": "date"},
        },
        "additionalProperties": False,
    }


class AccountingSection(ProfileSection):
    name = "accounting"
    label = gettext_lazy("Accounting and bank details")
    fields = company.ACCOUNTING_FIELDS
    schema = {
        "type": "object",
        "description": "IBAN, BIC, bank, journal codes, customer account prefix, VAT regime.",
        "properties": {name: {"type": ["string", "null"]} for name in fields},
        "additionalProperties": False,
    }


class LogoFooterSection(Section):
    """The letterhead: the logo (base64) and the footer of documents."""

    name = "logo_footer"
    label = gettext_lazy("Logo and document footer")
    help = gettext_lazy("The same image sent again changes nothing.")
    schema = {
        "type": "object",
        "description": "`logo`: null removes the web's logo; absent leaves it as it is.",
        "properties": {
            "document_footer": {"type": "string"},
            "logo": {
                "type": ["object", "null"],
                "properties": {
                    "name": {"type": "string"},
                    "content_type": {"type": "string"},
                    "data": {"type": "string", "description": "The image, base64."},
                },
                "required": ["data"],
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }

    def validate(self, payload: Any) -> dict[str, Any]:
        read = self.reader
        data = read.obj(payload, "", ["document_footer", "logo"])
        result: dict[str, Any] = {}
        if "document_footer" in data:
            footer = data["document_footer"]
            if footer is not None and not isinstance(footer, str):
                read.fail("document_footer", _("text is expected."))
            with read.refusal():
                cleaned = company.check_profile_changes({"document_footer": footer or ""})
            result["document_footer"] = cleaned["document_footer"]
        if "logo" in data:
            logo = data["logo"]
            if logo is None:
                result["logo"] = None
            else:
                read.obj(logo, "logo", ["name", "content_type", "data"])
                name = read.text(logo.get("name"), "logo.name", 255) or "logo"
                read.text(logo.get("content_type"), "logo.content_type", 100)
                raw = logo.get("data")
                if not isinstance(raw, str):
                    read.fail("logo.data", _("the image in base64 is expected."))
                image = self._decode(raw)
                try:
                    found = check_image(io.BytesIO(image), name)
                except DomainError as exc:
                    read.fail("logo.data", exc.message)
                result["logo"] = {
                    "name": found.name,
                    "content_type": found.content_type,
                    "data": base64.b64encode(image).decode("ascii"),
                }
        return result

    def _decode(self, raw: str) -> bytes:
        try:
            return base64.b64decode("".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            self.reader.fail("logo.data", _("this is not valid base64."))

    def export(self, org: Organization) -> dict[str, Any]:
        profile = company.get_profile(org)
        logo = None
        if profile.pk and profile.logo:
            with profile.logo.open("rb") as stored:
                image = stored.read()
            logo = {
                "name": profile.logo_name,
                "content_type": profile.logo_content_type,
                "data": base64.b64encode(image).decode("ascii"),
            }
        return {"document_footer": profile.document_footer, "logo": logo}

    @staticmethod
    def _current_logo(profile: CompanyProfile) -> tuple[str, int, str] | None:
        if not profile.pk or not profile.logo:
            return None
        with profile.logo.open("rb") as stored:
            digest = hashlib.sha256(stored.read()).hexdigest()
        return profile.logo_name, profile.logo_size, digest

    def _logo_change(self, profile: CompanyProfile, payload: Mapping[str, Any]) -> Change | None:
        if "logo" not in payload:
            return None
        current = self._current_logo(profile)
        incoming = payload["logo"]
        before = f"{current[0]} ({filesizeformat(current[1])})" if current else ""
        if incoming is None:
            if current is None:
                return None
            return Change(CHANGED, field="logo", label=_("Logo"), before=before, after="")
        image = base64.b64decode(incoming["data"])
        if current and current[2] == hashlib.sha256(image).hexdigest():
            return None
        after = f"{incoming['name']} ({filesizeformat(len(image))})"
        return Change(CHANGED, field="logo", label=_("Logo"), before=before, after=after)

    def diff(self, org: Organization, payload: Any) -> list[Change]:
        profile = company.get_profile(org)
        changes = []
        if "document_footer" in payload and payload["document_footer"] != profile.document_footer:
            changes.append(
                Change(
                    CHANGED,
                    field="document_footer",
                    label=_label(CompanyProfile, "document_footer"),
                    before=profile.document_footer,
                    after=payload["document_footer"],
                )
            )
        logo = self._logo_change(profile, payload)
        return [*changes, logo] if logo else changes

    def _apply(self, org: Organization, payload: Any, *, actor: Any) -> dict[str, Any]:
        changed = [change.field for change in self.diff(org, payload)]
        with self.reader.refusal():
            if "document_footer" in changed:
                company.update_profile(org, actor=actor, document_footer=payload["document_footer"])
            if "logo" in changed:
                logo = payload["logo"]
                if logo is None:
                    company.remove_logo(org, actor=actor)
                else:
                    image = base64.b64decode(logo["data"])
                    company.set_logo(
                        org, ContentFile(image, name=logo["name"]), actor=actor, name=logo["name"]
                    )
        return {"changed": changed}


# --- operators ------------------------------------------------------------------------

OPERATOR_FIELDS = ["initials", "name", "email", "phone", "active", "certifications"]
CERTIFICATION_FIELDS = ["kind", "number", "body", "expires_on"]


def _initials_key(value: str) -> str:
    return value.strip().upper()


class OperatorsSection(Section):
    """The members' profile and certifications, matched by initials.

    Never creates a user or a member, never blocks nor deletes one: a row whose
    initials match no member (or several) is shown "not matched" and left aside.
    Only non-blank values are applied, an account's e-mail only when it has none;
    certifications are updated by kind.
    """

    name = "operators"
    label = gettext_lazy("Operators and certifications")
    help = gettext_lazy(
        "Matched with the members by their initials. Nobody is added nor removed: "
        "add a new operator on the Users page first. An account's e-mail address is only "
        "filled in when it has none: it is how its owner signs in."
    )
    schema = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "initials": {"type": "string"},
                "name": {"type": "string"},
                "email": {"type": ["string", "null"]},
                "phone": {"type": "string"},
                "active": {"type": "boolean"},
                "certifications": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "kind": {"type": "string"},
                            "number": {"type": "string"},
                            "body": {"type": "string"},
                            "expires_on": {"type": "string", "format": "date"},
                        },
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["initials"],
            "additionalProperties": False,
        },
    }

    def validate(self, payload: Any) -> list[dict[str, Any]]:
        read = self.reader
        rows = []
        seen: set[str] = set()
        for index, raw in enumerate(read.items(payload, "", 1000)):
            where = str(index)
            data = read.obj(raw, where, OPERATOR_FIELDS)
            initials = read.text(data.get("initials"), _join(where, "initials"), 5, required=True)
            if _initials_key(initials) in seen:
                read.fail(
                    _join(where, "initials"),
                    _("the initials %(initials)s appear twice.") % {"initials": initials},
                )
            seen.add(_initials_key(initials))
            email = read.text(data.get("email"), _join(where, "email"), 254)
            if email:
                try:
                    validate_email(email)
                except ValidationError:
                    read.fail(_join(where, "email"), _("this is not a valid e-mail address."))
            rows.append(
                {
                    "initials": _initials_key(initials),
                    "name": read.text(data.get("name"), _join(where, "name"), 150),
                    "email": email.lower(),
                    "phone": read.text(data.get("phone"), _join(where, "phone"), 30),
                    "active": read.flag(data.get("active"), _join(where, "active")),
                    "certifications": self._certifications(
                        data.get("certifications"), _join(where, "certifications")
                    ),
                }
            )
        return rows

    def _certifications(self, value: Any, where: str) -> list[dict[str, Any]]:
        read = self.reader
        result = []
        for index, raw in enumerate(read.items(value or [], where, 50)):
            at = _join(where, index)
            data = read.obj(raw, at, CERTIFICATION_FIELDS)
            expires = read.day(data.get("expires_on"), _join(at, "expires_on"), required=True)
            kind = read.text(data.get("kind"), _join(at, "kind"), 20, required=True)
            result.append(
                {
                    "kind": read.choice(kind, _join(at, "kind"), Certification.Kind.values, ""),
                    "number": read.text(data.get("number"), _join(at, "number"), 60, required=True),
                    "body": read.text(data.get("body"), _join(at, "body"), 120, required=True),
                    "expires_on": _json(expires),
                }
            )
        return result

    def export(self, org: Organization) -> list[dict[str, Any]]:
        members = (
            Membership.objects.filter(organization=org)
            .exclude(initials="")
            .select_related("user")
            .prefetch_related("certifications")
            .order_by("display_name", "pk")
        )
        return [
            {
                "initials": member.initials,
                "name": member.display_name,
                "email": member.user.email or "",
                "phone": member.phone,
                "active": not member.is_blocked,
                "certifications": [
                    {
                        "kind": cert.kind,
                        "number": cert.number,
                        "body": cert.body,
                        "expires_on": cert.expires_on.isoformat(),
                    }
                    for cert in member.certifications.all()
                ],
            }
            for member in members
        ]

    @staticmethod
    def _members(org: Organization) -> dict[str, list[Membership]]:
        found: dict[str, list[Membership]] = {}
        for member in (
            Membership.objects.filter(organization=org)
            .exclude(initials="")
            .select_related("user")
            .order_by("pk")
        ):
            found.setdefault(_initials_key(member.initials), []).append(member)
        return found

    @staticmethod
    def _certification(member: Membership, kind: str) -> Certification | None:
        return (
            Certification.objects.filter(membership=member, kind=kind)
            .order_by("-expires_on", "-pk")
            .first()
        )

    def _plan(
        self, org: Organization, payload: list[dict[str, Any]]
    ) -> Iterator[tuple[int, dict[str, Any], Membership | None, str]]:
        """Each row with its member, or None and why it is not matched."""
        members = self._members(org)
        for index, row in enumerate(payload):
            found = members.get(row["initials"], [])
            if len(found) == 1:
                yield index, row, found[0], ""
            elif found:
                yield index, row, None, _("several members have these initials")
            else:
                yield index, row, None, _("no member has these initials")

    @staticmethod
    def _current(member: Membership) -> dict[str, str]:
        return {
            "display_name": member.display_name,
            "email": member.user.email or "",
            "phone": member.phone,
        }

    def _profile_changes(self, member: Membership, row: Mapping[str, Any]) -> dict[str, str]:
        """The non-blank values that differ and may be applied.

        An account's e-mail address is only filled in when it has none: it is how its
        owner signs in and gets a new password, so a bundle never replaces it.
        """
        current = self._current(member)
        incoming = {"display_name": row["name"], "email": row["email"], "phone": row["phone"]}
        changes = {}
        for name, value in incoming.items():
            if name == "email" and current[name]:
                continue
            if value and value != current[name]:
                changes[name] = value
        return changes

    def _kept_email(self, member: Membership, row: Mapping[str, Any]) -> str | None:
        """The e-mail a row brings that is not applied (the account already has another)."""
        current = member.user.email or ""
        wanted = row["email"]
        return wanted if current and wanted and wanted.lower() != current.lower() else None

    def _certification_changes(
        self, member: Membership, row: Mapping[str, Any]
    ) -> list[tuple[dict[str, Any], Certification | None]]:
        result = []
        for cert in row["certifications"]:
            existing = self._certification(member, cert["kind"])
            if existing is None or (
                existing.number,
                existing.body,
                existing.expires_on.isoformat(),
            ) != (cert["number"], cert["body"], cert["expires_on"]):
                result.append((cert, existing))
        return result

    def diff(self, org: Organization, payload: Any) -> list[Change]:
        changes: list[Change] = []
        labels = {
            "display_name": _("Name"),
            "email": _("E-mail"),
            "phone": _("Phone"),
        }
        for _index, row, member, reason in self._plan(org, payload):
            if member is None:
                changes.append(
                    Change(NOT_MATCHED, row=row["initials"], after=row["name"], before=reason)
                )
                continue
            title = f"{row['initials']} — {member.display_name}"
            current = self._current(member)
            for name, value in self._profile_changes(member, row).items():
                changes.append(
                    Change(
                        CHANGED,
                        row=title,
                        field=name,
                        label=labels[name],
                        before=current[name],
                        after=value,
                    )
                )
            kept = self._kept_email(member, row)
            if kept:
                changes.append(
                    Change(
                        KEPT,
                        row=title,
                        field="email",
                        label=labels["email"],
                        before=current["email"],
                        after=kept,
                    )
                )
            for cert, existing in self._certification_changes(member, row):
                kind = _choice_label(Certification, "kind", cert["kind"])
                after = _("%(kind)s no. %(number)s (%(body)s), expires %(date)s") % {
                    "kind": kind,
                    "number": cert["number"],
                    "body": cert["body"],
                    "date": shown(date.fromisoformat(cert["expires_on"])),
                }
                before = ""
                if existing is not None:
                    before = _("%(kind)s no. %(number)s (%(body)s), expires %(date)s") % {
                        "kind": kind,
                        "number": existing.number,
                        "body": existing.body,
                        "date": shown(existing.expires_on),
                    }
                changes.append(
                    Change(
                        CHANGED if existing else ADDED,
                        row=title,
                        field="certifications",
                        label=_("Certification"),
                        before=before,
                        after=after,
                    )
                )
        return changes

    def _apply(self, org: Organization, payload: Any, *, actor: Any) -> dict[str, Any]:
        updated, certifications, not_matched = 0, 0, []
        for index, row, member, _reason in self._plan(org, payload):
            if member is None:
                not_matched.append(row["initials"])
                continue
            changes = self._profile_changes(member, row)
            if changes:
                with self.reader.refusal(str(index)):
                    accounts.update_member(member, actor=actor, **changes)
                updated += 1
            for cert, existing in self._certification_changes(member, row):
                with self.reader.refusal(f"{index}.certifications"):
                    accounts.save_certification(
                        member,
                        actor=actor,
                        kind=cert["kind"],
                        number=cert["number"],
                        body=cert["body"],
                        expires_on=date.fromisoformat(cert["expires_on"]),
                        certification=existing,
                    )
                certifications += 1
        return {"updated": updated, "certifications": certifications, "not_matched": not_matched}


# --- numbering (owned by comptoir.numbering) ----------------------------------------------


def numbering_services() -> Any:
    """`comptoir.numbering.services`: `series_settings(org) -> dict` and
    `apply_series_settings(org, data, *, actor) -> None`."""
    return importlib.import_module("comptoir.numbering.services")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, _join(prefix, key)))
        return flat if flat or not prefix else {prefix: {}}
    return {prefix: value}


def _lower_counter(value: Any, current: Any) -> bool:
    numbers = all(isinstance(item, int) and not isinstance(item, bool) for item in (value, current))
    return numbers and value < current


class NumberingSection(Section):
    """The numbering series (dossiers, quotes…), as the numbering app reads and writes them."""

    name = "numbering"
    label = gettext_lazy("Numbering")
    help = gettext_lazy(
        "A counter only moves forward: a next number lower than the web's is left aside, "
        "so no number is ever given twice."
    )
    schema = {
        "type": "object",
        "description": "The numbering series' settings, as comptoir.numbering defines them.",
    }

    def validate(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            self.reader.fail("", _("a JSON object is expected."))
        return payload

    def export(self, org: Organization) -> dict[str, Any]:
        return dict(numbering_services().series_settings(org))

    def diff(self, org: Organization, payload: Any) -> list[Change]:
        current = _flatten(self.export(org))
        changes = []
        for key, value in _flatten(payload).items():
            if key.endswith(".next") and _lower_counter(value, current.get(key)):
                continue  # a counter only moves forward: the numbering app leaves it aside
            if key not in current:
                changes.append(Change(ADDED, field=key, label=key, after=shown(value)))
            elif current[key] != value:
                changes.append(
                    Change(
                        CHANGED,
                        field=key,
                        label=key,
                        before=shown(current[key]),
                        after=shown(value),
                    )
                )
        return changes

    def _apply(self, org: Organization, payload: Any, *, actor: Any) -> dict[str, Any]:
        changed = [change.field for change in self.diff(org, payload)]
        if changed:
            with self.reader.refusal():
                numbering_services().apply_series_settings(org, dict(payload), actor=actor)
        return {"changed": changed}


# --- tariffs ----------------------------------------------------------------------------

TARIFF_FIELDS = ["code", "label", "mission_type", "price_excl_vat", "vat_rate", "is_active"]


class TariffsSection(Section):
    """The price list, by code: new codes are added, known ones updated, and the
    active tariffs the payload lacks are deactivated (a tariff is never deleted)."""

    name = "tariffs"
    label = gettext_lazy("Tariffs")
    help = gettext_lazy(
        "Tariffs are matched by code. A tariff the station no longer has is deactivated, "
        "never deleted."
    )
    schema = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "label": {"type": "string"},
                "mission_type": {"type": ["string", "null"]},
                "price_excl_vat": {"type": ["string", "number"]},
                "vat_rate": {"type": ["string", "number"]},
                "is_active": {"type": "boolean"},
            },
            "required": ["code", "label", "price_excl_vat"],
            "additionalProperties": False,
        },
    }

    def validate(self, payload: Any) -> list[dict[str, Any]]:
        read = self.reader
        rows, codes = [], set()
        for index, raw in enumerate(read.items(payload, "")):
            where = str(index)
            data = read.obj(raw, where, TARIFF_FIELDS)
            code = read.text(data.get("code"), _join(where, "code"), 30, required=True).upper()
            if not company.TARIFF_CODE.match(code):
                read.fail(
                    _join(where, "code"),
                    _("1 to 30 letters, digits, dots, hyphens or underscores, such as DPE."),
                )
            if code in codes:
                read.fail(
                    _join(where, "code"), _("the code %(code)s appears twice.") % {"code": code}
                )
            codes.add(code)
            mission = read.text(data.get("mission_type"), _join(where, "mission_type"), 30)
            rate = read.decimal(data.get("vat_rate"), _join(where, "vat_rate"))
            if rate is None:
                rate = Decimal("20.00")
            if rate not in VAT_RATES:
                read.fail(_join(where, "vat_rate"), _("a French VAT rate: 20, 10, 5.5, 2.1 or 0."))
            rows.append(
                {
                    "code": code,
                    "label": read.text(
                        data.get("label"), _join(where, "label"), 200, required=True
                    ),
                    "mission_type": mission or None,
                    "price_excl_vat": _json(
                        read.decimal(
                            data.get("price_excl_vat"),
                            _join(where, "price_excl_vat"),
                            required=True,
                        )
                    ),
                    "vat_rate": _json(rate),
                    "is_active": read.flag(data.get("is_active"), _join(where, "is_active")),
                }
            )
        return rows

    def export(self, org: Organization) -> list[dict[str, Any]]:
        return [
            {
                "code": tariff.code,
                "label": tariff.label,
                "mission_type": tariff.mission_type.code if tariff.mission_type else None,
                "price_excl_vat": _json(tariff.price_excl_vat),
                "vat_rate": _json(tariff.vat_rate),
                "is_active": tariff.is_active,
            }
            for tariff in Tariff.objects.filter(organization=org)
            .select_related("mission_type")
            .order_by("code")
        ]

    @staticmethod
    def _state(tariff: Tariff) -> dict[str, Any]:
        return {
            "label": tariff.label,
            "mission_type": tariff.mission_type.code if tariff.mission_type else None,
            "price_excl_vat": _json(tariff.price_excl_vat),
            "vat_rate": _json(tariff.vat_rate),
            "is_active": tariff.is_active,
        }

    @staticmethod
    def _shown(name: str, value: Any) -> str:
        if name == "price_excl_vat":
            return euros(value)
        if name == "vat_rate":
            return percent(value)
        return shown(value)

    def _existing(self, org: Organization) -> dict[str, Tariff]:
        return {
            tariff.code: tariff
            for tariff in Tariff.objects.filter(organization=org).select_related("mission_type")
        }

    def diff(self, org: Organization, payload: Any) -> list[Change]:
        existing = self._existing(org)
        changes = []
        for row in payload:
            tariff = existing.get(row["code"])
            if tariff is None:
                after = f"{row['label']} — {euros(row['price_excl_vat'])}"
                changes.append(Change(ADDED, row=row["code"], after=after))
                continue
            current = self._state(tariff)
            for name in TARIFF_FIELDS[1:]:
                if current[name] != row[name]:
                    changes.append(
                        Change(
                            CHANGED,
                            row=row["code"],
                            field=name,
                            label=_label(Tariff, name),
                            before=self._shown(name, current[name]),
                            after=self._shown(name, row[name]),
                        )
                    )
        incoming = {row["code"] for row in payload}
        for code, tariff in sorted(existing.items()):
            if code not in incoming and tariff.is_active:
                changes.append(Change(DEACTIVATED, row=code, before=tariff.label))
        return changes

    def _apply(self, org: Organization, payload: Any, *, actor: Any) -> dict[str, Any]:
        existing = self._existing(org)
        added = updated = deactivated = 0
        for index, row in enumerate(payload):
            tariff = existing.get(row["code"])
            with self.reader.refusal(str(index)):
                if tariff is None:
                    tariff = company.create_tariff(
                        org,
                        actor=actor,
                        code=row["code"],
                        label=row["label"],
                        mission_type=row["mission_type"],
                        price_excl_vat=Decimal(row["price_excl_vat"]),
                        vat_rate=Decimal(row["vat_rate"]),
                    )
                    if not row["is_active"]:
                        company.set_tariff_active(tariff, False, actor=actor)
                    added += 1
                    continue
                current = self._state(tariff)
                changes = {
                    name: row[name] for name in TARIFF_FIELDS[1:] if current[name] != row[name]
                }
                if changes:
                    company.update_tariff(tariff, actor=actor, **changes)
                    updated += 1
        incoming = {row["code"] for row in payload}
        for code, tariff in existing.items():
            if code not in incoming and tariff.is_active:
                company.set_tariff_active(tariff, False, actor=actor)
                deactivated += 1
        return {"added": added, "updated": updated, "deactivated": deactivated}


# --- devices ----------------------------------------------------------------------------

DEVICE_FIELDS = [
    "name",
    "kind",
    "manufacturer",
    "model_reference",
    "serial_number",
    "expiry_kind",
    "expires_on",
    "notes",
    "is_active",
]


class DevicesSection(Section):
    """Measuring instruments, matched by serial number (or by name when there is none);
    new ones are added, known ones updated, none is removed."""

    name = "devices"
    label = gettext_lazy("Devices")
    help = gettext_lazy(
        "Devices are matched by serial number, or by name when they have none. None is removed."
    )
    schema = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "kind": {"type": "string", "enum": Device.Kind.values},
                "manufacturer": {"type": "string"},
                "model_reference": {"type": "string"},
                "serial_number": {"type": "string"},
                "expiry_kind": {"type": "string", "enum": Device.ExpiryKind.values},
                "expires_on": {"type": ["string", "null"], "format": "date"},
                "notes": {"type": "string"},
                "is_active": {"type": "boolean"},
            },
            "required": ["name"],
            "additionalProperties": False,
        },
    }

    def validate(self, payload: Any) -> list[dict[str, Any]]:
        read = self.reader
        rows, serials = [], set()
        for index, raw in enumerate(read.items(payload, "", 1000)):
            where = str(index)
            data = read.obj(raw, where, DEVICE_FIELDS)
            serial = read.text(data.get("serial_number"), _join(where, "serial_number"), 60)
            if serial and serial in serials:
                read.fail(
                    _join(where, "serial_number"),
                    _("the serial number %(serial)s appears twice.") % {"serial": serial},
                )
            serials.add(serial)
            rows.append(
                {
                    "name": read.text(data.get("name"), _join(where, "name"), 120, required=True),
                    "kind": read.choice(
                        data.get("kind"), _join(where, "kind"), Device.Kind.values, "other"
                    ),
                    "manufacturer": read.text(
                        data.get("manufacturer"), _join(where, "manufacturer"), 80
                    ),
                    "model_reference": read.text(
                        data.get("model_reference"), _join(where, "model_reference"), 80
                    ),
                    "serial_number": serial,
                    "expiry_kind": read.choice(
                        data.get("expiry_kind"),
                        _join(where, "expiry_kind"),
                        Device.ExpiryKind.values,
                        "calibration",
                    ),
                    "expires_on": _json(
                        read.day(data.get("expires_on"), _join(where, "expires_on"))
                    ),
                    "notes": read.text(data.get("notes"), _join(where, "notes"), 2000),
                    "is_active": read.flag(data.get("is_active"), _join(where, "is_active")),
                }
            )
        return rows

    @staticmethod
    def _state(device: Device) -> dict[str, Any]:
        return {name: _json(getattr(device, name)) for name in DEVICE_FIELDS}

    def export(self, org: Organization) -> list[dict[str, Any]]:
        return [
            self._state(device)
            for device in Device.objects.filter(organization=org).order_by("name", "pk")
        ]

    def _matches(
        self, org: Organization, payload: list[dict[str, Any]]
    ) -> list[tuple[dict[str, Any], Device | None]]:
        devices = list(Device.objects.filter(organization=org).order_by("pk"))
        by_serial = {device.serial_number: device for device in devices if device.serial_number}
        by_name: dict[str, Device] = {}
        unnumbered: dict[str, Device] = {}
        for device in devices:
            by_name.setdefault(fold(device.name), device)
            if not device.serial_number:
                unnumbered.setdefault(fold(device.name), device)
        result = []
        for row in payload:
            if row["serial_number"]:
                found = by_serial.get(row["serial_number"]) or unnumbered.get(fold(row["name"]))
            else:
                found = by_name.get(fold(row["name"]))
            result.append((row, found))
        return result

    def _changes(self, device: Device, row: Mapping[str, Any]) -> dict[str, Any]:
        current = self._state(device)
        return {name: row[name] for name in DEVICE_FIELDS if current[name] != row[name]}

    def _shown(self, name: str, value: Any) -> str:
        if name in ("kind", "expiry_kind"):
            return _choice_label(Device, name, value)
        if name == "expires_on" and value:
            return shown(date.fromisoformat(value))
        return shown(value)

    def diff(self, org: Organization, payload: Any) -> list[Change]:
        changes = []
        for row, device in self._matches(org, payload):
            title = row["name"] + (f" ({row['serial_number']})" if row["serial_number"] else "")
            if device is None:
                changes.append(
                    Change(ADDED, row=title, after=_choice_label(Device, "kind", row["kind"]))
                )
                continue
            current = self._state(device)
            for name, value in self._changes(device, row).items():
                changes.append(
                    Change(
                        CHANGED,
                        row=title,
                        field=name,
                        label=_label(Device, name),
                        before=self._shown(name, current[name]),
                        after=self._shown(name, value),
                    )
                )
        return changes

    def _apply(self, org: Organization, payload: Any, *, actor: Any) -> dict[str, Any]:
        added = updated = 0
        for index, (row, device) in enumerate(self._matches(org, payload)):
            data = {
                **row,
                "expires_on": date.fromisoformat(row["expires_on"]) if row["expires_on"] else None,
            }
            with self.reader.refusal(str(index)):
                if device is None:
                    company.create_device(org, actor=actor, **data)
                    added += 1
                    continue
                changes = self._changes(device, row)
                if changes:
                    company.update_device(
                        device, actor=actor, **{name: data[name] for name in changes}
                    )
                    updated += 1
        return {"added": added, "updated": updated}


# --- contacts ---------------------------------------------------------------------------

CONTACT_ROW_FIELDS = [*CONTACT_FIELDS, "addresses", "channels"]
ADDRESS_FIELDS = ["label", "street", "postcode", "city", "country"]
CHANNEL_FIELDS = ["kind", "label", "value"]
# Taken only when a contact is created: an import never recategorises the address book.
CREATION_ONLY = {"kind", "category"}


def _address_key(data: Mapping[str, Any]) -> str:
    return fold(" ".join(str(data.get(name) or "") for name in ("street", "postcode", "city")))


def _channel_key(data: Mapping[str, Any]) -> str:
    return f"{data.get('kind')}:{fold(str(data.get('value') or ''))}"


class ContactsSection(Section):
    """The address book: matched by e-mail, then by name (accents and case aside);
    new contacts are added, known ones completed, none is removed."""

    name = "contacts"
    label = gettext_lazy("Contacts")
    help = gettext_lazy(
        "Contacts are matched by e-mail, then by name. Only filled-in values are taken: "
        "an empty value never erases one, and no contact, address or phone is removed."
    )
    read_permission = (Resource.CONTACTS, Action.VIEW)
    schema = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                **{name: {"type": "string"} for name in CONTACT_FIELDS},
                "addresses": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {name: {"type": "string"} for name in ADDRESS_FIELDS},
                        "additionalProperties": False,
                    },
                },
                "channels": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {name: {"type": "string"} for name in CHANNEL_FIELDS},
                        "additionalProperties": False,
                    },
                },
            },
            "additionalProperties": False,
        },
    }

    def validate(self, payload: Any) -> list[dict[str, Any]]:
        read = self.reader
        rows = []
        for index, raw in enumerate(read.items(payload, "")):
            where = str(index)
            data = read.obj(raw, where, CONTACT_ROW_FIELDS)
            fields = {
                name: read.text(data.get(name), _join(where, name), 5000)
                for name in CONTACT_FIELDS
                if name in data
            }
            fields.setdefault("kind", Contact.Kind.PERSON)
            fields.setdefault("category", Contact.Category.CLIENT)
            fields["kind"] = fields["kind"] or Contact.Kind.PERSON
            fields["category"] = fields["category"] or Contact.Category.CLIENT
            cleaned, errors = check_contact(fields)
            if errors:
                read.fail(_join(where, errors[0].field), errors[0].message)
            if not any(cleaned.get(name) for name in ("first_name", "last_name", "company_name")):
                read.fail(_join(where, "last_name"), _("a name or a company name is required."))
            rows.append(
                {
                    **{name: cleaned.get(name, "") for name in CONTACT_FIELDS},
                    "addresses": self._parts(
                        data.get("addresses"), _join(where, "addresses"), ADDRESS_FIELDS
                    ),
                    "channels": self._parts(
                        data.get("channels"), _join(where, "channels"), CHANNEL_FIELDS
                    ),
                }
            )
        return rows

    def _parts(self, value: Any, where: str, fields: list[str]) -> list[dict[str, str]]:
        read = self.reader
        result = []
        for index, raw in enumerate(read.items(value or [], where, 50)):
            at = _join(where, index)
            data = read.obj(raw, at, fields)
            texts = {name: read.text(data.get(name), _join(at, name), 254) for name in data}
            if fields is ADDRESS_FIELDS:
                if not any(texts.get(name) for name in ("street", "postcode", "city")):
                    continue
                cleaned, errors = check_address(texts)
            else:
                if not texts.get("value"):
                    continue
                cleaned, errors = check_channel(texts)
            if errors:
                read.fail(_join(at, errors[0].field), errors[0].message)
            result.append(cleaned)
        return result

    def export(self, org: Organization) -> list[dict[str, Any]]:
        rows = []
        for found in (
            Contact.objects.filter(organization=org)
            .prefetch_related("addresses", "channels")
            .order_by("sort_name", "pk")
        ):
            rows.append(
                {
                    **{name: getattr(found, name) for name in CONTACT_FIELDS},
                    "addresses": [
                        {name: getattr(address, name) for name in ADDRESS_FIELDS}
                        for address in found.addresses.all()
                    ],
                    "channels": [
                        {name: getattr(channel, name) for name in CHANNEL_FIELDS}
                        for channel in found.channels.all()
                    ],
                }
            )
        return rows

    @staticmethod
    def _name_key(row: Mapping[str, Any]) -> str:
        probe = Contact(
            kind=row["kind"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            company_name=row["company_name"],
        )
        return probe.sort_key()[:200]

    def _matches(
        self, org: Organization, payload: list[dict[str, Any]]
    ) -> list[tuple[int, dict[str, Any], Contact | None]]:
        """Each row with the contact it updates: the oldest with its e-mail, else with its
        name (the list's sort key: accents, case and spacing aside); None for a new one."""
        emails = sorted({row["email"].lower() for row in payload if row["email"]})
        names = sorted({self._name_key(row) for row in payload})
        by_email: dict[str, Contact] = {}
        by_name: dict[str, Contact] = {}
        queryset = Contact.objects.filter(organization=org).order_by("pk")
        for start in range(0, len(emails), 500):
            for with_email in queryset.annotate(folded=Lower("email")).filter(
                folded__in=emails[start : start + 500]
            ):
                by_email.setdefault(with_email.email.lower(), with_email)
        for start in range(0, len(names), 500):
            for named in queryset.filter(sort_name__in=names[start : start + 500]):
                by_name.setdefault(named.sort_name, named)
        result = []
        for index, row in enumerate(payload):
            found_contact = (by_email.get(row["email"].lower()) if row["email"] else None) or (
                by_name.get(self._name_key(row))
            )
            result.append((index, row, found_contact))
        return result

    @staticmethod
    def _field_changes(found: Contact, row: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: row[name]
            for name in CONTACT_FIELDS
            if name not in CREATION_ONLY and row[name] and row[name] != getattr(found, name)
        }

    @staticmethod
    def _new_parts(
        found: Contact, row: Mapping[str, Any]
    ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        addresses = {_address_key(address) for address in ContactsSection._kept_addresses(found)}
        channels = {_channel_key(channel) for channel in ContactsSection._kept_channels(found)}
        if found.email:
            channels.add(_channel_key({"kind": "email", "value": found.email}))
        if found.phone:
            channels.add(_channel_key({"kind": "phone", "value": found.phone}))
        new_addresses, new_channels = [], []
        for address in row["addresses"]:
            if _address_key(address) not in addresses:
                addresses.add(_address_key(address))
                new_addresses.append(address)
        for channel in row["channels"]:
            if _channel_key(channel) not in channels:
                channels.add(_channel_key(channel))
                new_channels.append(channel)
        return new_addresses, new_channels

    def diff(self, org: Organization, payload: Any) -> list[Change]:
        changes = []
        created: set[str] = set()
        for _index, row, found in self._matches(org, payload):
            title = Contact(**{name: row[name] for name in CONTACT_FIELDS}).display_name
            if found is None:
                key = row["email"].lower() or self._name_key(row)
                if key not in created:
                    created.add(key)
                    changes.append(Change(ADDED, row=title, after=row["email"] or row["phone"]))
                continue
            for name, value in self._field_changes(found, row).items():
                changes.append(
                    Change(
                        CHANGED,
                        row=found.display_name,
                        field=name,
                        label=_label(Contact, name),
                        before=getattr(found, name),
                        after=value,
                    )
                )
            addresses, channels = self._new_parts(found, row)
            for address in addresses:
                text = ContactAddress(**address)
                changes.append(
                    Change(
                        ADDED,
                        row=found.display_name,
                        field="addresses",
                        label=_("Address"),
                        after=str(text),
                    )
                )
            for channel in channels:
                changes.append(
                    Change(
                        ADDED,
                        row=found.display_name,
                        field="channels",
                        label=str(ContactChannel(kind=channel["kind"]).get_kind_display()),
                        after=channel["value"],
                    )
                )
        return changes

    def _apply(self, org: Organization, payload: Any, *, actor: Any) -> dict[str, Any]:
        added = updated = 0
        created: dict[str, Contact] = {}
        for index, row, found in self._matches(org, payload):
            key = row["email"].lower() or self._name_key(row)
            found = found or created.get(key)
            with self.reader.refusal(str(index)):
                if found is None:
                    created[key] = contacts.create_contact(
                        org,
                        actor=actor,
                        addresses=row["addresses"],
                        channels=row["channels"],
                        **{name: row[name] for name in CONTACT_FIELDS},
                    )
                    added += 1
                    continue
                fields = self._field_changes(found, row)
                addresses, channels = self._new_parts(found, row)
                if not (fields or addresses or channels):
                    continue
                contacts.update_contact(
                    found,
                    actor=actor,
                    addresses=[*self._kept_addresses(found), *addresses] if addresses else None,
                    channels=[*self._kept_channels(found), *channels] if channels else None,
                    **fields,
                )
                updated += 1
        return {"added": added, "updated": updated}

    @staticmethod
    def _kept_addresses(found: Contact) -> list[dict[str, str]]:
        return [
            {name: getattr(address, name) for name in ADDRESS_FIELDS}
            for address in found.addresses.all()
        ]

    @staticmethod
    def _kept_channels(found: Contact) -> list[dict[str, str]]:
        return [
            {name: getattr(channel, name) for name in CHANNEL_FIELDS}
            for channel in found.channels.all()
        ]


# --- drop-down lists ----------------------------------------------------------------------


class DropdownsSection(Section):
    """Drop-down lists, merged by list and item key: nothing is ever removed and a
    description is never emptied (`comptoir.bundles.merge`)."""

    name = "dropdowns"
    label = gettext_lazy("Drop-down lists")
    help = gettext_lazy(
        "Lists are merged by key, never replaced: new lists and items are added, labels "
        "updated, and an empty description never erases one. Stations merge the same way, "
        "so sending the lists never destroys the descriptions written on a station."
    )
    schema = {
        "type": "object",
        "description": "Lists by key: {key: {label, items: [{key, label, description}]}}.",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "label": {"type": "string"},
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "key": {"type": "string"},
                            "label": {"type": "string"},
                            "description": {"type": "string"},
                        },
                        "required": ["key"],
                        "additionalProperties": False,
                    },
                },
            },
            "additionalProperties": False,
        },
    }

    def validate(self, payload: Any) -> dict[str, Any]:
        read = self.reader
        if not isinstance(payload, dict):
            read.fail("", _("a JSON object is expected."))
        if len(payload) > dropdowns.MAX_LISTS:
            read.fail("", _("%(count)d lists at most.") % {"count": dropdowns.MAX_LISTS})
        result: dict[str, Any] = {}
        for raw_key, raw in payload.items():
            key = raw_key.strip()
            if not key or len(key) > dropdowns.KEY_LENGTH:
                read.fail(
                    raw_key or '""',
                    _("a list's key has 1 to %(count)d characters.")
                    % {"count": dropdowns.KEY_LENGTH},
                )
            if key in result:
                read.fail(key, _("this list appears twice."))
            data = read.obj(raw, key, ["label", "items"])
            items, seen = [], set()
            for index, item in enumerate(
                read.items(data.get("items") or [], _join(key, "items"), dropdowns.MAX_ITEMS)
            ):
                at = _join(_join(key, "items"), index)
                values = read.obj(item, at, ["key", "label", "description"])
                item_key = read.text(
                    values.get("key"), _join(at, "key"), dropdowns.ITEM_KEY_LENGTH, required=True
                )
                if item_key in seen:
                    read.fail(
                        _join(at, "key"), _("the item %(key)s appears twice.") % {"key": item_key}
                    )
                seen.add(item_key)
                items.append(
                    {
                        "key": item_key,
                        "label": read.text(
                            values.get("label"), _join(at, "label"), dropdowns.LABEL_LENGTH
                        ),
                        "description": read.text(
                            values.get("description"),
                            _join(at, "description"),
                            dropdowns.DESCRIPTION_LENGTH,
                        ),
                    }
                )
            result[key] = {
                "label": read.text(data.get("label"), _join(key, "label"), dropdowns.LABEL_LENGTH),
                "items": items,
            }
        return result

    def export(self, org: Organization) -> dict[str, Any]:
        return dropdowns.lists_state(org)

    def diff(self, org: Organization, payload: Any) -> list[Change]:
        current = dropdowns.lists_state(org)
        merged = merge_dropdowns(current, payload)
        changes = []
        for key, found in merged.items():
            before = current.get(key)
            if before is None:
                count = len(found["items"])
                changes.append(
                    Change(
                        ADDED,
                        row=key,
                        after=_("%(label)s (%(count)d items)")
                        % {"label": found["label"] or key, "count": count},
                    )
                )
                continue
            if before["label"] != found["label"]:
                changes.append(
                    Change(
                        CHANGED,
                        row=key,
                        field="label",
                        label=_("Label"),
                        before=before["label"],
                        after=found["label"],
                    )
                )
            old_items = {item["key"]: item for item in before["items"]}
            for item in found["items"]:
                row = f"{key} › {item['key']}"
                old = old_items.get(item["key"])
                if old is None:
                    changes.append(Change(ADDED, row=row, after=item["label"] or item["key"]))
                    continue
                for name, label in (("label", _("Label")), ("description", _("Description"))):
                    if old.get(name, "") != item[name]:
                        changes.append(
                            Change(
                                CHANGED,
                                row=row,
                                field=name,
                                label=label,
                                before=old.get(name, ""),
                                after=item[name],
                            )
                        )
        return changes

    def _apply(self, org: Organization, payload: Any, *, actor: Any) -> dict[str, Any]:
        return dropdowns.merge_into(org, payload, actor=actor)


@dataclass
class Registry:
    sections: dict[str, Section] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Section:
        return self.sections[name]

    def __contains__(self, name: object) -> bool:
        return name in self.sections

    def __iter__(self) -> Iterator[Section]:
        return iter(self.sections.values())

    @property
    def names(self) -> list[str]:
        return list(self.sections)


SECTIONS = Registry(
    {
        section.name: section
        for section in (
            CompanySection(),
            LogoFooterSection(),
            OperatorsSection(),
            AccountingSection(),
            NumberingSection(),
            TariffsSection(),
            DevicesSection(),
            ContactsSection(),
            DropdownsSection(),
        )
    }
)
# Imports apply the sections in this order: the logo (a file written to storage) last,
# so that a refusal in another section rolls back before any file is written.
APPLY_ORDER = [
    "company",
    "accounting",
    "operators",
    "numbering",
    "tariffs",
    "devices",
    "contacts",
    "dropdowns",
    "logo_footer",
]
