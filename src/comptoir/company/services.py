"""Domain operations on company settings: profile (with bank and accounting details), logo,
documents, tariffs, devices.

Every write runs in a transaction and writes its audit entry; files are counted
against the organisation's storage quota before they are kept. Outgoing e-mail
settings live in `comptoir.company.outgoing`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.company.expiry import warning_limit
from comptoir.company.identifiers import (
    InvalidIdentifier,
    clean_account_prefix,
    clean_bic,
    clean_iban,
    clean_journal_code,
    clean_naf,
    clean_siren,
    clean_siret,
    clean_vat,
    vat_siren,
)
from comptoir.company.models import VAT_RATES, CompanyDocument, CompanyProfile, Device, Tariff
from comptoir.company.uploads import check_image, check_pdf
from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import Certification, Membership, Organization
from comptoir.core.services import check_storage, release_storage, reserve_storage
from comptoir.dossiers.models import BUILTIN_MISSION_TYPES, MissionType
from comptoir.dossiers.services import ensure_mission_types

# The company details and the accounting fields are also the two settings-bundle
# sections of the same names (comptoir.bundles.sections).
DETAILS_FIELDS = [
    "legal_name",
    "legal_form",
    "share_capital",
    "siren",
    "siret",
    "naf_code",
    "vat_number",
    "street",
    "postcode",
    "city",
    "country",
    "phone",
    "email",
    "website",
    "insurer",
    "policy_number",
    "policy_expires_on",
]
ACCOUNTING_FIELDS = [
    "iban",
    "bic",
    "bank_name",
    "sales_journal",
    "bank_journal",
    "customer_account_prefix",
    "vat_regime",
]
PROFILE_FIELDS = [*DETAILS_FIELDS, "document_footer", *ACCOUNTING_FIELDS]
TARIFF_FIELDS = ["code", "label", "mission_type", "price_excl_vat", "vat_rate", "is_active"]
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
TARIFF_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,29}\Z")
MAX_PRICE = Decimal("99999999.99")

# Other apps say why a tariff must be kept (billing: "used on quote D-2026-0012").
# Each returns a message, or None when it does not use the tariff.
TARIFF_IN_USE: list[Callable[[Tariff], str | None]] = []


class FieldErrors(DomainError):
    """Several fields refused at once: `details["errors"]` maps each field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, details={"field": field, "errors": dict(errors)})


def _text(value: Any) -> str:
    return str(value or "").strip()


def _model_errors(instance: models.Model, fields: list[str]) -> dict[str, str]:
    """What the model's own field validation (lengths, e-mail, URL, choices) says."""
    exclude = [field.name for field in instance._meta.fields if field.name not in fields]
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return {name: " ".join(messages) for name, messages in exc.message_dict.items()}
    return {}


# --- the company profile --------------------------------------------------------


def get_profile(org: Organization) -> CompanyProfile:
    """The organisation's profile, or an unsaved blank one: reading writes nothing."""
    found = CompanyProfile.objects.filter(organization=org).first()
    return found or CompanyProfile(organization=org, legal_name=org.name)


def _clean_profile_value(name: str, value: Any) -> Any:
    if name == "share_capital":
        return _amount(value, "share_capital", _("The share capital"))
    if name == "policy_expires_on":
        if value in (None, "") or isinstance(value, date):
            return value or None
        raise DomainError(_("Enter a date."), details={"field": name})
    cleaners: dict[str, Callable[[str], str]] = {
        "siren": clean_siren,
        "siret": clean_siret,
        "vat_number": clean_vat,
        "naf_code": clean_naf,
        "iban": clean_iban,
        "bic": clean_bic,
        "sales_journal": clean_journal_code,
        "bank_journal": clean_journal_code,
        "customer_account_prefix": clean_account_prefix,
    }
    text = _text(value)
    if name in cleaners:
        try:
            return cleaners[name](text)
        except InvalidIdentifier as exc:
            raise DomainError(str(exc), details={"field": name}) from None
    if name == "email":
        return text.lower()
    if name == "website" and text and "://" not in text:
        return f"https://{text}"  # people type "www.example.fr"
    return text


