"""What an organisation configures about its dossiers: mission types and custom fields.

Every write needs the Outils right to change settings, runs in a transaction and is
audited. Codes and keys are derived from the label once and never change afterwards:
the API and the stored values refer to them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from comptoir.accounts.models import User
from comptoir.core import audit
from comptoir.core.access import require
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import Membership, Organization
from comptoir.core.roles import Action, Resource
from comptoir.dossiers.models import CustomField, Dossier, MissionType
from comptoir.dossiers.services import ensure_mission_types

MISSION_TYPE_AUDITED = ["code", "label", "is_builtin", "is_active"]
CUSTOM_FIELD_AUDITED = ["key", "label", "kind", "position"]
CODE_LENGTH = MissionType._meta.get_field("code").max_length or 30
KEY_LENGTH = CustomField._meta.get_field("key").max_length or 40


def _may_change(member: Membership) -> None:
    require(member, Resource.SETTINGS, Action.CHANGE)


def _label(raw: str, max_length: int) -> str:
    label = " ".join((raw or "").split())
    if not label:
        raise DomainError(_("The label is required."), details={"field": "label"})
    if len(label) > max_length:
        raise DomainError(
            _("The label is longer than %(count)d characters.") % {"count": max_length},
            details={"field": "label"},
        )
    return label


def _slug(label: str, max_length: int) -> str:
    slug = slugify(label)[:max_length].strip("-")
    if not slug:
        raise DomainError(
            _("The label needs at least one letter or digit."), details={"field": "label"}
        )
    return slug


# --- Mission types -----------------------------------------------------------------


def all_mission_types(org: Organization) -> list[MissionType]:
    """Every type of the organisation, active or not, built-in ones first."""
    ensure_mission_types(org)
    return list(MissionType.objects.filter(organization=org))


def mission_type_by_code(org: Organization, code: str) -> MissionType | None:
    return MissionType.objects.filter(organization=org, code=code).first()


def _label_taken(org: Organization, label: str, exclude: int | None = None) -> bool:
    others = MissionType.objects.filter(organization=org, label__iexact=label)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    return others.exists()


@transaction.atomic
def create_mission_type(member: Membership, label: str, *, actor: User | None) -> MissionType:
    _may_change(member)
    org = member.organization
    ensure_mission_types(org)
    label = _label(label, MissionType._meta.get_field("label").max_length or 100)
    code = _slug(label, CODE_LENGTH)
    if MissionType.objects.filter(organization=org, code=code).exists() or _label_taken(org, label):
        raise Conflict(
            _("A mission type with the label “%(label)s” already exists (code “%(code)s”).")
            % {"label": label, "code": code},
            code="mission_type_exists",
            details={"field": "label"},
        )
    kind = MissionType.objects.create(organization=org, code=code, label=label)
    audit.record(
        "mission_type.create",
        organization=org,
        actor=actor,
        target=kind,
        after=audit.snapshot(kind, MISSION_TYPE_AUDITED),
    )
    return kind


def _save_mission_type(kind: MissionType, changes: dict[str, Any], actor: User | None) -> None:
    before = audit.snapshot(kind, MISSION_TYPE_AUDITED)
    for name, value in changes.items():
        setattr(kind, name, value)
    old, new = audit.diff(before, audit.snapshot(kind, MISSION_TYPE_AUDITED))
    if not new:
        return
    kind.save(update_fields=list(changes))
    audit.record(
        "mission_type.update",
        organization=kind.organization,
        actor=actor,
        target=kind,
        before=old,
        after=new,
    )


@transaction.atomic
def rename_mission_type(
    member: Membership, kind: MissionType, label: str, *, actor: User | None
) -> MissionType:
    """A custom type gets a new label; its code (used by the API) stays."""
    _may_change(member)
    if kind.is_builtin:
        raise Conflict(
            _("A built-in mission type cannot be renamed."),
            code="mission_type_builtin",
            details={"field": "label"},
        )
    label = _label(label, MissionType._meta.get_field("label").max_length or 100)
    if _label_taken(kind.organization, label, exclude=kind.pk):
        raise Conflict(
            _("A mission type with the label “%(label)s” already exists.") % {"label": label},
            code="mission_type_exists",
            details={"field": "label"},
        )
    _save_mission_type(kind, {"label": label}, actor)
    return kind


@transaction.atomic
def set_mission_type_active(
    member: Membership, kind: MissionType, active: bool, *, actor: User | None
) -> MissionType:
    """An inactive type is no longer offered on new dossiers; existing ones keep it."""
    _may_change(member)
    _save_mission_type(kind, {"is_active": active}, actor)
    return kind


# --- Custom fields -----------------------------------------------------------------


def custom_fields(org: Organization) -> list[CustomField]:
    return list(CustomField.objects.filter(organization=org))


def custom_field_by_key(org: Organization, key: str) -> CustomField | None:
    return CustomField.objects.filter(organization=org, key=key).first()


def _record_field(
    action: str, field: CustomField, actor: User | None, before: Any = None, after: Any = None
) -> None:
    audit.record(
        action,
        organization=field.organization,
        actor=actor,
        target=field,
        object_id=field.key,
        before=before,
        after=after,
    )


@transaction.atomic
def create_custom_field(
    member: Membership, label: str, kind: str, *, actor: User | None
) -> CustomField:
    _may_change(member)
    org = member.organization
    label = _label(label, CustomField._meta.get_field("label").max_length or 80)
    if kind not in CustomField.Kind.values:
        raise DomainError(
            _("Unknown field type “%(kind)s”.") % {"kind": kind}, details={"field": "kind"}
        )
    key = _slug(label, KEY_LENGTH)
    taken = CustomField.objects.filter(organization=org)
    if taken.filter(key=key).exists() or taken.filter(label__iexact=label).exists():
        raise Conflict(
            _("A custom field with the label “%(label)s” already exists.") % {"label": label},
            code="custom_field_exists",
            details={"field": "label"},
        )
    last = taken.aggregate(last=Max("position"))["last"]
    field = CustomField.objects.create(
        organization=org,
        key=key,
        label=label,
        kind=kind,
        position=0 if last is None else last + 1,
    )
    _record_field(
        "custom_field.create", field, actor, after=audit.snapshot(field, CUSTOM_FIELD_AUDITED)
    )
    return field


@transaction.atomic
def rename_custom_field(
    member: Membership, field: CustomField, label: str, *, actor: User | None
) -> CustomField:
    """A new label; the key under which dossiers store the value stays."""
    _may_change(member)
    label = _label(label, CustomField._meta.get_field("label").max_length or 80)
    others = CustomField.objects.filter(organization=field.organization).exclude(pk=field.pk)
    if others.filter(label__iexact=label).exists():
        raise Conflict(
            _("A custom field with the label “%(label)s” already exists.") % {"label": label},
            code="custom_field_exists",
            details={"field": "label"},
        )
    if label != field.label:
        before = {"label": field.label}
        field.label = label
        field.save(update_fields=["label"])
        _record_field("custom_field.update", field, actor, before=before, after={"label": label})
    return field


@transaction.atomic
def move_custom_field(
    member: Membership, field: CustomField, offset: int, *, actor: User | None
) -> CustomField:
    """Move a field up (-1) or down (+1) the dossier form; positions are renumbered."""
    _may_change(member)
    fields = list(CustomField.objects.select_for_update().filter(organization=field.organization))
    index = next(i for i, each in enumerate(fields) if each.pk == field.pk)
    target = min(max(index + offset, 0), len(fields) - 1)
    fields.insert(target, fields.pop(index))
    for position, each in enumerate(fields):
        if each.position != position:
            before = {"position": each.position}
            each.position = position
            each.save(update_fields=["position"])
            if each.pk == field.pk:
                _record_field(
                    "custom_field.update", each, actor, before=before, after={"position": position}
                )
    field.position = target
    return field


def _has_value(value: Any) -> bool:
    # An unticked yes/no box is stored as False: the form cannot tell it from "not answered".
    return value not in (None, "", False)


def dossiers_using(field: CustomField) -> int:
    """How many dossiers (not deleted) hold a value for the field."""
    rows = Dossier.objects.filter(
        organization=field.organization,
        deleted_at__isnull=True,
        custom_fields__has_key=field.key,
    ).values_list("custom_fields", flat=True)
    return sum(1 for values in rows.iterator() if _has_value(values.get(field.key)))


@transaction.atomic
def delete_custom_field(member: Membership, field: CustomField, *, actor: User | None) -> None:
    """Remove a field no dossier fills in; one in use is refused."""
    _may_change(member)
    used = dossiers_using(field)
    if used:
        raise Conflict(
            ngettext(
                "The field “%(label)s” has a value in %(count)d dossier: "
                "clear it before deleting the field.",
                "The field “%(label)s” has a value in %(count)d dossiers: "
                "clear them before deleting the field.",
                used,
            )
            % {"label": field.label, "count": used},
            code="custom_field_in_use",
            details={"field": "label"},
        )
    before = audit.snapshot(field, CUSTOM_FIELD_AUDITED)
    _record_field("custom_field.delete", field, actor, before=before)
    field.delete()
