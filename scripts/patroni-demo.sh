#!/usr/bin/env bash
# A Patroni cluster with synchronous_mode_strict on loopback, for trying the replica
# (docs/operations.md, "Patroni and etcd"): one etcd, two Patroni nodes of PostgreSQL 15, in a
# temporary directory, as Debian's unprivileged `postgres` user.
#
#   bash scripts/patroni-demo.sh           # start, check: a leader, a synchronous standby, a ledger
#                                          # shipped through the leader is on the standby; kill -9
#                                          # the leader, node2 takes over, node1 rejoins as its
#                                          # standby, shipping goes on through node2; stop
#   bash scripts/patroni-demo.sh --keep    # the same, then keep running until Ctrl-C
#
# Trust authentication on 127.0.0.1: a demonstration, not a configuration to deploy (the document
# gives the one to deploy, with passwords). LEDGERCTL names the ledgerctl to use (default: a debug
# build, built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1
pgbin=/usr/lib/postgresql/15/bin
if [ ! -x "$pgbin/initdb" ] || ! command -v patroni >/dev/null || ! command -v etcd >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 patroni etcd-server >/dev/null
fi
ledgerctl="${LEDGERCTL:-.build/debug/ledgerctl}"
[ -x "$ledgerctl" ] || swift build --product ledgerctl

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dir="$(mktemp -d /tmp/ledger-patroni.XXXXXX)"
chown postgres: "$dir"
as_postgres() { runuser -u postgres -- "$@"; }
gone() { ! pgrep -f "$1" >/dev/null; }
stop_all() {
    # Patroni stops its PostgreSQL on SIGTERM; etcd last; whatever is left after 30 s gets SIGKILL.
    pkill -TERM -f "patroni $dir/" 2>/dev/null || true
    for _ in $(seq 1 100); do gone "$dir/node" && break; sleep 0.3; done
    pkill -TERM -f "$dir/etcd" 2>/dev/null || true
    for _ in $(seq 1 30); do gone "$dir/" && break; sleep 0.3; done
    pkill -KILL -f "$dir/" 2>/dev/null || true
    rm -rf "$dir"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

etcd_client=$(free_port)
etcd_peer=$(free_port)
as_postgres etcd --name demo --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_client" --advertise-client-urls "http://127.0.0.1:$etcd_client" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "demo=http://127.0.0.1:$etcd_peer" >"$dir/etcd.log" 2>&1 &

declare -A api pg
for node in node1 node2; do
    api[$node]=$(free_port)
    pg[$node]=$(free_port)
    mkdir -p "$dir/$node"
    cat >"$dir/$node/patroni.yml" <<EOF
scope: tracing-ledger-demo
name: $node
restapi: {listen: 127.0.0.1:${api[$node]}, connect_address: 127.0.0.1:${api[$node]}}
etcd3: {hosts: 127.0.0.1:$etcd_client}
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 2
    retry_timeout: 5
    synchronous_mode: true
    synchronous_mode_strict: true
    postgresql:
      use_pg_rewind: true
      parameters: {synchronous_commit: "on", wal_level: replica, max_wal_senders: 10, wal_log_hints: "on"}
  initdb: [{encoding: UTF8}, {username: ledger}]
  pg_hba:
    - host replication ledger 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
    - local all all trust
postgresql:
  listen: 127.0.0.1:${pg[$node]}
  connect_address: 127.0.0.1:${pg[$node]}
  data_dir: $dir/$node/data
  bin_dir: $pgbin
  parameters: {unix_socket_directories: "$dir/$node"}
  authentication:
    superuser: {username: ledger}
    replication: {username: ledger}
EOF
    chown -R postgres: "$dir/$node"
done

wait_for() { # URL what: waits up to 90 s for a 200
    for _ in $(seq 1 300); do
        curl -sf -o /dev/null "$1" && return 0
        sleep 0.3
    done
    echo "patroni-demo: $2 did not happen within 90 s" >&2
    tail -n 20 "$dir"/node*/patroni.log >&2 || true
    exit 1
}
as_postgres patroni "$dir/node1/patroni.yml" >"$dir/node1/patroni.log" 2>&1 &
wait_for "http://127.0.0.1:${api[node1]}/primary" "node1 becoming the leader"
as_postgres patroni "$dir/node2/patroni.yml" >"$dir/node2/patroni.log" 2>&1 &
wait_for "http://127.0.0.1:${api[node2]}/synchronous" "node2 becoming the synchronous standby"
echo "patroni-demo: node1 leads on 127.0.0.1:${pg[node1]}, node2 is its synchronous standby on 127.0.0.1:${pg[node2]}"

# A small ledger shipped through the leader: with synchronous_mode_strict, each commit waited for
# node2, so the rows are on both.
url="postgres://ledger@127.0.0.1:${pg[node1]}/postgres?sslmode=disable"
ledger="$dir/demo.ledger"
"$ledgerctl" simulate --ledger "$ledger" --scale 0.001 >/dev/null
"$ledgerctl" replicate --ledger "$ledger" --to "$url"
events=$("$ledgerctl" info --ledger "$ledger" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
standby=$("$pgbin/psql" -h 127.0.0.1 -p "${pg[node2]}" -U ledger -d postgres -At -c "SELECT count(*) FROM ledger_events")
[ "$standby" = "$events" ] || { echo "patroni-demo: the standby holds $standby events of $events" >&2; exit 1; }
echo "patroni-demo: $events events shipped through node1 are on node2"

# Failover: node1's Patroni and PostgreSQL are killed (-9); node2 takes the lead once node1's leader
# key expires; node1, started again, rejoins as node2's synchronous standby (pg_rewind); shipping
# goes on through node2 from where it was.
pkill -KILL -f "patroni $dir/node1/patroni.yml"
kill -KILL "$(head -1 "$dir/node1/data/postmaster.pid")" 2>/dev/null || true
wait_for "http://127.0.0.1:${api[node2]}/primary" "node2 taking over"
as_postgres patroni "$dir/node1/patroni.yml" >>"$dir/node1/patroni.log" 2>&1 &
wait_for "http://127.0.0.1:${api[node1]}/synchronous" "node1 rejoining as the synchronous standby"
url="postgres://ledger@127.0.0.1:${pg[node2]}/postgres?sslmode=disable"
for n in 1 2 3; do
    printf '{"id":"%s","stream":"cpam-34/after-failover-%s","type":"CallPlaced","platform":"cpam-34","occurredAt":"2021-03-01T10:00:00Z","recordedAt":"2021-03-01T10:00:05Z","data":{"direction":"OUTBOUND","line":"MOBILE","outcome":"REACHED","durationSeconds":60,"agent":"a-17"}}\n' \
        "$(python3 -c 'import uuid; print(uuid.uuid4())')" "$n"
done | "$ledgerctl" append --ledger "$ledger" - >/dev/null
events=$((events + 3))
"$ledgerctl" replicate --ledger "$ledger" --to "$url"
standby=$("$pgbin/psql" -h 127.0.0.1 -p "${pg[node1]}" -U ledger -d postgres -At -c "SELECT count(*) FROM ledger_events")
[ "$standby" = "$events" ] || { echo "patroni-demo: after the failover node1 holds $standby events of $events" >&2; exit 1; }
echo "patroni-demo: failover done: node2 leads, node1 is its synchronous standby and holds all $events events"
echo "patroni-demo: give ledgerd --replicate-to '$url' --replication-mode sync"
if [ "$keep" = 1 ]; then
    echo "patroni-demo: running until Ctrl-C (files in $dir)"
    while ! gone "$dir/etcd"; do sleep 1; done
fi
