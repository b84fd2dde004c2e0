#!/usr/bin/env bash
# Regenerate the Go net/http captures in samples/real/ (go-*.pcap) and their logs (logs/go-*.log).
#
#   bash samples/real/make_go.sh              # all scenarios
#   bash samples/real/make_go.sh go-idle      # only the named ones
#
# Needs root (tcpdump on lo), Go (Debian golang-go, 1.19) and tcpdump. Ports 9241-9244 on
# 127.0.0.1. Per scenario: build apps_go.go once, start its server (http.Server with
# IdleTimeout) in the background and remember its PID, tcpdump on lo for the port, run its
# client (http.Client, Transport.IdleConnTimeout), stop tcpdump 1 s after the client ends, stop
# the server by its PID. Both programs log what they did (connection states, requests; the
# connection each request got, reused or not); the logs are kept next to the captures.
# See go.md for what each capture shows.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/katui-go.XXXXXX)
chmod 755 "$WORK"
SERVER_PID=
TCPDUMP_PID=

log() { printf '[make_go] %s\n' "$*" >&2; }
# shellcheck source=../scripts/capture.sh
source "$HERE/../scripts/capture.sh"

cleanup() {
    stop_capture
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v go >/dev/null || { log "go not found (apt-get install golang-go)"; exit 1; }
(cd "$WORK" && cp "$HERE/apps_go.go" . && HOME=$WORK GOCACHE=$WORK/cache GO111MODULE=off go build -o apps_go apps_go.go)
APP=$WORK/apps_go

# go_scenario NAME PORT SERVER_IDLE CLIENT_IDLE_CONN STEPS [TAIL_SLEEP]
go_scenario() {
    local name=$1 port=$2 idle=$3 idleconn=$4 steps=$5
    log "=== $name (port $port: server IdleTimeout $idle, client IdleConnTimeout $idleconn) ==="
    "$APP" server "$port" "$idle" >"$WORK/$name.server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do ss -Hltn "sport = :$port" | grep -q LISTEN && break; sleep 0.05; done
    start_capture "$WORK/$name.pcap" "$port"
    timeout 120 "$APP" client "$port" "$idleconn" "$steps" >"$WORK/$name.client.log" 2>&1
    stop_capture
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    mv "$WORK/$name.pcap" "$OUT/$name.pcap"
    chmod 644 "$OUT/$name.pcap"
    mkdir -p "$OUT/logs"
    { echo "# server (apps_go server $port $idle)"; cat "$WORK/$name.server.log"
      echo "# client (apps_go client $port $idleconn $steps)"; cat "$WORK/$name.client.log"; } >"$OUT/logs/$name.log"
    sed 's/^/    /' "$OUT/logs/$name.log" >&2
}

scenario() {
    case $1 in
    go-idle)          # reuse after 0.5 s; 1.6 s idle past the server's 1 s: a new connection
        go_scenario "$1" 9241 1s 90s get,0.5,get,1.6,get,1.5 ;;
    go-client-idle)   # the client's pool drops idle connections after 1 s (server: 10 s)
        go_scenario "$1" 9242 10s 1s get,0.5,get,2,get,0.3 ;;
    go-race)          # idle gaps around the server's 1 s IdleTimeout
        go_scenario "$1" 9243 1s 90s "$(race_steps 0.990 0.001)" ;;
    go-race-fine)     # the same in 0.1 ms steps just below and past 1 s (run until it races)
        go_scenario "$1" 9244 1s 90s "$(race_steps 0.9990 0.0001)" ;;
    *) log "unknown scenario $1"; return 2 ;;
    esac
}

ALL=(go-idle go-client-idle go-race go-race-fine)
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
for n in "${names[@]}"; do
    scenario "$n"
done
