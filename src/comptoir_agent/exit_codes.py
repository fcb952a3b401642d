"""The exit codes scripts can rely on (docs/agent.md, "Exit codes")."""

OK = 0
USAGE = 1  # bad arguments, unknown dossier, unreadable settings file, folder busy
AUTH = 2  # not paired, or the hub refused the token
UNREACHABLE = 3  # network, 429/5xx after retries
ATTENTION = 4  # finished with dossiers in error (red) or in conflict
SAFETY = 5  # data folder missing, empty or without its sentinel; too many deletions
