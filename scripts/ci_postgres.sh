#!/usr/bin/env bash
# Start a throwaway PostgreSQL + PostGIS server for the test suite and print its URL.
#
#   eval "$(scripts/ci_postgres.sh start)"   # exports GDGIS_TEST_DATABASE_URL, GDGIS_PG_DIR
#   scripts/ci_postgres.sh stop              # stops the server and removes its directory
#   eval "$(scripts/ci_postgres.sh replica)" # a streaming replica of it (pg_basebackup):
#                                            # exports GDGIS_TEST_REPLICA_URL
#   scripts/ci_postgres.sh replica-stop      # stops the replica (replica starts it again)
#
# Idempotent: installs Debian's postgresql + postgis packages only if they are missing,
# reuses a running server in the same directory. The cluster lives in a temporary
# directory (GDGIS_PG_DIR, default /tmp/gdgis-pg) and listens only on a Unix socket in
# that directory (no TCP port, so several clusters never clash), trusts local connections
# (a CI machine only) and is tuned for speed, not durability (fsync off).
# Runs as root (switching to the postgres user for the server) or as any other user.
set -euo pipefail

PG_VERSION="${GDGIS_PG_VERSION:-15}"
PG_DIR="${GDGIS_PG_DIR:-/tmp/gdgis-pg}"
PG_PORT="${GDGIS_PG_PORT:-54329}"
PG_DB="${GDGIS_PG_DB:-gdgis_test}"
PG_BIN="/usr/lib/postgresql/${PG_VERSION}/bin"

log() { echo "ci_postgres: $*" >&2; }

as_server_user() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}

install_packages() {
    if [ -x "${PG_BIN}/postgres" ] && \
       [ -f "/usr/share/postgresql/${PG_VERSION}/extension/postgis.control" ]; then
        return
    fi
    log "installing postgresql-${PG_VERSION} and postgis from Debian packages"
    if [ "$(id -u)" != 0 ]; then
        log "not root: install postgresql-${PG_VERSION}-postgis-3 first"; exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q "postgresql-${PG_VERSION}" "postgresql-${PG_VERSION}-postgis-3" >&2
}

start_server() {
    mkdir -p "${PG_DIR}"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "${PG_DIR}"; fi
    if [ ! -f "${PG_DIR}/data/PG_VERSION" ]; then
        log "initdb in ${PG_DIR}/data"
        as_server_user "${PG_BIN}/initdb -D '${PG_DIR}/data' -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >'${PG_DIR}/initdb.log' 2>&1"
    fi
    if as_server_user "${PG_BIN}/pg_ctl -D '${PG_DIR}/data' status" >/dev/null 2>&1; then
        log "server already running in ${PG_DIR}"
        return
    fi
    # fsync/full_page_writes off: a crash loses this throwaway cluster, never real data.
    as_server_user "${PG_BIN}/pg_ctl -D '${PG_DIR}/data' -l '${PG_DIR}/server.log' -w -t 60 \
        -o \"-p ${PG_PORT} -k ${PG_DIR} -c listen_addresses='' -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
        -c shared_buffers=256MB -c wal_level=replica -c max_wal_senders=4\" start" >&2
}

create_database() {
    local psql="${PG_BIN}/psql -h ${PG_DIR} -p ${PG_PORT} -U postgres -v ON_ERROR_STOP=1 -qAt"
    if [ "$(as_server_user "${psql} -d postgres -c \"SELECT 1 FROM pg_database WHERE datname='${PG_DB}'\"")" != 1 ]; then
        as_server_user "${psql} -d postgres -c 'CREATE DATABASE ${PG_DB}'" >&2
    fi
    as_server_user "${psql} -d ${PG_DB} -c 'CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pg_trgm'" >&2
}

REPLICA_PORT="${GDGIS_PG_REPLICA_PORT:-$((PG_PORT + 1))}"

start_replica() {
    # A hot standby streaming from the primary, made with pg_basebackup (-R writes
    # primary_conninfo and standby.signal). The primary runs with wal_level=replica and
    # max_wal_senders; initdb --auth=trust's pg_hba.conf has "local replication all trust".
    # Same socket directory, the next port. A
    # replication slot (-C -S) keeps the WAL the replica has not received yet: test
    # databases are copied whole on the primary, faster than a busy replica replays.
    # fsync off as on the primary: replaying every test database must stay cheap.
    if [ ! -f "${PG_DIR}/replica/PG_VERSION" ]; then
        log "pg_basebackup into ${PG_DIR}/replica"
        as_server_user "${PG_BIN}/pg_basebackup -h '${PG_DIR}' -p ${PG_PORT} -U postgres \
            -D '${PG_DIR}/replica' -R -X stream -c fast -C -S gdgis_replica" >&2
    fi
    if as_server_user "${PG_BIN}/pg_ctl -D '${PG_DIR}/replica' status" >/dev/null 2>&1; then
        log "replica already running"
        return
    fi
    as_server_user "${PG_BIN}/pg_ctl -D '${PG_DIR}/replica' -l '${PG_DIR}/replica.log' -w -t 60 \
        -o \"-p ${REPLICA_PORT} -k ${PG_DIR} -c listen_addresses='' -c hot_standby=on \
        -c max_connections=200 -c fsync=off -c full_page_writes=off\" start" >&2
}

stop_replica() {
    if [ -f "${PG_DIR}/replica/PG_VERSION" ]; then
        as_server_user "${PG_BIN}/pg_ctl -D '${PG_DIR}/replica' -m fast -w stop" >&2 || true
    fi
}

stop_server() {
    stop_replica
    if [ -f "${PG_DIR}/data/PG_VERSION" ]; then
        as_server_user "${PG_BIN}/pg_ctl -D '${PG_DIR}/data' -m fast -w stop" >&2 || true
    fi
    rm -rf "${PG_DIR}"
}

case "${1:-start}" in
    start)
        install_packages
        start_server
        create_database
        url="postgresql+psycopg://postgres@/${PG_DB}?host=${PG_DIR}&port=${PG_PORT}"
        echo "export GDGIS_TEST_DATABASE_URL='${url}'"
        echo "export GDGIS_PG_DIR='${PG_DIR}'"
        ;;
    stop)
        stop_server
        ;;
    replica)
        start_replica
        url="postgresql+psycopg://postgres@/${PG_DB}?host=${PG_DIR}&port=${REPLICA_PORT}"
        echo "export GDGIS_TEST_REPLICA_URL='${url}'"
        ;;
    replica-stop)
        stop_replica
        ;;
    *)
        echo "usage: $0 [start|stop|replica|replica-stop]" >&2; exit 2
        ;;
esac
