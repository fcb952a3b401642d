"""The evening e-mail, through a real SMTP server on loopback: at the chosen time, exactly
one per technician and day however often the scheduler or the task runs, none for a
blocked member, through the member's server before the organisation's."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from comptoir.accounts import services as accounts_services
from comptoir.agenda import digest, services
from comptoir.agenda.models import DigestDelivery
from comptoir.agenda.tasks import send_digest
from comptoir.contacts.services import create_contact
from tests.agenda.factories import a_dossier, book, paris, tomorrow
from tests.company.factories import smtp_config
from tests.peers.conftest import Mailbox, free_port

pytestmark = pytest.mark.peer


def evening(hour: int = 18, minute: int = 5) -> datetime:
    """Today at this Paris time: the scheduler's "now"."""
    return datetime.combine(
        timezone.localdate(), time(hour, minute), tzinfo=timezone.get_current_timezone()
    )


def parsed(envelope: Any) -> Any:
    return message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)


def text_of(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def day_ahead(team):
    """Tomorrow's appointments: two for tech_all, one each for tech_own and tech_station,
    one for the member blocked since, a cancelled one for the back office."""
    owner = create_contact(
        team["admin"].org,
        actor=None,
        kind="person",
        first_name="Jeanne",
        last_name="Martin",
        phone="06 11 22 33 44",
    )
    dossier = a_dossier(team, owner=owner)
    book(team, team["tech_all"].member, paris(tomorrow(), 10), 60, dossier=dossier)
    book(team, team["tech_all"].member, paris(tomorrow(), 14), 90, title="Visite de chantier")
    book(team, team["tech_own"].member, paris(tomorrow(), 9), 60)
    book(team, team["tech_station"].member, paris(tomorrow(), 16), 60)
    book(team, team["tech_all"].member, paris(tomorrow() + timedelta(days=1), 9))  # the day after
    cancelled = book(team, team["backoffice"].member, paris(tomorrow(), 11), 60)
    services.cancel_appointment(team["admin"].member, cancelled, actor=team["admin"].user)
    return dossier


def test_at_the_chosen_time_one_email_per_technician_and_never_twice(
    team, day_ahead, smtp_server: Mailbox, django_capture_on_commit_callbacks
):
    smtp_config(team["admin"], smtp_server.port, from_email="planning@acme-diag.fr")
    with django_capture_on_commit_callbacks(execute=True):
        assert digest.schedule(evening(17, 59)) == 0
    assert DigestDelivery.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert digest.schedule(evening(18, 5)) == 3
    recipients = sorted(envelope.rcpt_tos[0] for envelope in smtp_server.envelopes)
    assert recipients == ["tech_all@acme.test", "tech_own@acme.test", "tech_station@acme.test"]

    # the scheduler again (cron every 15 minutes), and the same tasks again (a retry)
    with django_capture_on_commit_callbacks(execute=True):
        assert digest.schedule(evening(18, 20)) == 0
        assert digest.schedule(evening(23, 50)) == 0
    for delivery in DigestDelivery.objects.all():
        assert send_digest.call(delivery.pk) == "already handled"
    assert len(smtp_server.envelopes) == 3
    rows = {
        row.membership.user.email: (row.status, row.appointments, row.day)
        for row in DigestDelivery.objects.select_related("membership__user")
    }
    assert rows == {
        "tech_all@acme.test": ("sent", 2, tomorrow()),
        "tech_own@acme.test": ("sent", 1, tomorrow()),
        "tech_station@acme.test": ("sent", 1, tomorrow()),
    }

    mine = next(e for e in smtp_server.envelopes if e.rcpt_tos == ["tech_all@acme.test"])
    message = parsed(mine)
    assert mine.mail_from == "planning@acme-diag.fr"
    body = text_of(message)
    assert "10:00–11:00" in body and "14:00–15:30" in body
    assert body.index("10:00–11:00") < body.index("14:00–15:30")
    assert "12 rue Esquermoise, 59000 Lille" in body
    assert "Jeanne Martin" in body and "06 11 22 33 44" in body
    assert "Visite de chantier" in body
    assert f"/o/acme/agenda/carte/?date={tomorrow().isoformat()}" in body
    assert message.get_body(preferencelist=("html",)) is not None
    with translation.override("fr"):
        subject = translation.ngettext(
            "Your appointment on %(date)s", "Your %(counter)s appointments on %(date)s", 2
        ) % {"counter": 2, "date": date_format(tomorrow(), "l d F")}
    assert message["Subject"] == subject


def test_a_blocked_member_gets_nothing_even_when_blocked_after_the_claim(
    team, day_ahead, smtp_server: Mailbox, django_capture_on_commit_callbacks
):
    smtp_config(team["admin"], smtp_server.port)
    accounts_services.block_member(team["tech_own"].member, actor=team["admin"].user)
    digest.schedule(evening())  # claimed, tasks not run yet
    assert sorted(DigestDelivery.objects.values_list("membership__user__email", flat=True)) == [
        "tech_all@acme.test",
        "tech_station@acme.test",
    ]
    accounts_services.block_member(team["tech_station"].member, actor=team["admin"].user)
    for delivery in DigestDelivery.objects.all():
        send_digest.call(delivery.pk)
    assert [envelope.rcpt_tos for envelope in smtp_server.envelopes] == [["tech_all@acme.test"]]
    station = DigestDelivery.objects.get(membership=team["tech_station"].member)
    assert (station.status, station.detail) == ("skipped", "member blocked or without e-mail")


def test_a_worker_that_died_while_sending_does_not_send_again(
    team, day_ahead, smtp_server: Mailbox, django_capture_on_commit_callbacks
):
    smtp_config(team["admin"], smtp_server.port)
    digest.schedule(evening())
    crashed = DigestDelivery.objects.get(membership=team["tech_all"].member)
    DigestDelivery.objects.filter(pk=crashed.pk).update(status="sending")  # died mid-send
    lost = DigestDelivery.objects.get(membership=team["tech_own"].member)  # task lost
    later = evening(18, 30)
    with django_capture_on_commit_callbacks(execute=True):
        digest.schedule(later)  # re-queues what is still QUEUED after 10 minutes
    assert sorted(envelope.rcpt_tos[0] for envelope in smtp_server.envelopes) == [
        "tech_own@acme.test",
        "tech_station@acme.test",
    ]
    assert send_digest.call(crashed.pk) == "already handled"
    lost.refresh_from_db()
    assert lost.status == "sent"
    assert len(smtp_server.envelopes) == 2


def test_the_members_own_server_goes_first_and_a_failure_is_recorded(
    team, day_ahead, smtp_server: Mailbox, django_capture_on_commit_callbacks
):
    closed = free_port()
    smtp_config(team["admin"], closed)  # the organisation's server is down
    smtp_config(
        team["admin"],
        smtp_server.port,
        membership=team["tech_all"].member,
        from_email="tech.all@acme-diag.fr",
    )
    with django_capture_on_commit_callbacks(execute=True):
        digest.schedule(evening())
    assert [(e.mail_from, e.rcpt_tos) for e in smtp_server.envelopes] == [
        ("tech.all@acme-diag.fr", ["tech_all@acme.test"])
    ]
    failed = DigestDelivery.objects.get(membership=team["tech_own"].member)
    assert failed.status == "failed"
    assert failed.detail.startswith("ConnectionRefusedError(")
    with django_capture_on_commit_callbacks(execute=True):
        digest.schedule(evening(19))
    assert len(smtp_server.envelopes) == 1, "a failed e-mail is not sent again"


def test_the_organisation_chooses_the_time_or_switches_it_off(
    team, day_ahead, smtp_server: Mailbox, django_capture_on_commit_callbacks
):
    smtp_config(team["admin"], smtp_server.port)
    services.save_settings(team["admin"].org, actor=team["admin"].user, digest_time=time(20, 30))
    with django_capture_on_commit_callbacks(execute=True):
        assert digest.schedule(evening(20, 29)) == 0
        assert digest.schedule(evening(20, 31)) == 3
    assert len(smtp_server.envelopes) == 3

    other_day = tomorrow() + timedelta(days=1)
    services.save_settings(team["admin"].org, actor=team["admin"].user, digest_enabled=False)
    tomorrow_evening = evening(21) + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert digest.schedule(tomorrow_evening) == 0
    assert not DigestDelivery.objects.filter(day=other_day).exists()
