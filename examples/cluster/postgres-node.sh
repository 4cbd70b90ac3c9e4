#!/bin/bash
# Run the shared PostgreSQL server of a p2pstore study on one node, as an ordinary user (no root):
# a data directory, a server listening on the cluster network, one database and one password
# role for the workers. Run it on a node the compute nodes can reach (a service node, or a
# long-running job), then point the workers at the URL it prints. See docs/cluster.md.
#
#   PGDATA=/scratch/$USER/p2pstore-pg P2PSTORE_DB_PASSWORD=SECRET examples/cluster/postgres-node.sh
#
# Settings (environment):
#   PGDATA                  data directory (default: $HOME/p2pstore-pg); created on first use
#   PGPORT                  port (default 5432)
#   P2PSTORE_DB_PASSWORD    the p2pstore role's password (required)
#   P2PSTORE_ALLOW          client addresses allowed in, CIDR (default: 10.0.0.0/8)
#   P2PSTORE_MAX_CONNECTIONS  max_connections (default 300: 5 + --concurrency per worker)
#   P2PSTORE_SHARED_BUFFERS   shared_buffers (default 2GB)

set -euo pipefail

: "${P2PSTORE_DB_PASSWORD:?set P2PSTORE_DB_PASSWORD, the password the workers will use}"
PGDATA=${PGDATA:-$HOME/p2pstore-pg}
PGPORT=${PGPORT:-5432}
ALLOW=${P2PSTORE_ALLOW:-10.0.0.0/8}
MAX_CONNECTIONS=${P2PSTORE_MAX_CONNECTIONS:-300}
SHARED_BUFFERS=${P2PSTORE_SHARED_BUFFERS:-2GB}
export PGDATA PGPORT

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    initdb --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --username="$USER" >/dev/null
    cat >> "$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
port = $PGPORT
max_connections = $MAX_CONNECTIONS
shared_buffers = $SHARED_BUFFERS
# result writes are large COPYs: fewer, larger checkpoints
max_wal_size = 8GB
checkpoint_timeout = 15min
CONF
    echo "host p2pstore p2pstore $ALLOW scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi

pg_ctl --wait --log="$PGDATA/server.log" start
psql -v ON_ERROR_STOP=1 -q -d postgres -v pw="$P2PSTORE_DB_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE p2pstore LOGIN CREATEROLE' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'p2pstore') \gexec
ALTER ROLE p2pstore PASSWORD :'pw';
SELECT 'CREATE DATABASE p2pstore OWNER p2pstore' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'p2pstore') \gexec
SQL
echo "P2PSTORE_DATABASE_URL=postgresql://p2pstore:<password>@$(hostname -f):$PGPORT/p2pstore"
