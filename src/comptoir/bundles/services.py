"""Settings bundles: receive a station's parameters, preview and import them, publish the
web's own for the stations.

Every write is transactional and audited. A bundle is checked whole before it is
kept (a bad section refuses it all, naming the section and the field); an import
applies the chosen sections in one transaction (a refusal in one rolls back all).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.bundles.models import SettingsBundle
from comptoir.bundles.sections import APPLY_ORDER, SECTIONS, Change, InvalidBundle
from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError, NotFound
from comptoir.core.models import Membership, Organization

MAX_BUNDLE_BYTES = 5 * 1024 * 1024
WEB_SOURCE = "web"


class UnknownSection(DomainError):
    """Names of sections Comptoir does not know; `details` lists the valid ones."""

    code = "unknown_section"
    status = 422

    def __init__(self, unknown: Iterable[str]) -> None:
        names = sorted(unknown)
        super().__init__(
            _("Unknown section: %(names)s. Valid sections: %(valid)s.")
            % {"names": ", ".join(names), "valid": ", ".join(SECTIONS.names)},
            details={"unknown": names, "valid": SECTIONS.names},
        )


class BundleTooLarge(DomainError):
    code = "bundle_too_large"
    status = 413

    def __init__(self, size: int) -> None:
        super().__init__(
            _(
                "The settings are too large: %(size)s bytes, %(limit)s at most (5 MB). "
                "Send the contacts in a separate bundle, or a smaller logo."
            )
            % {"size": size, "limit": MAX_BUNDLE_BYTES},
            details={"size": size, "limit": MAX_BUNDLE_BYTES},
        )


class NothingPublished(NotFound):
    code = "no_settings_published"


def section_names(names: Iterable[str]) -> list[str]:
    """Known names in the registry's order; UnknownSection for any other."""
    wanted = {name.strip() for name in names if name.strip()}
    unknown = wanted - set(SECTIONS.names)
    if unknown:
        raise UnknownSection(unknown)
    return [name for name in SECTIONS.names if name in wanted]


def encoded_size(sections: Mapping[str, Any]) -> int:
    return len(json.dumps(sections, ensure_ascii=False, separators=(",", ":")).encode())


def validate_sections(sections: Mapping[str, Any]) -> dict[str, Any]:
    """Each section checked and normalised, in the registry's order."""
    if not sections:
        raise DomainError(_("The bundle holds no section."), code="empty_bundle")
    names = section_names(sections)
    return {name: SECTIONS[name].validate(sections[name]) for name in names}


def _next_version(org: Organization) -> int:
    """Called in the transaction that creates the bundle: the organisation's row stays
    locked until commit, so two bundles never share a version."""
    Organization.objects.select_for_update().filter(pk=org.pk).first()
    last = SettingsBundle.objects.filter(organization=org).aggregate(last=Max("version"))["last"]
    return (last or 0) + 1


def _create(
    org: Organization,
    direction: str,
    sections: dict[str, Any],
    *,
    source: str,
    member: Membership | None,
) -> SettingsBundle:
    try:
        with transaction.atomic():
            return SettingsBundle.objects.create(
                organization=org,
                version=_next_version(org),
                direction=direction,
                source=(source.strip() or WEB_SOURCE)[:200],
                created_by=member,
                sections=sections,
                size=encoded_size(sections),
            )
    except IntegrityError:
        raise Conflict(
            _("Another bundle was saved at the same moment: send it again."),
            code="version_conflict",
        ) from None


def _summary(bundle: SettingsBundle) -> dict[str, Any]:
    return {
        "version": bundle.version,
        "direction": bundle.direction,
        "source": bundle.source,
        "sections": bundle.section_names,
        "size": bundle.size,
    }


@transaction.atomic
def receive_bundle(
    org: Organization,
    sections: Mapping[str, Any],
    *,
    actor: Any,
    member: Membership | None,
    source: str,
) -> SettingsBundle:
    """Keep the parameters a station sent, to be imported from the web later.

    Nothing is applied here: an administrator chooses the sections after a preview.
    """
    cleaned = validate_sections(sections)
    size = encoded_size(cleaned)
    if size > MAX_BUNDLE_BYTES:
        raise BundleTooLarge(size)
    bundle = _create(
        org, SettingsBundle.Direction.FROM_STATION, cleaned, source=source, member=member
    )
    audit.record(
        "settings_bundle.receive",
        organization=org,
        actor=actor,
        target=bundle,
        after=_summary(bundle),
    )
    return bundle


