#!/usr/bin/env bash
# Starts the machine's Debian PostgreSQL cluster for the tests (if it is not running yet), makes
# the test role and database (if they do not exist yet) and prints the connection URL on stdout:
#
#   export SENSORSEAL_TEST_PG_URL="$(bash scripts/test-postgres.sh)"
#
# Idempotent. Needs root (it acts as the `postgres` user) and Debian's `postgresql` package
# (`apt-get install -y postgresql`); exits non-zero with a message on stderr otherwise.
# Used by .ci/run and by test/helpers/postgres.ts when SENSORSEAL_TEST_PG_URL is unset.
set -euo pipefail

ROLE="${SENSORSEAL_TEST_PG_ROLE:-sensorseal}"
PASSWORD="${SENSORSEAL_TEST_PG_PASSWORD:-sensorseal}"
DATABASE="${SENSORSEAL_TEST_PG_DATABASE:-sensorseal}"

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "test-postgres: PostgreSQL is not installed (apt-get install -y postgresql)" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test-postgres: must run as root to start the cluster as the postgres user" >&2
  exit 3
fi

# The first cluster on the machine; make one if the package left none.
read -r VERSION CLUSTER PORT _ < <(pg_lsclusters --no-header | head -n 1) || true
if [ -z "${VERSION:-}" ]; then
  VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
  CLUSTER=main
  pg_createcluster "$VERSION" "$CLUSTER" >&2
  read -r VERSION CLUSTER PORT _ < <(pg_lsclusters --no-header | head -n 1)
fi

# pg_ctlcluster as root runs the server as the cluster owner (postgres); no systemd needed.
if ! pg_ctlcluster "$VERSION" "$CLUSTER" status >/dev/null 2>&1; then
  pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi
for _ in $(seq 1 60); do
  if pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
  sleep 0.5
done
if ! pg_isready -q -h 127.0.0.1 -p "$PORT"; then
  echo "test-postgres: cluster $VERSION/$CLUSTER did not accept connections on 127.0.0.1:$PORT" >&2
  exit 4
fi

as_postgres() { runuser -u postgres -- "$@"; }
as_postgres psql -q -p "$PORT" -v ON_ERROR_STOP=1 -d postgres >&2 <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN
    CREATE ROLE "${ROLE}" LOGIN CREATEDB PASSWORD '${PASSWORD}';
  ELSE
    ALTER ROLE "${ROLE}" LOGIN CREATEDB PASSWORD '${PASSWORD}';
  END IF;
END
\$\$;
-- Tests drop their databases WITH (FORCE): ending every session on one, including a pool's connection
-- still starting up (no role yet), needs pg_signal_backend, else "must be a member of the role whose
-- process is being terminated" fails a test's clean-up now and then.
GRANT pg_signal_backend TO "${ROLE}";
SQL
if [ "$(as_postgres psql -p "$PORT" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${DATABASE}'")" != "1" ]; then
  as_postgres createdb -p "$PORT" -O "$ROLE" "$DATABASE" >&2
fi

echo "postgres://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}/${DATABASE}"
