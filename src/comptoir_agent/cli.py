"""`comptoir-agent`: the command line of the workstation agent.

Modules are imported inside each command so that `--help`, `--version` and
`status` start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from comptoir_agent import __version__, exit_codes

if TYPE_CHECKING:
    from comptoir_agent.config import Paths
    from comptoir_agent.engine import PassResult
    from comptoir_agent.state import PassSettings, PassState

EXIT_OK, EXIT_USAGE, EXIT_AUTH = exit_codes.OK, exit_codes.USAGE, exit_codes.AUTH
EXIT_UNREACHABLE, EXIT_ATTENTION, EXIT_SAFETY = (
    exit_codes.UNREACHABLE,
    exit_codes.ATTENTION,
    exit_codes.SAFETY,
)

EPILOG = """\
exit codes:
  0  done
  1  usage error (bad arguments, unknown dossier, unreadable file)
  2  not paired, or the hub refused the station's token: pair again
  3  hub unreachable or unavailable (network, 5xx, 429/503)
  4  sync (or agenda) finished with dossiers in error (red) or in conflict (orange)
  5  safety stop: data folder missing, empty or without its sentinel,
     or too many deletions (sync --confirm-deletes)

The data folder comes from --data or the COMPTOIR_AGENT_DATA variable.
See docs/agent.md; the French user guide covers daily use.
"""


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit code 1 (documented), not 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog} : {message}")


def build_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument(
        "--data", default=argparse.SUPPRESS, help="data folder (or COMPTOIR_AGENT_DATA)"
    )
    common.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        default=argparse.SUPPRESS,
        help="no progress bars nor information messages",
    )
    parser = Parser(
        prog="comptoir-agent",
        description="Keeps this station's dossiers in step with the Comptoir hub.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"comptoir-agent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, help_text: str) -> Parser:
        p: Parser = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        return p

    pair = command("pair", "pair this data folder with the hub (code from Paramètres › Postes)")
    pair.add_argument("url", help="hub address, e.g. https://comptoir.example")
    pair.add_argument("code", help="pairing code, e.g. K7Q4-M2XP")
    pair.add_argument("--name", help="station name (default: this computer's name)")
    pair.add_argument("--force", action="store_true", help="replace an existing pairing")

    sync = command("sync", "one sync pass")
    _pass_arguments(sync)

    run = command("run", "sync every interval, inside the options' time window, until stopped")
    _pass_arguments(run, confirm=False)
    run.add_argument("--interval", type=float, default=60.0, help="seconds between passes")

    status = command("status", "each dossier's status (offline)")
    status.add_argument("--json", action="store_true", help="JSON for scripts")

    conflicts = command("conflicts", "dossiers in conflict")
    conflicts.add_argument("--json", action="store_true", help="JSON for scripts")

    resolve = command("resolve", "resolve a conflict")
    resolve.add_argument("dossier", help="dossier number or id")
    resolve.add_argument("--keep", required=True, choices=["local", "cloud", "both"])

    settings = command("settings", "push or pull the settings bundle (Parametres/*.json)")
    settings.add_argument("direction", choices=["push", "pull"])
    settings.add_argument(
        "--sections", required=True, help="comma-separated, e.g. company,dropdowns"
    )

    options = command("options", "show this station's options, or change them (--set)")
    options.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="e.g. fetch_missing=true, send_after=2024-01-01, window_start=22",
    )
    options.add_argument("--admin-password", default="", help="when the organisation set one")
    options.add_argument("--json", action="store_true", help="JSON for scripts")

    agenda = command(
        "agenda",
        "the exchange zone (today's and tomorrow's appointments, dossiers sent by hand): "
        "list it and bring its dossiers onto this station",
    )
    agenda.add_argument("--list-only", action="store_true", help="only list, fetch nothing")
    agenda.add_argument(
        "--mine", action="store_true", help="only this station's technician's appointments"
    )
    agenda.add_argument("--json", action="store_true", help="JSON for scripts")

    number = command("number", "dossier and quote numbers")
    number.add_argument("action", choices=["next", "reserve"])
    number.add_argument("series", help="dossier or quote")
    number.add_argument("--operator", default="", help="technician's initials, e.g. DUJ")
    number.add_argument("--count", type=int, default=20, help="block size for reserve")
    return parser


def _pass_arguments(parser: Parser, confirm: bool = True) -> None:
    parser.add_argument(
        "--send",
        action="store_true",
        help="send local changes even when the options say 'not systematic'",
    )
    if confirm:
        parser.add_argument(
            "--confirm-deletes",
            action="store_true",
            help="apply the cloud's deletions beyond the safety limit",
        )
    parser.add_argument(
        "--max-delete",
        metavar="N|P%",
        help="most deletions one pass applies (default: 50, or 10%% above 5)",
    )


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    if not args.command:
        build_parser().print_help()
        return EXIT_USAGE
    handler: Callable[[Any], int] = COMMANDS[args.command]
    try:
        return _guarded(handler, args)
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130


def _guarded(handler: Callable[[Any], int], args: Any) -> int:
    """Map every expected failure to its exit code and a French sentence."""
    from comptoir_agent.client import HubError, Unauthorized, Unreachable
    from comptoir_agent.config import ConfigError

    try:
        return handler(args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    except Unauthorized:
        print(
            "Jeton refusé par le cloud : ce poste a été retiré ou son jeton révoqué. "
            "Appairez-le à nouveau (comptoir-agent pair ADRESSE CODE).",
            file=sys.stderr,
        )
        return EXIT_AUTH
    except Unreachable as exc:
        print(f"Hub injoignable : {exc}. Réessayez plus tard.", file=sys.stderr)
        return EXIT_UNREACHABLE
    except HubError as exc:
        print(f"Erreur du cloud : {exc.message} ({exc.code or exc.status})", file=sys.stderr)
        return EXIT_AUTH if exc.status in (403, 404) else EXIT_UNREACHABLE


# the station's state ----------------------------------------------------------------------


def _paths(args: Any) -> Paths:
    from comptoir_agent.config import Paths, resolve_data_dir

    return Paths(resolve_data_dir(getattr(args, "data", None)))


def _quiet(args: Any) -> bool:
    return bool(getattr(args, "quiet", False))


@contextmanager
def _station(args: Any, lock: bool = True) -> Iterator[PassState]:
    """The paired station's state (journal open, client ready), locked for writing."""
    from comptoir_agent.client import HubClient
    from comptoir_agent.config import StateLock, load_station, local_today, read_token
    from comptoir_agent.journal import Journal
    from comptoir_agent.planner import DeleteLimit
    from comptoir_agent.state import Log, PassSettings, PassState

    paths = _paths(args)
    station = load_station(paths)
    client = HubClient(station.hub, read_token(paths), station.org)
    try:
        limit = DeleteLimit.parse(getattr(args, "max_delete", None))
    except ValueError as exc:
        raise UsageError(f"--max-delete invalide : {exc} (N ou P%)") from exc
    settings = PassSettings(
        send=bool(getattr(args, "send", False)),
        confirm_deletes=bool(getattr(args, "confirm_deletes", False)),
        delete_limit=limit,
        progress=not _quiet(args),
    )
    lock_cm = StateLock(paths) if lock else None
    if lock_cm is not None:
        lock_cm.__enter__()
    journal = Journal(paths.journal)
    try:
        yield PassState(paths, station, journal, client, settings, Log(_quiet(args)), local_today())
    finally:
        journal.close()
        client.close()
        if lock_cm is not None:
            lock_cm.__exit__(None, None, None)


