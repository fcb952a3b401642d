"""The `comptoir` command: Comptoir's own verbs, then every Django management command."""

from __future__ import annotations

import os
import sys

USAGE = """\
usage: comptoir <command> [options]

Comptoir's commands:
  serve [--port 8000] [--host 127.0.0.1] [--workers N] [--with-worker]
                              serve the web application
  demo [--reset]              load the demo organisations (safe to re-run)
  generate --org SLUG [--members N] …
                              make large data sets for benchmarks
  worker                      run background jobs (e-mails, …)
  migrate                     create or update the database
  createorg NAME --slug SLUG --kind business|firm|vendor --admin-email EMAIL
                              provision an organisation and e-mail its first
                              administrator a set-up link
  token create --org SLUG --member EMAIL --name NAME [--read-only]
                              print a new personal API token
  station add --org SLUG NAME [--member EMAIL]
                              register a field station, print its pairing code
  station list --org SLUG     the stations, their state and last contact
  station housekeeping        expire unfinished uploads, run due cloud clean-ups
  agenda digests              queue the evening e-mails that are due (cron, every 15 min)
  agenda feed-url --org SLUG --member EMAIL [--regenerate]
                              print a member's calendar subscription address
  audit verify [--org SLUG]   check the audit log's hash chains
  roles_doc [--check]         write docs/roles.md from the role matrix

Every Django management command works too (comptoir help lists them).
Settings come from the environment: DATABASE_URL, COMPTOIR_DATA_DIR,
COMPTOIR_STORAGE_URL, REDIS_URL, SECRET_KEY or SECRET_KEY_FILE, EMAIL_URL…
(see docs/operations.md).
"""


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    if len(args) < 2 or args[1] in {"-h", "--help"}:
        print(USAGE, end="")
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
    from django.core.management import execute_from_command_line

    if args[1] == "migrate":
        execute_from_command_line(args)
        execute_from_command_line([args[0], "createcachetable"])
        return
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
