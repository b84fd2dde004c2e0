#!/usr/bin/env bash
# Regenerate the sample captures in this directory.
#
# For each scenario: start a private nginx on 127.0.0.1:PORT (config written to
# a temp dir), start tcpdump on loopback for that port, run the matching client
# from scripts/clients.py, stop tcpdump with SIGINT, stop nginx.
#
# Needs root (tcpdump on lo), nginx (nginx-light is enough), tcpdump, tshark
# (only for the summary at the end) and python3 with `requests` (installed with
# pip if missing).  Ports 8081-8088 must be free.
#
#   bash samples/make_samples.sh            # all scenarios
#   bash samples/make_samples.sh httptest   # only the named ones
#
# The captures are timing based: nothing is random, but every run produces new
# timestamps, ports and sequence numbers, so re-running changes the files.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
PY=${PYTHON:-python3}
CLIENTS="$HERE/scripts/clients.py"

WORK=$(mktemp -d /tmp/katui-samples.XXXXXX)
chmod 755 "$WORK"          # nginx workers run as nobody and must read html/

log() { printf '[make_samples] %s\n' "$*" >&2; }
# shellcheck source=scripts/capture.sh
source "$HERE/scripts/capture.sh"

# ---------------------------------------------------------------- nginx ----
# start_nginx PORT HTTP_DIRECTIVES SERVER_DIRECTIVES
start_nginx() {
    local port=$1 http_extra=$2 server_body=$3
    local conf="$WORK/nginx-$port.conf"
    rm -f "$WORK/error.log"
    cat >"$conf" <<CONF
$(nginx_main "$WORK/nginx.pid")
http {
    access_log off;
    $(nginx_temp_paths)
    $http_extra
    server {
        listen 127.0.0.1:$port;
        $server_body
    }
}
CONF
    run_nginx "$conf" "$port"
}

trap capture_cleanup EXIT

# ------------------------------------------------------------- scenario ----
# run_scenario NAME PORT HTTP_DIRECTIVES SERVER_DIRECTIVES
# -> $OUT/NAME.pcap
run_scenario() {
    local name=$1 port=$2 http_extra=$3 server_body=$4
    log "=== $name (port $port) ==="
    start_nginx "$port" "$http_extra" "$server_body"
    start_capture "$WORK/$name.pcap" "$port"
    "$PY" "$CLIENTS" "$name" "$port"
    stop_capture
    stop_nginx
    mv "$WORK/$name.pcap" "$OUT/$name.pcap"
    chmod 644 "$OUT/$name.pcap"
}

# a fixed-text answer for every URI
RETURN_TEXT='location / { return 200 "keep-alive test\n"; }'

scenario() {
    case $1 in
    httptest)       # the blog post's experiment, verbatim
        run_scenario httptest 8081 'keepalive_timeout 5s;' "$RETURN_TEXT" ;;
    close-client)   # client asks for Connection: close
        run_scenario close-client 8082 'keepalive_timeout 30s;' "$RETURN_TEXT" ;;
    close-server)   # server refuses keep-alive
        run_scenario close-server 8083 'keepalive_timeout 0;' "$RETURN_TEXT" ;;
    http10)         # HTTP/1.0 without keep-alive
        run_scenario http10 8084 'keepalive_timeout 30s;' "$RETURN_TEXT" ;;
    request-limit)  # nginx closes after 3 requests on a connection
        run_scenario request-limit 8085 'keepalive_requests 3; keepalive_timeout 30s;' "$RETURN_TEXT" ;;
    stale-reuse)    # client reuses a connection the server already closed -> RST
        run_scenario stale-reuse 8086 'keepalive_timeout 1s;' "$RETURN_TEXT" ;;
    client-idle)    # client closes its idle connection itself
        run_scenario client-idle 8087 'keepalive_timeout 30s;' "$RETURN_TEXT" ;;
    pipelining)     # 3 pipelined requests, /b is ~8 KB served from a file
        mkdir -p "$WORK/html"
        "$PY" -c 'import sys; sys.stdout.write(("pipelined big body " * 421)[:7999] + "\n")' >"$WORK/html/b"
        chmod -R a+rX "$WORK/html"
        run_scenario pipelining 8088 'keepalive_timeout 30s;' \
            "location = /b { root $WORK/html; }
        location / { return 200 \"pipelined \$uri\\n\"; }" ;;
    port-reuse)     # one client port used for 3 connections in a row -> 3 tcp.streams
        run_scenario port-reuse 8089 'keepalive_timeout 30s;' "$RETURN_TEXT" ;;
    *) log "unknown scenario $1"; return 2 ;;
    esac
}

ALL=(httptest close-client close-server http10 request-limit stale-reuse client-idle pipelining
     port-reuse)

for tool in nginx tcpdump; do
    command -v "$tool" >/dev/null || { log "$tool not found (apt-get install nginx-light tcpdump)"; exit 1; }
done
if ! "$PY" -c 'import requests' 2>/dev/null; then
    log "installing requests"
    "$PY" -m pip install -q requests
fi

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
for n in "${names[@]}"; do
    scenario "$n"
done

# Check each new capture with tshark (the ports are not all HTTP ports for
# tshark, hence decode-as).  VERBOSE=1 also prints tshark's frame listing.
if command -v tshark >/dev/null; then
    files=()
    for n in "${names[@]}"; do files+=("$OUT/$n.pcap"); done
    if [[ ${VERBOSE:-0} == 1 ]]; then
        for n in "${names[@]}"; do
            port=$(tshark -r "$OUT/$n.pcap" -T fields -e tcp.dstport -c 1 2>/dev/null)
            printf '\n--- %s.pcap (%s bytes) ---\n' "$n" "$(stat -c %s "$OUT/$n.pcap")"
            tshark -n -r "$OUT/$n.pcap" -d "tcp.port==$port,http" 2>/dev/null || true
        done
    fi
    "$PY" "$HERE/scripts/check_samples.py" "${files[@]}"
else
    log "tshark not found: captures not checked"
fi