def _profile_consistency(profile: CompanyProfile) -> dict[str, str]:
    errors = {}
    if profile.siret and not profile.siren:
        profile.siren = profile.siret[:9]
    if profile.siret and profile.siret[:9] != profile.siren:
        errors["siret"] = _("The SIRET %(siret)s does not start with the SIREN %(siren)s.") % {
            "siret": profile.siret,
            "siren": profile.siren,
        }
    inside = vat_siren(profile.vat_number)
    if inside and profile.siren and inside != profile.siren:
        errors["vat_number"] = _("The VAT number %(vat)s is not that of SIREN %(siren)s.") % {
            "vat": profile.vat_number,
            "siren": profile.siren,
        }
    french = _text(profile.country).lower() in {"", "france"}
    if french and profile.postcode and not re.fullmatch(r"\d{5}", profile.postcode):
        errors["postcode"] = _("A French postcode has 5 digits.")
    return errors


def _clean_profile(changes: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    errors: dict[str, str] = {}
    cleaned = {}
    for name, value in changes.items():
        try:
            cleaned[name] = _clean_profile_value(name, value)
        except DomainError as exc:
            errors[name] = exc.message
    return cleaned, errors


def check_profile_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Some of the company's details, cleaned as `update_profile` would store them.

    Identifiers, amounts, dates, lengths and choices are checked; nothing is read or
    written (the checks between fields, such as the SIRET against the SIREN, need the
    stored record and wait for `update_profile`). FieldErrors names every refused field.
    """
    cleaned, errors = _clean_profile(changes)
    blank = CompanyProfile(**cleaned)
    for key, message in _model_errors(blank, list(cleaned)).items():
        errors.setdefault(key, message)
    if errors:
        raise FieldErrors(errors)
    return cleaned


@transaction.atomic
def update_profile(org: Organization, *, actor: Any, **changes: Any) -> CompanyProfile:
    """Change the company's details; all fields are checked before anything is written."""
    cleaned, errors = _clean_profile(changes)
    profile = CompanyProfile.objects.select_for_update().filter(organization=org).first()
    created = profile is None
    if profile is None:
        profile = CompanyProfile(organization=org, legal_name=org.name)
    before = {} if created else audit.snapshot(profile, PROFILE_FIELDS)
    for name, value in cleaned.items():
        setattr(profile, name, value)
    errors.update(
        {key: value for key, value in _profile_consistency(profile).items() if key not in errors}
    )
    errors.update(
        {
            key: value
            for key, value in _model_errors(profile, list(cleaned)).items()
            if key not in errors
        }
    )
    if errors:
        raise FieldErrors(errors)
    profile.save()
    audit.record_change(
        "company.profile.create" if created else "company.profile.update",
        organization=org,
        actor=actor,
        target=profile,
        object_repr=str(profile),
        before=before,
        after=audit.snapshot(profile, PROFILE_FIELDS),
    )
    return profile


def _locked_profile(org: Organization) -> CompanyProfile:
    profile = CompanyProfile.objects.select_for_update().filter(organization=org).first()
    if profile is None:
        profile = CompanyProfile.objects.create(organization=org, legal_name=org.name)
    return profile


def _delete_file_later(name: str | None) -> None:
    """Remove a replaced file once the change that dropped it is committed."""
    if name:
        transaction.on_commit(partial(default_storage.delete, name))


def set_logo(org: Organization, upload: IO[bytes], *, actor: Any, name: str = "") -> CompanyProfile:
    """Keep a new logo (PNG, JPEG, GIF or WebP, at most 2 MB) in place of the old one.

    A logo is letterhead, not a record: the old file is removed and its bytes
    released; the audit log keeps its name, size and fingerprint.
    """
    found = check_image(upload, name or getattr(upload, "name", "") or "logo")
    check_storage(org, found.size)
    with transaction.atomic():
        profile = _locked_profile(org)
        before = _logo_state(profile)
        old_file, old_size = profile.logo.name, profile.logo_size
        profile.logo.save(found.name, upload, save=False)  # type: ignore[arg-type]
        profile.logo_name, profile.logo_size = found.name, found.size
        profile.logo_content_type = found.content_type
        profile.save()
        if old_file:
            release_storage(org, old_size)
            _delete_file_later(old_file)
        reserve_storage(org, found.size)
        audit.record(
            "company.logo.update",
            organization=org,
            actor=actor,
            target=profile,
            object_repr=str(profile),
            before=before,
            after={**(_logo_state(profile) or {}), "sha256": found.sha256},
        )
    return profile


def _logo_state(profile: CompanyProfile) -> dict[str, Any] | None:
    if not profile.logo:
        return None
    return {"logo": profile.logo_name, "size": profile.logo_size}


@transaction.atomic
def remove_logo(org: Organization, *, actor: Any) -> CompanyProfile:
    profile = _locked_profile(org)
    if not profile.logo:
        return profile
    before = _logo_state(profile)
    old_file, old_size = profile.logo.name, profile.logo_size
    profile.logo = ""
    profile.logo_name, profile.logo_content_type, profile.logo_size = "", "", 0
    profile.save()
    release_storage(org, old_size)
    _delete_file_later(old_file)
    audit.record(
        "company.logo.remove",
        organization=org,
        actor=actor,
        target=profile,
        object_repr=str(profile),
        before=before,
        after=None,
    )
    return profile


# --- company documents (CGV, CGI, prerequisites, withdrawal form) ---------------------


def upload_document(
    org: Organization, kind: str, upload: IO[bytes], *, actor: Any, name: str = ""
) -> CompanyDocument:
    """Make a PDF the current version of a document; the previous version is kept."""
    if kind not in CompanyDocument.Kind.values:
        raise DomainError(
            _("Unknown company document “%(kind)s”.") % {"kind": kind}, details={"field": "kind"}
        )
    found = check_pdf(upload, name or getattr(upload, "name", "") or f"{kind}.pdf")
    check_storage(org, found.size)
    try:
        with transaction.atomic():
            document = _replace_current(
                org, kind, found.name, found.size, found.sha256, upload, actor
            )
            reserve_storage(org, found.size)
    except IntegrityError:
        raise Conflict(
            _(
                "Another version of this document was uploaded at the same moment: "
                "reload the page and check which one is current."
            )
        ) from None
    return document


def _replace_current(
    org: Organization,
    kind: str,
    filename: str,
    size: int,
    sha256: str,
    upload: IO[bytes],
    actor: Any,
) -> CompanyDocument:
    previous = (
        CompanyDocument.objects.select_for_update()
        .filter(organization=org, kind=kind, is_current=True)
        .first()
    )
    now = timezone.now()
    if previous is not None:
        previous.is_current, previous.replaced_at = False, now
        previous.save(update_fields=["is_current", "replaced_at"])
    document = CompanyDocument(
        organization=org,
        kind=kind,
        name=filename,
        size=size,
        sha256=sha256,
        uploaded_at=now,
        uploaded_by=actor if getattr(actor, "pk", None) else None,
    )
    document.file.save(filename, upload, save=False)  # type: ignore[arg-type]
    document.save()
    before = (
        None
        if previous is None
        else {"name": previous.name, "sha256": previous.sha256, "uploaded_at": previous.uploaded_at}
    )
    audit.record(
        "company.document.replace" if previous else "company.document.add",
        organization=org,
        actor=actor,
        target=document,
        before=before,
        after={"kind": kind, "name": filename, "size": size, "sha256": sha256},
    )
    return document


def documents_by_kind(org: Organization) -> list[dict[str, Any]]:
    """Each kind of document with its current version and the older ones, newest first."""
    versions: dict[str, list[CompanyDocument]] = {kind: [] for kind in CompanyDocument.Kind}
    for document in (
        CompanyDocument.objects.filter(organization=org)
        .select_related("uploaded_by")
        .order_by("-uploaded_at", "-pk")
    ):
        versions[document.kind].append(document)
    return [
        {
            "kind": kind,
            "label": kind.label,
            "current": next((doc for doc in versions[kind] if doc.is_current), None),
            "previous": [doc for doc in versions[kind] if not doc.is_current],
        }
        for kind in CompanyDocument.Kind
    ]


def current_documents(org: Organization) -> dict[str, CompanyDocument]:
    """What the quote-acceptance flow attaches: the current version of each kind."""
    return {
        doc.kind: doc for doc in CompanyDocument.objects.filter(organization=org, is_current=True)
    }


# --- tariffs ---------------------------------------------------------------------


def _amount(value: Any, field: str, what: str) -> Decimal | None:
    """A non-negative amount with at most 2 decimals, from a Decimal or French text."""
    if value in (None, ""):
        return None
    if isinstance(value, Decimal):
        number = value
    else:
        text = re.sub(r"[\s\u00a0\u202f€]", "", str(value)).replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise DomainError(
                _("%(what)s must be a number, such as 1 234,50.") % {"what": what},
                details={"field": field},
            ) from None
    if not number.is_finite():
        raise DomainError(
            _("%(what)s must be a number, such as 1 234,50.") % {"what": what},
            details={"field": field},
        )
    if number < 0:
        raise DomainError(
            _("%(what)s cannot be negative.") % {"what": what}, details={"field": field}
        )
    if number != number.quantize(Decimal("0.01")):
        raise DomainError(
            _("%(what)s has at most 2 decimals (cents).") % {"what": what}, details={"field": field}
        )
    if number > MAX_PRICE:
        raise DomainError(_("%(what)s is too large.") % {"what": what}, details={"field": field})
    return number.quantize(Decimal("0.01"))


def _clean_tariff(
    org: Organization, data: Mapping[str, Any], tariff: Tariff | None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        try:
            cleaned[name] = _clean_tariff_value(org, name, value, tariff)
        except DomainError as exc:
            errors[name] = exc.message
    if errors:
        raise FieldErrors(errors)
    return cleaned


def _clean_tariff_value(org: Organization, name: str, value: Any, tariff: Tariff | None) -> Any:
    if name == "code":
        code = _text(value).upper()
        if not TARIFF_CODE.match(code):
            raise DomainError(
                _(
                    "Enter a code of 1 to 30 letters, digits, dots, hyphens or "
                    "underscores, such as DPE or AMI-50."
                ),
                details={"field": name},
            )
        taken = Tariff.objects.filter(organization=org, code=code)
        if tariff is not None:
            taken = taken.exclude(pk=tariff.pk)
        if taken.exists():
            raise DomainError(
                _("The code “%(code)s” is already used by another tariff.") % {"code": code},
                details={"field": name},
            )
        return code
    if name == "label":
        label = _text(value)
        if not label or len(label) > 200:
            raise DomainError(
                _("Enter a label of at most 200 characters."), details={"field": name}
            )
        return label
    if name == "mission_type":
        return _mission_type(org, value)
    if name == "price_excl_vat":
        price = _amount(value, name, _("The price"))
        if price is None:
            raise DomainError(_("Enter the price excluding VAT."), details={"field": name})
        return price
    if name == "vat_rate":
        try:
            rate = Decimal(str(value).replace(",", "."))
        except InvalidOperation:
            rate = Decimal(-1)
        if rate not in VAT_RATES:
            raise DomainError(
                _("Choose a French VAT rate: 20, 10, 5.5, 2.1 or 0 %."), details={"field": name}
            )
        return rate.quantize(Decimal("0.01"))
    if name == "is_active":
        return bool(value)
    raise DomainError(_("Unknown field: %(name)s.") % {"name": name})


def _mission_type(org: Organization, value: MissionType | str | None) -> MissionType | None:
    """A mission type of the organisation, given as itself or by its code.

    A built-in code the organisation has not used yet creates the built-in types
    (in the caller's transaction: a refused tariff rolls them back too).
    """
    if value in (None, ""):
        return None
    if isinstance(value, MissionType):
        if value.organization_id != org.pk:
            raise DomainError(_("Unknown mission type."), details={"field": "mission_type"})
        return value
    code = str(value)
    found = MissionType.objects.filter(organization=org, code=code).first()
    if found is None and code in dict(BUILTIN_MISSION_TYPES):
        ensure_mission_types(org)
        found = MissionType.objects.filter(organization=org, code=code).first()
    if found is None:
        raise DomainError(_("Unknown mission type."), details={"field": "mission_type"})
    return found


def _tariff_state(tariff: Tariff) -> dict[str, Any]:
    state = audit.snapshot(tariff, TARIFF_FIELDS)
    state["mission_type"] = tariff.mission_type.code if tariff.mission_type else None
    return state


@transaction.atomic
def create_tariff(
    org: Organization,
    *,
    actor: Any,
    code: str,
    label: str,
    price_excl_vat: Any,
    vat_rate: Any = Decimal("20.00"),
    mission_type: MissionType | str | None = None,
) -> Tariff:
    data = _clean_tariff(
        org,
        {
            "code": code,
            "label": label,
            "mission_type": mission_type,
            "price_excl_vat": price_excl_vat,
            "vat_rate": vat_rate,
        },
        None,
    )
    try:
        with transaction.atomic():
            tariff = Tariff.objects.create(organization=org, **data)
    except IntegrityError:
        raise Conflict(
            _("The code “%(code)s” is already used by another tariff.") % {"code": data["code"]},
            details={"field": "code"},
        ) from None
    audit.record(
        "tariff.create", organization=org, actor=actor, target=tariff, after=_tariff_state(tariff)
    )
    return tariff


@transaction.atomic
def update_tariff(tariff: Tariff, *, actor: Any, **changes: Any) -> Tariff:
    unknown = set(changes) - set(TARIFF_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    tariff = (
        Tariff.objects.select_for_update(of=("self",))
        .select_related("mission_type")
        .get(pk=tariff.pk)
    )
    data = _clean_tariff(tariff.organization, changes, tariff)
    before = _tariff_state(tariff)
    for name, value in data.items():
        setattr(tariff, name, value)
    try:
        with transaction.atomic():
            tariff.save()
    except IntegrityError:
        raise Conflict(
            _("The code “%(code)s” is already used by another tariff.") % {"code": tariff.code},
            details={"field": "code"},
        ) from None
    old, new = audit.diff(before, _tariff_state(tariff))
    if new:
        action = "tariff.update"
        if set(new) == {"is_active"}:
            action = "tariff.activate" if tariff.is_active else "tariff.deactivate"
        audit.record(
            action,
            organization=tariff.organization,
            actor=actor,
            target=tariff,
            before=old,
            after=new,
        )
    return tariff


def set_tariff_active(tariff: Tariff, active: bool, *, actor: Any) -> Tariff:
    return update_tariff(tariff, actor=actor, is_active=active)


def tariff_in_use(tariff: Tariff) -> str | None:
    for check in TARIFF_IN_USE:
        reason = check(tariff)
        if reason:
            return reason
    return None


@transaction.atomic
def delete_tariff(tariff: Tariff, *, actor: Any) -> None:
    """Only a tariff nothing uses yet (a typo) is deleted; a used one is deactivated."""
    reason = tariff_in_use(tariff)
    if reason:
        raise Conflict(
            _("This tariff cannot be deleted (%(reason)s): deactivate it instead.")
            % {"reason": reason},
            code="tariff_in_use",
        )
    before = _tariff_state(tariff)
    audit.record(
        "tariff.delete",
        organization=tariff.organization,
        actor=actor,
        target=tariff,
        before=before,
        after=None,
    )
    Tariff.objects.filter(pk=tariff.pk).delete()


def active_tariffs(org: Organization) -> QuerySet[Tariff]:
    """The price list billing drafts quotes from."""
    return (
        Tariff.objects.filter(organization=org, is_active=True)
        .select_related("mission_type")
        .order_by("code")
    )


# --- devices ---------------------------------------------------------------------


def _clean_device(
    org: Organization, data: Mapping[str, Any], device: Device | None
) -> tuple[dict[str, Any], dict[str, str]]:
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name == "expires_on":
            cleaned[name] = value or None
        elif name == "is_active":
            cleaned[name] = bool(value)
        else:
            cleaned[name] = _text(value)
    errors: dict[str, str] = {}
    if "name" in cleaned and not cleaned["name"]:
        errors["name"] = _("Enter the device's name.")
    serial = cleaned.get("serial_number")
    if serial:
        taken = Device.objects.filter(organization=org, serial_number=serial)
        if device is not None:
            taken = taken.exclude(pk=device.pk)
        if taken.exists():
            errors["serial_number"] = _(
                "Another device already has the serial number %(serial)s."
            ) % {"serial": serial}
    return cleaned, errors


def _apply_device(device: Device, data: Mapping[str, Any], creating: bool) -> None:
    """Set the fields, or refuse every wrong one at once (nothing is written)."""
    unknown = set(data) - set(DEVICE_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    cleaned, errors = _clean_device(device.organization, data, None if creating else device)
    for name, value in cleaned.items():
        setattr(device, name, value)
    for name, message in _model_errors(device, list(data)).items():
        errors.setdefault(name, message)
    if errors:
        raise FieldErrors(errors)


@transaction.atomic
def create_device(org: Organization, *, actor: Any, **data: Any) -> Device:
    device = Device(organization=org)
    _apply_device(device, data, creating=True)
    device.save()
    audit.record(
        "device.create",
        organization=org,
        actor=actor,
        target=device,
        after=audit.snapshot(device, DEVICE_FIELDS),
    )
    return device


@transaction.atomic
def update_device(device: Device, *, actor: Any, **changes: Any) -> Device:
    device = Device.objects.select_for_update().select_related("organization").get(pk=device.pk)
    before = audit.snapshot(device, DEVICE_FIELDS)
    _apply_device(device, changes, creating=False)
    device.save()
    old, new = audit.diff(before, audit.snapshot(device, DEVICE_FIELDS))
    if new:
        action = "device.update"
        if set(new) == {"is_active"}:
            action = "device.return_to_service" if device.is_active else "device.retire"
        audit.record(
            action,
            organization=device.organization,
            actor=actor,
            target=device,
            before=old,
            after=new,
        )
    return device


# --- what expires soon (the dashboard) --------------------------------------------


def expiring_devices(org: Organization, today: date | None = None) -> QuerySet[Device]:
    """Devices in service whose calibration or source expires within the warning window."""
    return Device.objects.filter(
        organization=org, is_active=True, expires_on__lte=warning_limit(today)
    ).order_by("expires_on")


def expiring_certifications(
    member: Membership, *, everyone: bool, today: date | None = None
) -> QuerySet[Certification]:
    """Certifications of the active members (or only the member's own) expiring soon."""
    found = Certification.objects.filter(
        membership__organization=member.organization,
        membership__is_blocked=False,
        expires_on__lte=warning_limit(today),
    ).select_related("membership")
    if not everyone:
        found = found.filter(membership=member)
    return found.order_by("expires_on")
