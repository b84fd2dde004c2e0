#!/usr/bin/env bash
# Make the benchmark's real capture: ApacheBench against nginx on loopback, about 1M frames and
# 60k connections (the shape of a load test: many short connections and keep-alive reuse).
#
#   bash benchmarks/make_ab_capture.sh OUT.pcap [KEEPALIVE_REQUESTS] [CLOSE_REQUESTS]
#
# A private nginx 1.22 on 127.0.0.1:$PORT (default 9800; `keepalive_requests 10`, so the
# keep-alive run's connections end with the server's `Connection: close` after 10 requests,
# `keepalive_timeout 5s`, a 60-byte text body), tcpdump on lo for that port (snaplen 512: every
# head and these small bodies whole; a 64 MiB kernel buffer so nothing is dropped), then
#   ab -k -n KEEPALIVE_REQUESTS -c 8   (default 200000: ~20000 connections of 10 requests)
#   ab    -n CLOSE_REQUESTS     -c 8   (default 40000: one request per connection, HTTP/1.0)
# both bounded by -n and by `timeout`. Everything started here is stopped by its PID.
# Prints, and writes to OUT.json, what nginx's access log and tcpdump counted: the numbers
# katui and tshark are compared against.
#
# Needs root (tcpdump on lo), nginx, tcpdump, ab (apache2-utils).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUTFILE=$(realpath -m "${1:?usage: make_ab_capture.sh OUT.pcap [KEEPALIVE_REQUESTS] [CLOSE_REQUESTS]}")
KA=${2:-200000}
CLOSE=${3:-40000}
PORT=${PORT:-9800}

WORK=$(mktemp -d /tmp/katui-ab.XXXXXX)
chmod 755 "$WORK"
log() { printf '[make_ab_capture] %s\n' "$*" >&2; }
# shellcheck source=../samples/scripts/capture.sh
source "$HERE/../samples/scripts/capture.sh"

cleanup() {
    stop_capture
    stop_nginx
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in nginx tcpdump ab; do
    command -v "$tool" >/dev/null || { log "$tool not found"; exit 1; }
done

cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 256; }
http {
    log_format ka '\$connection \$connection_requests \$status "\$request" \$http_connection';
    access_log $WORK/access.log ka buffer=256k;
    default_type text/plain;
    keepalive_timeout 5s;
    keepalive_requests 10;
    server {
        listen 127.0.0.1:$PORT;
        location / { return 200 "katui benchmark: keep-alive under ApacheBench, uri \$uri\n"; }
    }
}
CONF

run_nginx "$WORK/nginx.conf" "$PORT"
CAPTURE_OPTS="-s 512 -B 65536" start_capture "$WORK/ab.pcap" "$PORT"
log "ab -k -n $KA -c 8"
timeout 600 ab -k -q -n "$KA" -c 8 "http://127.0.0.1:$PORT/ka" >"$WORK/ab-k.out" 2>&1
log "ab -n $CLOSE -c 8"
timeout 600 ab -q -n "$CLOSE" -c 8 "http://127.0.0.1:$PORT/close" >"$WORK/ab.out" 2>&1
stop_capture 2>"$WORK/tcpdump.summary"
stop_nginx                                   # flushes the buffered access log

mkdir -p "$(dirname "$OUTFILE")"
mv "$WORK/ab.pcap" "$OUTFILE"
chmod 644 "$OUTFILE"
# What the software counted: nginx's log (requests, connections, statuses), ab's own summary.
awk -v ab_k="$(grep -E 'Complete requests|Failed requests|Keep-Alive requests' "$WORK/ab-k.out" | tr -s ' ' | paste -sd';')" \
    -v ab_c="$(grep -E 'Complete requests|Failed requests' "$WORK/ab.out" | tr -s ' ' | paste -sd';')" \
    -v tcpdump="$(paste -sd';' "$WORK/tcpdump.summary")" \
    -v ka="$KA" -v nclose="$CLOSE" -v port="$PORT" '
    { requests++; conns[$1] = 1; status[$3]++ }
    END {
        n = 0; for (c in conns) n++
        printf "{\n  \"source\": \"ab against nginx on 127.0.0.1:%s\",\n", port
        printf "  \"ab_keepalive_requests\": %d,\n  \"ab_close_requests\": %d,\n", ka, nclose
        printf "  \"nginx_requests\": %d,\n  \"nginx_connections\": %d,\n", requests, n
        printf "  \"nginx_status_200\": %d,\n", status["200"]
        printf "  \"ab_k\": \"%s\",\n  \"ab\": \"%s\",\n  \"tcpdump\": \"%s\"\n}\n", ab_k, ab_c, tcpdump
    }' "$WORK/access.log" >"${OUTFILE%.pcap}.json"
cat "${OUTFILE%.pcap}.json" >&2