# commands ---------------------------------------------------------------------------------


def cmd_pair(args: Any) -> int:
    import socket
    from datetime import UTC, datetime

    from comptoir_agent.client import HubClient, HubError
    from comptoir_agent.config import Station, normalise_hub_url, save_station
    from comptoir_agent.journal import Journal

    paths: Paths = _paths(args)
    hub = normalise_hub_url(args.url)
    if paths.sentinel.exists() and not args.force:
        raise UsageError(
            f"{paths.root} est déjà appairé : ajoutez --force pour remplacer cet appairage."
        )
    name = (args.name or socket.gethostname() or "Poste").strip()
    client = HubClient(hub)
    try:
        answer = client.post(
            "sync/pair",
            {
                "code": args.code.strip(),
                "name": name,
                "version": __version__,
                "platform": sys.platform,
            },
        )
    except HubError as exc:
        if exc.status >= 500:
            raise
        print(f"Appairage refusé : {exc.message}", file=sys.stderr)
        return EXIT_AUTH
    finally:
        client.close()
    try:
        station = Station(
            hub=hub,
            org=str(answer["org"]),
            organization=str(answer.get("organization") or answer["org"]),
            station=str(answer["station"]),
            name=str(answer.get("name") or name),
            paired_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        token = str(answer["token"])
    except (KeyError, TypeError) as exc:
        print(f"Réponse d'appairage incomplète : {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    paths.root.mkdir(parents=True, exist_ok=True)
    previous = _previous_org(paths)
    journal = Journal(paths.journal)
    try:
        with journal.transaction():
            if previous is not None and previous != station.org:
                journal.db.execute("DELETE FROM dossiers")
                journal.db.execute("DELETE FROM uploads")
            journal.set_meta("checkpoint", "0")
    finally:
        journal.close()
    save_station(paths, station, token)
    print(
        f"Poste « {station.name} » appairé à {station.organization} ({station.org}). "
        f"Données : {paths.root}"
    )
    return EXIT_OK


def _previous_org(paths: Paths) -> str | None:
    import json

    try:
        return str(json.loads(paths.sentinel.read_text(encoding="utf-8"))["org"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cmd_sync(args: Any) -> int:
    from comptoir_agent.engine import SyncPass

    with _station(args) as state:
        result = SyncPass(state).run()
    _print_result(result, _quiet(args))
    return result.exit_code


def _print_result(result: PassResult, quiet: bool) -> None:
    from comptoir_agent.status import summary

    if result.message:
        print(result.message, file=sys.stderr)
    if result.counts:
        print(f"Synchronisation terminée : {summary(result.counts)}.")
    if result.stats and not quiet:
        from comptoir_agent.transfer import human_size

        print(
            f"({result.stats.get('hashed_files', 0)} fichiers lus, "
            f"{human_size(result.stats.get('uploaded_bytes', 0))} envoyés, "
            f"{human_size(result.stats.get('downloaded_bytes', 0))} reçus)",
            file=sys.stderr,
        )
    for error in result.errors[:50]:
        print(
            f"  ● {error.get('number') or error.get('dossier')} : {error['reason']}",
            file=sys.stderr,
        )
    if len(result.errors) > 50:
        print(f"  … et {len(result.errors) - 50} autres (comptoir-agent status)", file=sys.stderr)


def cmd_run(args: Any) -> int:
    import contextlib
    import os
    import signal
    import sqlite3
    from datetime import UTC, datetime

    from comptoir_agent.client import HubError, Unauthorized, Unreachable
    from comptoir_agent.config import ConfigError
    from comptoir_agent.daemon import Daemon, Outcome, StopSignal
    from comptoir_agent.engine import SyncPass
    from comptoir_agent.journal import Journal
    from comptoir_agent.planner import Options
    from comptoir_agent.state import Cancelled

    stop = StopSignal()
    paths: Paths = _paths(args)

    def line(message: str) -> str:
        stamp = datetime.now(UTC).astimezone()
        return f"{stamp:%Y-%m-%d %H:%M:%S} {message}\n"

    def log(message: str) -> None:
        sys.stderr.write(line(message))
        sys.stderr.flush()

    def on_signal(signum: int, frame: object) -> None:
        # Runs in the main thread between two bytecodes, wherever it is: no lock here
        # (see StopSignal), and the line goes straight to the descriptor, not through
        # sys.stderr, whose buffer the interrupted code may be writing.
        stop.set()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        message = "Signal reçu : arrêt au prochain point sûr (un second signal interrompt)."
        with contextlib.suppress(OSError):
            os.write(sys.stderr.fileno(), line(message).encode("utf-8", "replace"))

    def attempt() -> str:
        try:
            with _station(args) as state:
                state.cancel = stop
                state.settings = _no_progress(state.settings)
                result = SyncPass(state).run()
        except Cancelled:
            return Outcome.OK
        except Unauthorized:
            log("Jeton refusé par le cloud : appairez ce poste à nouveau. Arrêt de l'agent.")
            return Outcome.STOP
        except ConfigError as exc:
            log(str(exc))
            return Outcome.STOP if exc.exit_code == EXIT_AUTH else Outcome.RETRY
        except (HubError, Unreachable, OSError, sqlite3.Error) as exc:
            log(f"Synchronisation impossible : {exc}")
            return Outcome.RETRY
        except Exception as exc:  # noqa: BLE001 - a daemon logs the unexpected and keeps going
            log(f"Erreur inattendue : {exc!r}")
            return Outcome.RETRY
        if result.message:
            log(result.message)
        from comptoir_agent.status import summary

        log(
            f"Synchronisation terminée : {summary(result.counts)}."
            if result.counts
            else "Passage terminé."
        )
        return Outcome.OK

    def options() -> Options | None:
        if not paths.journal.exists():
            return None
        journal = Journal(paths.journal)
        try:
            raw = journal.options()
        finally:
            journal.close()
        return Options.from_json(raw) if raw is not None else None

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log(
        f"comptoir-agent {__version__} : synchronisation de {paths.root} "
        f"toutes les {args.interval:.0f} s"
    )
    daemon = Daemon(attempt, options, log, interval=max(args.interval, 1.0), stop=stop)
    return daemon.run()


def _no_progress(settings: PassSettings) -> PassSettings:
    from dataclasses import replace

    return replace(settings, progress=False)


def cmd_status(args: Any) -> int:
    from comptoir_agent.engine import options_plan, scan_into
    from comptoir_agent.planner import RED, Options
    from comptoir_agent.status import render_json, render_table, rows

    with _station(args, lock=False) as state:
        stop = scan_into(state)
        if stop:
            print(stop, file=sys.stderr)
            return EXIT_SAFETY
        raw = state.journal.options()
        options = Options.from_json(raw) if raw is not None else None
        the_plan = options_plan(state, options or Options())
        numbers = {
            i: (r.number or r.remote_number, r.year or r.remote_year, r.path)
            for i, r in state.records.items()
        }
        numbers.update({i: (d.number, d.year, d.path) for i, d in state.view.local.items()})
    table = rows(the_plan, numbers)
    counts = the_plan.counts()
    if args.json:
        sys.stdout.write(render_json(table, counts, options))
    else:
        if options is None:
            print(
                "(options du cloud encore inconnues : lancez une synchronisation)", file=sys.stderr
            )
        sys.stdout.write(render_table(table, counts, sys.stdout.isatty()))
    attention = counts[RED] > 0 or any(r.conflict for r in table)
    return EXIT_ATTENTION if attention else EXIT_OK


def cmd_conflicts(args: Any) -> int:
    import json

    from comptoir_agent.conflicts import in_conflict

    with _station(args, lock=False) as state:
        found = in_conflict(state.journal.records())
    listing = [
        {
            "id": r.id,
            "number": r.number or r.remote_number,
            "year": r.year or r.remote_year,
            "path": r.path,
            "local_version_sent": r.pushed_digest is not None,
            "cloud_head": r.remote_rev,
        }
        for r in found
    ]
    if args.json:
        print(json.dumps(listing, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not listing:
        print("Aucun conflit.")
        return EXIT_OK
    for item in listing:
        sent = (
            "version locale envoyée"
            if item["local_version_sent"]
            else "conflit signalé par le cloud"
        )
        print(f"{item['number']}  {item['id']}  ({sent})")
    print(
        f"\n{len(listing)} dossier(s) en conflit : comptoir-agent resolve DOSSIER "
        "--keep local|cloud|both"
    )
    return EXIT_OK


def cmd_resolve(args: Any) -> int:
    from comptoir_agent.conflicts import ResolveError, Resolver

    with _station(args) as state:
        try:
            message = Resolver(state).resolve(args.dossier, args.keep)
        except ResolveError as exc:
            print(exc, file=sys.stderr)
            return (
                EXIT_USAGE
                if str(exc).startswith(("Dossier inconnu", "Plusieurs"))
                else EXIT_ATTENTION
            )
    print(message)
    return EXIT_OK


def cmd_settings(args: Any) -> int:
    from comptoir_agent.settings import SettingsError, parse_sections, pull, push

    try:
        sections = parse_sections(args.sections)
        with _station(args) as state:
            folder = state.paths.settings
            if args.direction == "push":
                version = push(state.client, folder, sections)
                print(f"Paramètres envoyés ({', '.join(sections)}) : version {version}.")
                return EXIT_OK
            version, written, missing = pull(
                state.client, folder, state.paths.trash, sections, state.today
            )
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    print(f"Paramètres reçus (version {version}) : {', '.join(written) or 'aucun changement'}.")
    if missing:
        print(f"Sections absentes du cloud : {', '.join(missing)}", file=sys.stderr)
        return EXIT_ATTENTION
    return EXIT_OK


def cmd_number(args: Any) -> int:
    from comptoir_agent.numbers import NumberError, next_number, reserve

    with _station(args, lock=False) as state:
        try:
            if args.action == "next":
                allocated = next_number(state.client, state.journal, args.series, args.operator)
                print(allocated.number)
                if allocated.offline:
                    print("(hub injoignable : numéro pris dans le bloc réservé)", file=sys.stderr)
                return EXIT_OK
            numbers = reserve(state.client, state.journal, args.series, args.count, args.operator)
        except NumberError as exc:
            print(exc, file=sys.stderr)
            return exc.exit_code
    print(f"{len(numbers)} numéros réservés : {numbers[0]} … {numbers[-1]}")
    return EXIT_OK


def cmd_agenda(args: Any) -> int:
    from comptoir_agent.agenda import Outcome, fetch, recall, remember, render_json, render_table
    from comptoir_agent.client import Unreachable
    from comptoir_agent.config import local_now
    from comptoir_agent.engine import SyncPass

    with _station(args, lock=not args.list_only) as state:
        try:
            zone = fetch(state.client, local_now())
        except Unreachable as exc:
            cached = recall(state.journal)
            if cached is None:
                raise
            print(
                f"Hub injoignable : {exc}. Dernière zone d'échange connue "
                f"(reçue le {cached.received_at[:16].replace('T', ' à ')}) :",
                file=sys.stderr,
            )
            zone, code = cached, EXIT_UNREACHABLE
        else:
            remember(state.journal, zone)
            code = EXIT_OK
        if args.mine:
            zone = zone.only_mine()
        outcome = Outcome.from_journal(state.journal.records())
        if not args.list_only and not zone.cached:
            result = SyncPass(state).bring(zone.dossiers())
            if result.message:
                print(result.message, file=sys.stderr)
            if result.exit_code != EXIT_SAFETY:
                outcome = Outcome(result.present, result.decisions, result.fetched)
            code = result.exit_code
    sys.stdout.write(render_json(zone, outcome) if args.json else render_table(zone, outcome))
    return code


def _option_value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in {"true", "oui", "yes", "1"}:
        return True
    if lowered in {"false", "non", "no", "0"}:
        return False
    if lowered in {"null", "none", ""}:
        return None
    try:
        return int(text)
    except ValueError:
        return text.strip()


def cmd_options(args: Any) -> int:
    import json

    from comptoir_agent.client import Unreachable

    changes: dict[str, Any] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set attend CLÉ=VALEUR, pas {item!r}")
        changes[key.strip()] = _option_value(value)
    with _station(args, lock=False) as state:
        client = state.client
        cached = False
        if changes:
            answer = client.call(
                "PUT",
                client.org_path("sync/station/options"),
                {"options": changes, "admin_password": args.admin_password},
            )
            if isinstance(answer, dict) and isinstance(answer.get("options"), dict):
                with state.journal.transaction():
                    state.journal.set_meta("options", json.dumps(answer["options"], sort_keys=True))
        else:
            try:
                answer = client.get(client.org_path("sync/station"))
            except Unreachable:
                answer, cached = {"options": state.journal.options() or {}}, True
    options = answer.get("options", {}) if isinstance(answer, dict) else {}
    if args.json:
        print(json.dumps(options, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        if cached:
            print("(hub injoignable : dernières options connues)", file=sys.stderr)
        for key in sorted(options):
            print(f"{key} = {json.dumps(options[key], ensure_ascii=False)}")
    return EXIT_OK


COMMANDS: dict[str, Callable[[Any], int]] = {
    "options": cmd_options,
    "pair": cmd_pair,
    "sync": cmd_sync,
    "run": cmd_run,
    "status": cmd_status,
    "conflicts": cmd_conflicts,
    "resolve": cmd_resolve,
    "settings": cmd_settings,
    "number": cmd_number,
    "agenda": cmd_agenda,
}


if __name__ == "__main__":
    sys.exit(main())
