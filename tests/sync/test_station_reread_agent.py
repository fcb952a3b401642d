"""End to end: “Relire depuis le début” on a station's page, and the agent against the real
hub (pytest-django's live server).

The button raises the station's `reread`; the agent's next pass reads the change feed
from `since=0` (re-listing dossiers it had forgotten, changing nothing local) and records
the value only once the feed pass is over, so a pass cut short reads it all again.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from comptoir.dossiers.models import Dossier
from comptoir.sync import configure, services
from comptoir.sync.models import Station as StationRow
from comptoir_agent import engine
from comptoir_agent.client import HubClient, Unreachable
from comptoir_agent.config import Paths
from comptoir_agent.journal import Journal
from tests.agenda.factories import a_dossier
from tests.agent.conftest import Station
from tests.conftest import Persona, make_org

pytestmark = pytest.mark.django_db(transaction=True)

ASKED = "Relecture complète demandée depuis le cloud"


@dataclass
class Feed:
    """The `since` of each change-feed request the agent makes; `lose` drops the answer
    of the request with that index (the hub answered, the station never got it)."""

    asked: list[int] = field(default_factory=list)
    lose: set[int] = field(default_factory=set)
    calls: int = 0


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch) -> Feed:
    spy = Feed()
    real: Callable[[HubClient, str], Any] = HubClient.get

    def get(client: HubClient, path: str) -> Any:
        answer = real(client, path)
        found = re.search(r"/sync/changes\?since=(\d+)", path)
        if found:
            spy.asked.append(int(found.group(1)))
            spy.calls += 1
            if spy.calls in spy.lose:
                raise Unreachable("réponse perdue")
        return answer

    monkeypatch.setattr(HubClient, "get", get)
    return spy


@dataclass
class Scene:
    people: dict[str, Persona]
    agent: Station
    row: StationRow
    dossiers: list[Dossier]

    def press(self) -> None:
        admin = self.people["admin"]
        url = f"/o/{admin.org.slug}/parametres/postes/{self.row.public_id}/relire/"
        assert admin.client().post(url).status_code == 302

    def folder(self, dossier: Dossier) -> Path:
        return self.agent.root / str(dossier.year) / dossier.number

    def journal(self) -> Journal:
        return Journal(Paths(self.agent.root).journal)

    def sync(self) -> Any:
        result = self.agent("sync")
        assert result.code == 0, result.err
        return result


def scene(live_server: Any, tmp_path: Path, dossiers: int = 2) -> Scene:
    """A station that fetches every dossier (`fetch_missing`), paired and synced once."""
    people = make_org("acme", "Acme Diagnostics")
    admin, tech = people["admin"], people["tech_all"]
    made = [a_dossier(people, tech.member) for _ in range(dossiers)]
    row, code = services.add_station(admin.org, "Tablette", member=tech.member, actor=admin.user)
    configure.set_station_options(
        row, {"fetch_missing": True}, own_settings=True, admin_password=None, actor=admin.user
    )
    agent = Station(tmp_path / "poste")
    assert agent("pair", live_server.url, code).code == 0
    here = Scene(people, agent, row, made)
    here.sync()
    for dossier in made:
        assert (here.folder(dossier) / "dossier.json").exists()
    return here


def test_after_the_button_the_next_pass_reads_the_feed_from_the_start(live_server, tmp_path, feed):
    here = scene(live_server, tmp_path)
    kept, forgotten = here.dossiers
    # The data folder went back to before `forgotten` (restored): neither the folder nor
    # the journal know it, and the checkpoint is past it, so a pass does not bring it back.
    shutil.rmtree(here.folder(forgotten))
    journal = here.journal()
    with journal.transaction():
        journal.forget(str(forgotten.public_id))
    checkpoint = journal.checkpoint()
    journal.close()
    assert checkpoint > 0
    kept_json = here.folder(kept) / "dossier.json"
    kept_before = (kept_json.read_bytes(), kept_json.stat().st_mtime_ns)
    feed.asked.clear()
    plain = here.sync()
    assert feed.asked == [checkpoint]
    assert not here.folder(forgotten).exists()
    assert ASKED not in plain.err

    here.press()
    feed.asked.clear()
    reread = here.sync()
    assert feed.asked == [0]
    assert reread.err.count(ASKED) == 1
    brought = here.agent.read({"year": forgotten.year, "number": forgotten.number})
    assert brought["id"] == str(forgotten.public_id)
    # nothing local was rewritten or put away
    assert (kept_json.read_bytes(), kept_json.stat().st_mtime_ns) == kept_before
    trash = Paths(here.agent.root).trash
    assert not trash.exists() or not any(trash.iterdir())

    feed.asked.clear()
    after = here.sync()
    assert feed.asked and 0 not in feed.asked
    assert ASKED not in after.err
    journal = here.journal()
    assert journal.get_meta("reread") == "1"
    journal.close()


def test_a_reread_cut_short_is_read_again_at_the_next_pass(
    live_server, tmp_path, feed, monkeypatch
):
    here = scene(live_server, tmp_path)
    monkeypatch.setattr(engine, "MAX_FEED_PAGE", 1)  # one dossier per page: two pages
    here.press()
    feed.asked.clear()
    feed.lose = {feed.calls + 2}  # the second page's answer is lost
    cut = here.agent("sync")
    assert cut.code != 0
    assert feed.asked[0] == 0 and len(feed.asked) == 2
    journal = here.journal()
    assert journal.get_meta("reread") is None  # not honoured yet
    assert journal.checkpoint() == feed.asked[1]  # the first page was recorded
    journal.close()

    feed.asked.clear()
    again = here.sync()
    assert feed.asked[0] == 0
    assert ASKED in again.err
    feed.asked.clear()
    here.sync()
    assert feed.asked and 0 not in feed.asked


def test_a_hub_restored_to_a_lower_count_still_gets_its_next_request(live_server, tmp_path, feed):
    here = scene(live_server, tmp_path, dossiers=1)
    here.press()
    here.press()
    here.sync()
    # The hub's database comes back from a backup taken before those two presses.
    StationRow.objects.filter(pk=here.row.pk).update(reread=0)
    feed.asked.clear()
    here.sync()
    assert 0 not in feed.asked  # nothing asked: no re-read
    here.press()
    feed.asked.clear()
    here.sync()
    assert feed.asked == [0]
