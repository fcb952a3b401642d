"""Appointments: making, moving, cancelling; double booking; versions; the dossier follows."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from comptoir.agenda import services
from comptoir.agenda.models import Appointment
from comptoir.agenda.services import AppointmentInput
from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError, Forbidden
from comptoir.core.models import AuditEntry
from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import Dossier, DossierRevision
from tests.agenda.factories import a_dossier, book, paris, tomorrow
from tests.conftest import nothing_changes


def stamp(moment):
    """A date-time as the audit log stores it (UTC, JSON)."""
    return audit.jsonable(moment.astimezone(UTC))


def make(person, technician, start, minutes=60, **fields):
    return services.create_appointment(
        person.member,
        AppointmentInput(
            starts_at=start,
            ends_at=start + timedelta(minutes=minutes),
            technician=technician,
            **fields,
        ),
        actor=person.user,
    )


def test_an_appointment_gives_the_dossier_its_date_technician_and_a_revision(team):
    admin, tech = team["admin"], team["tech_all"]
    dossier = a_dossier(team)
    revisions = DossierRevision.objects.filter(dossier=dossier).count()
    start = paris(tomorrow(), 9, 30)

    appointment = make(admin, tech.member, start, 90, dossier=dossier, notes="Code 1234")

    dossier.refresh_from_db()
    assert (appointment.starts_at, appointment.ends_at) == (start, start + timedelta(minutes=90))
    assert (appointment.version, appointment.status, appointment.address) == (1, "planned", "")
    assert dossier.appointment_at == start
    assert dossier.technician_id == tech.member.pk
    assert dossier.status == Status.SCHEDULED
    assert DossierRevision.objects.filter(dossier=dossier).count() == revisions + 1
    head = DossierRevision.objects.get(dossier=dossier, rev=dossier.revision).document
    assert head["appointment"] == start.isoformat()
    actions = list(
        AuditEntry.objects.filter(organization=admin.org)
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["appointment.create", "dossier.update"]
    created = AuditEntry.objects.get(action="appointment.create")
    assert created.after["dossier"] == dossier.number
    assert created.after["technician"] == str(tech.member)
    assert created.after["notes"] == "Code 1234"


def test_double_booking_is_a_warning_listing_the_overlaps(team):
    admin, tech = team["admin"], team["tech_all"]
    dossier = a_dossier(team)
    first = make(admin, tech.member, paris(tomorrow(), 10), 60, dossier=dossier)
    with nothing_changes(), pytest.raises(services.DoubleBooking) as refused:
        make(admin, tech.member, paris(tomorrow(), 10, 30), 60, title="Second")
    assert refused.value.status == 409
    assert refused.value.details == {
        "overlaps": [
            {
                "id": str(first.public_id),
                "start": paris(tomorrow(), 10).isoformat(),
                "end": paris(tomorrow(), 11).isoformat(),
                "dossier": dossier.number,
            }
        ]
    }
    assert tech.member.display_name in refused.value.message
    second = services.create_appointment(
        admin.member,
        AppointmentInput(
            starts_at=paris(tomorrow(), 10, 30),
            ends_at=paris(tomorrow(), 11, 30),
            technician=tech.member,
        ),
        actor=admin.user,
        confirm_overlap=True,
    )
    assert Appointment.objects.filter(technician=tech.member).count() == 2
    assert second.title == ""


def test_back_to_back_is_not_a_double_booking_nor_is_another_technician(team):
    admin = team["admin"]
    make(admin, team["tech_all"].member, paris(tomorrow(), 10), 60)
    make(admin, team["tech_all"].member, paris(tomorrow(), 11), 60)  # starts when the other ends
    make(admin, team["tech_own"].member, paris(tomorrow(), 10), 60)
    cancelled = make(admin, team["tech_own"].member, paris(tomorrow(), 14), 60)
    services.cancel_appointment(admin.member, cancelled, actor=admin.user)
    make(admin, team["tech_own"].member, paris(tomorrow(), 14), 60)  # the slot is free again
    assert Appointment.objects.count() == 5


def test_move_checks_the_version_and_says_what_changed(team):
    admin, office, tech = team["admin"], team["backoffice"], team["tech_all"]
    dossier = a_dossier(team)
    appointment = make(admin, tech.member, paris(tomorrow(), 10), 60, dossier=dossier)
    seen_by_office = Appointment.objects.get(pk=appointment.pk)

    moved = services.move_appointment(
        admin.member,
        appointment,
        starts_at=paris(tomorrow(), 15),
        ends_at=paris(tomorrow(), 16, 30),
        version=1,
        actor=admin.user,
    )
    assert (moved.version, moved.starts_at) == (2, paris(tomorrow(), 15))
    dossier.refresh_from_db()
    assert dossier.appointment_at == paris(tomorrow(), 15)

    with nothing_changes(), pytest.raises(services.StaleVersion) as stale:
        services.move_appointment(
            office.member,
            seen_by_office,
            starts_at=paris(tomorrow(), 8),
            ends_at=paris(tomorrow(), 9),
            version=1,
            actor=office.user,
        )
    assert stale.value.code == "stale_version"
    assert stale.value.details == {
        "version": 2,
        "start": paris(tomorrow(), 15).isoformat(),
        "end": paris(tomorrow(), 16, 30).isoformat(),
        "technician": str(tech.member.public_id),
    }
    assert "15:00" in stale.value.message
    entry = AuditEntry.objects.get(action="appointment.move")
    assert entry.before == {
        "starts_at": stamp(paris(tomorrow(), 10)),
        "ends_at": stamp(paris(tomorrow(), 11)),
    }
    assert entry.after == {
        "starts_at": stamp(paris(tomorrow(), 15)),
        "ends_at": stamp(paris(tomorrow(), 16, 30)),
    }


def test_a_version_seen_before_a_concurrent_write_is_refused_at_the_claim(team):
    """The check before writing passed, but someone wrote in between: the conditional
    update claims nothing and the move is refused."""
    admin, tech = team["admin"], team["tech_all"]
    appointment = make(admin, tech.member, paris(tomorrow(), 10), 60)
    Appointment.objects.filter(pk=appointment.pk).update(version=5)  # a write in between
    with pytest.raises(services.StaleVersion):
        services.move_appointment(
            admin.member,
            appointment,  # still says version 1
            starts_at=paris(tomorrow(), 12),
            ends_at=paris(tomorrow(), 13),
            version=1,
            actor=admin.user,
        )
    assert Appointment.objects.get(pk=appointment.pk).starts_at == paris(tomorrow(), 10)


def test_cancelling_hands_the_dossier_to_its_next_appointment_or_back_to_scheduling(team):
    admin, tech = team["admin"], team["tech_all"]
    dossier = a_dossier(team)
    first = make(admin, tech.member, paris(tomorrow(), 9), 60, dossier=dossier)
    second = book(team, tech.member, paris(tomorrow() + timedelta(days=7), 9), dossier=dossier)
    dossier.refresh_from_db()
    assert dossier.appointment_at == first.starts_at

    services.cancel_appointment(admin.member, first, actor=admin.user)
    dossier.refresh_from_db()
    assert dossier.appointment_at == second.starts_at
    assert dossier.status == Status.SCHEDULED

    services.cancel_appointment(admin.member, second, actor=admin.user, version=1)
    dossier.refresh_from_db()
    assert dossier.appointment_at is None
    assert dossier.status == Status.TO_SCHEDULE
    with pytest.raises(Conflict) as again:
        services.cancel_appointment(admin.member, second, actor=admin.user)
    assert again.value.code == "appointment_cancelled"
    second.refresh_from_db()
    assert (second.status, second.version, second.cancelled_at is not None) == (
        "cancelled",
        2,
        True,
    )


def test_a_past_appointment_stays_the_dossiers_when_none_is_ahead(team):
    admin, tech = team["admin"], team["tech_all"]
    dossier = a_dossier(team)
    past = paris(tomorrow() - timedelta(days=10), 9)
    make(admin, tech.member, past, 60, dossier=dossier)
    dossier.refresh_from_db()
    assert dossier.appointment_at == past


def test_own_agenda_roles_book_only_themselves(team):
    own, other = team["tech_own"], team["tech_all"]
    with nothing_changes(), pytest.raises(Forbidden):
        make(own, other.member, paris(tomorrow(), 10))
    mine = make(own, own.member, paris(tomorrow(), 10))
    assert mine.technician_id == own.member.pk
    theirs = book(team, other.member, paris(tomorrow(), 14))
    with nothing_changes(), pytest.raises(Forbidden):
        services.move_appointment(
            own.member,
            theirs,
            starts_at=paris(tomorrow(), 15),
            ends_at=paris(tomorrow(), 16),
            version=1,
            actor=own.user,
        )
    with nothing_changes(), pytest.raises(Forbidden):
        services.cancel_appointment(own.member, theirs, actor=own.user)
    with nothing_changes(), pytest.raises(Forbidden):
        services.move_appointment(
            own.member,
            mine,
            starts_at=paris(tomorrow(), 15),
            ends_at=paris(tomorrow(), 16),
            version=1,
            technician=other.member,
            actor=own.user,
        )


def test_only_active_members_listed_on_the_calendar_are_booked(people, team):
    admin = team["admin"]
    people["backoffice"].member.listed_on_calendar = False
    people["backoffice"].member.save(update_fields=["listed_on_calendar"])
    for member in (people["backoffice"].member, people["blocked"].member):
        with nothing_changes(), pytest.raises(DomainError) as refused:
            make(admin, member, paris(tomorrow(), 10))
        assert refused.value.details == {"field": "technician"}
    with pytest.raises(DomainError):
        make(admin, people["outsider"].member, paris(tomorrow(), 10))
    assert make(admin, admin.member, paris(tomorrow(), 10)).technician_id == admin.member.pk


@pytest.mark.parametrize(
    ("start", "minutes", "field"),
    [
        ((10, 0), 0, "end"),
        ((10, 0), -30, "end"),
        ((10, 0), 32 * 24 * 60, "end"),
    ],
)
def test_bad_times_are_refused_and_write_nothing(team, start, minutes, field):
    with nothing_changes(), pytest.raises(DomainError) as refused:
        make(team["admin"], team["tech_all"].member, paris(tomorrow(), *start), minutes)
    assert refused.value.details == {"field": field}


def test_dates_outside_the_supported_years_are_refused(team):
    from datetime import UTC, datetime

    with nothing_changes(), pytest.raises(DomainError) as refused:
        make(team["admin"], team["tech_all"].member, datetime(3000, 1, 1, 9, tzinfo=UTC))
    assert refused.value.details == {"field": "start"}


def test_a_dossier_of_another_organisation_or_deleted_is_refused(people, team):
    admin = team["admin"]
    foreign = dossier_services.create_dossier(
        people["outsider"].member,
        dossier_services.DossierInput({}, []),
        actor=people["outsider"].user,
    )
    with nothing_changes(), pytest.raises(DomainError) as refused:
        make(admin, team["tech_all"].member, paris(tomorrow(), 10), dossier=foreign)
    assert refused.value.details == {"field": "dossier"}
    mine = a_dossier(team)
    Dossier.objects.filter(pk=mine.pk).update(deleted_at=paris(tomorrow(), 1))
    mine.refresh_from_db()
    with pytest.raises(DomainError):
        make(admin, team["tech_all"].member, paris(tomorrow(), 10), dossier=mine)


def test_a_deleted_dossiers_appointments_leave_the_agenda(team):
    from comptoir.agenda.selectors import visible

    dossier = a_dossier(team)
    kept = book(team, team["tech_all"].member, paris(tomorrow(), 8), title="Sans dossier")
    book(team, team["tech_all"].member, paris(tomorrow(), 10), dossier=dossier)
    assert visible(team["admin"].member).count() == 2
    dossier_services.delete_dossier(Dossier.objects.get(pk=dossier.pk), actor=team["admin"].user)
    assert list(visible(team["admin"].member)) == [kept]


def test_settings_are_checked_and_audited(team):
    from datetime import time

    admin = team["admin"]
    assert services.settings_for(admin.org).digest_time == time(18, 0)
    services.save_settings(admin.org, actor=admin.user, digest_time=time(19, 30))
    assert services.settings_for(admin.org).digest_time == time(19, 30)
    entry = AuditEntry.objects.get(action="agenda.settings")
    assert (entry.before, entry.after) == ({"digest_time": "18:00:00"}, {"digest_time": "19:30:00"})
    with nothing_changes(), pytest.raises(DomainError):
        services.save_settings(admin.org, actor=admin.user, default_duration=2)
