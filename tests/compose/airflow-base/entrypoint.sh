#!/usr/bin/env bash
# The official image's entrypoint, reduced to what docker-compose.yml relies on:
#   - waits for the metadata database first (CONNECTION_CHECK_MAX_COUNT tries, default
#     20, CONNECTION_CHECK_SLEEP_TIME seconds apart; 0 = do not check),
#   - `bash ...` / `python ...` run as given, `airflow <cmd>` and a bare `<cmd>`
#     (api-server, scheduler, celery worker, ...) run as Airflow sub-commands.
set -euo pipefail

wait_for_db() {
  local tries="${CONNECTION_CHECK_MAX_COUNT:-20}" sleep_s="${CONNECTION_CHECK_SLEEP_TIME:-3}"
  [[ "${tries}" -gt 0 ]] || return 0
  local i
  for ((i = 1; i <= tries; i++)); do
    if airflow db check >/dev/null 2>&1; then
      return 0
    fi
    echo "waiting for the metadata database (${i}/${tries})" >&2
    sleep "${sleep_s}"
  done
  echo "metadata database not reachable after ${tries} tries" >&2
  airflow db check
}

# As the official entrypoint: the database check comes first, for every command.
wait_for_db

case "${1:-}" in
  "" | bash)
    [[ $# -gt 0 ]] && shift
    exec /bin/bash "$@"
    ;;
  python)
    shift
    exec python "$@"
    ;;
  airflow)
    shift
    ;;
esac
exec airflow "$@"
