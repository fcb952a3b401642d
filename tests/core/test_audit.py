from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from comptoir.core import audit
from comptoir.core.models import AuditChainHead, AuditEntry


def test_entries_chain_per_organisation(people):
    org = people["admin"].org
    entries = list(AuditEntry.objects.filter(chain=org.audit_chain).order_by("seq"))
    assert [entry.seq for entry in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash == audit.GENESIS
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
    head = AuditChainHead.objects.get(chain=org.audit_chain)
    assert (head.seq, head.hash) == (entries[-1].seq, entries[-1].hash)
    assert audit.verify(org)[0].ok


def test_entry_records_actor_ip_and_values(people):
    admin = people["admin"]
    with audit.request_context("203.0.113.9", "req-1"):
        entry = audit.record(
            "test.change",
            organization=admin.org,
            actor=admin.user,
            target=admin.member,
            before={"a": 1},
            after={"a": 2},
        )
    entry.refresh_from_db()
    assert entry.ip == "203.0.113.9"
    assert entry.request_id == "req-1"
    assert entry.actor_id == admin.user.pk
    assert entry.object_id == str(admin.member.public_id)
    assert (entry.before, entry.after) == ({"a": 1}, {"a": 2})


@pytest.mark.django_db(transaction=True)
def test_database_refuses_update_and_delete(people):
    entry = AuditEntry.objects.filter(organization=people["admin"].org).first()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET actor_label = 'x'")
    entry.refresh_from_db()
    assert entry.action != "forged"


@pytest.mark.django_db(transaction=True)
def test_verify_detects_an_altered_entry(people, capsys):
    org = people["admin"].org
    target = AuditEntry.objects.filter(chain=org.audit_chain, seq=3).get()
    with audit.guard_lifted(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET after = %s WHERE id = %s", ['{"role": "admin"}', target.pk]
        )
    report = audit.verify(org)[0]
    assert report.problems == ["#3: content altered (hash mismatch)"]
    with pytest.raises(CommandError) as raised:
        call_command("audit", "verify", "--org", org.slug)
    assert raised.value.returncode == 1
    assert "TAMPERED acme" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_verify_detects_a_removed_entry(people):
    org = people["admin"].org
    with audit.guard_lifted(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM core_auditentry WHERE chain = %s AND seq = 2", [org.audit_chain]
        )
    problems = audit.verify(org)[0].problems
    assert "#2: missing entry (next found is #3)" in problems
    assert "#3: previous hash does not match entry #2" in problems


def test_verify_command_passes_on_clean_log(people, capsys):
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "OK       acme:" in out and "OK       globex:" in out


def test_entries_roll_back_with_the_change(people):
    org = people["admin"].org
    count = AuditEntry.objects.filter(organization=org).count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("test.rolled_back", organization=org)
        raise RuntimeError
    assert AuditEntry.objects.filter(organization=org).count() == count
    assert audit.verify(org)[0].ok