@transaction.atomic
def publish_bundle(
    org: Organization, names: Iterable[str], *, actor: Any, member: Membership | None
) -> SettingsBundle:
    """Make the web's current parameters (the chosen sections) the stations' next version."""
    chosen = section_names(names)
    if not chosen:
        raise DomainError(_("Choose at least one section."), details={"field": "sections"})
    sections = {name: SECTIONS[name].export(org) for name in chosen}
    bundle = _create(
        org, SettingsBundle.Direction.TO_STATIONS, sections, source=WEB_SOURCE, member=member
    )
    audit.record(
        "settings_bundle.publish",
        organization=org,
        actor=actor,
        target=bundle,
        after=_summary(bundle),
    )
    return bundle


def bundles_of(org: Organization, direction: str | None = None) -> QuerySet[SettingsBundle]:
    found = SettingsBundle.objects.filter(organization=org)
    if direction:
        found = found.filter(direction=direction)
    return found.select_related("created_by", "imported_by").order_by("-version")


def latest_published(org: Organization) -> SettingsBundle:
    """The latest bundle the web published for the stations, or NothingPublished."""
    found = bundles_of(org, SettingsBundle.Direction.TO_STATIONS).first()
    if found is None:
        raise NothingPublished(
            _(
                "The web has not published any settings for the stations yet "
                "(Settings › Settings backup › Send to the stations)."
            )
        )
    return found


@dataclass
class SectionPreview:
    """One section of a received bundle next to the web's data, for the import page."""

    name: str
    label: str
    help: str
    changes: list[Change] = field(default_factory=list)
    error: str = ""
    imported: bool = False

    SHOWN = 300  # a first import of the address book can list thousands of rows

    @property
    def visible(self) -> list[Change]:
        return self.changes[: self.SHOWN]

    @property
    def hidden(self) -> int:
        return max(0, len(self.changes) - self.SHOWN)

    @property
    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.kind] = counts.get(change.kind, 0) + 1
        return counts


def preview(bundle: SettingsBundle) -> list[SectionPreview]:
    """What importing each section would change (or why it cannot be imported)."""
    result = []
    org = bundle.organization
    for name in section_names(bundle.sections):
        section = SECTIONS[name]
        shown = SectionPreview(
            name,
            str(section.label),
            str(section.help),
            imported=name in (bundle.imported_sections or []),
        )
        try:
            shown.changes = section.diff(org, section.validate(bundle.sections[name]))
        except DomainError as exc:
            shown.error = exc.message
        result.append(shown)
    return result


@transaction.atomic
def import_bundle(
    bundle: SettingsBundle, names: Iterable[str], *, actor: Any, member: Membership | None
) -> dict[str, dict[str, Any]]:
    """Apply the chosen sections of a station's bundle to the web, all or nothing."""
    bundle = (
        SettingsBundle.objects.select_for_update().select_related("organization").get(pk=bundle.pk)
    )
    if bundle.direction != SettingsBundle.Direction.FROM_STATION:
        raise DomainError(
            _("Only the settings received from a station can be imported."),
            code="not_importable",
        )
    chosen = section_names(names)
    missing = [name for name in chosen if name not in bundle.sections]
    if missing:
        raise DomainError(
            _("This bundle has no section %(names)s.") % {"names": ", ".join(missing)},
            details={"field": "sections"},
        )
    if not chosen:
        raise DomainError(
            _("Choose at least one section to import."), details={"field": "sections"}
        )
    org = bundle.organization
    summaries: dict[str, dict[str, Any]] = {}
    for name in APPLY_ORDER:
        if name in chosen:
            section = SECTIONS[name]
            summaries[name] = section.apply(
                org, section.validate(bundle.sections[name]), actor=actor
            )
    imported = [
        name for name in SECTIONS.names if name in chosen or name in bundle.imported_sections
    ]
    SettingsBundle.objects.filter(pk=bundle.pk).update(
        imported_at=timezone.now(), imported_sections=imported, imported_by=member
    )
    bundle.refresh_from_db()
    audit.record(
        "settings_bundle.import",
        organization=org,
        actor=actor,
        target=bundle,
        after={"version": bundle.version, "sections": chosen, "summary": summaries},
    )
    return summaries


def published_sections(bundle: SettingsBundle, names: Iterable[str] | None) -> dict[str, Any]:
    """The sections of a published bundle a station asks for (all of them by default)."""
    if names is None:
        return dict(bundle.sections)
    return {name: bundle.sections[name] for name in section_names(names) if name in bundle.sections}


__all__ = [
    "MAX_BUNDLE_BYTES",
    "BundleTooLarge",
    "InvalidBundle",
    "NothingPublished",
    "UnknownSection",
    "import_bundle",
    "latest_published",
    "preview",
    "publish_bundle",
    "receive_bundle",
]
