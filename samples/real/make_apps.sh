#!/usr/bin/env bash
# Regenerate the Node / uvicorn / gunicorn / HAProxy captures in samples/real/.
#
#   bash samples/real/make_apps.sh                 # all scenarios
#   bash samples/real/make_apps.sh node-ka-default  # only the named ones
#
# Needs root (tcpdump on lo), node (Debian nodejs 20), haproxy (2.6), tcpdump,
# tshark (summary only), python3 with requests, uvicorn and gunicorn.
# Ports 9201-9235 on 127.0.0.1 must be free (9230 must stay unused: haproxy-503's dead backend).
#
# Per scenario: start the real server in the foreground (its log to a file in
# a mktemp -d dir) in the background, remember its PID, start tcpdump on lo
# for the port, run the client from apps_clients.py, stop tcpdump with SIGINT
# 1 s after the client ends, stop the server by its PID, print its log.
# See node.md, python-servers.md and haproxy.md for what each capture shows.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
PY=${PYTHON:-python3}
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ next to apps_pyapp.py
CLIENTS="$HERE/apps_clients.py"
NODE_APP="$HERE/apps_node_server.js"

WORK=$(mktemp -d /tmp/katui-apps.XXXXXX)
chmod 755 "$WORK"
SERVER_PIDS=()
TCPDUMP_PID=

log() { printf '[make_apps] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- servers --
wait_listen() {   # wait_listen PORT PID LOGFILE
    local port=$1 pid=$2 logf=$3
    for _ in $(seq 200); do
        if ss -Hltn "sport = :$port" | grep -q LISTEN; then return 0; fi
        kill -0 "$pid" 2>/dev/null || { cat "$logf" >&2; return 1; }
        sleep 0.05
    done
    log "nothing listening on $port"; cat "$logf" >&2; return 1
}

# start_server PORT LOGFILE CMD...   (CMD stays in the foreground; we background it)
start_server() {
    local port=$1 logf=$2; shift 2
    "$@" >"$logf" 2>&1 &
    local pid=$!
    SERVER_PIDS+=("$pid")
    wait_listen "$port" "$pid" "$logf"
}

stop_servers() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${SERVER_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    SERVER_PIDS=()
}

start_node() {   # start_node MODE PORT LOGFILE
    start_server "$2" "$3" node "$NODE_APP" "$1" "$2"
}

# haproxy_conf FILE PORT DEFAULTS_EXTRA FRONTEND_EXTRA [MORE_SECTIONS]
haproxy_conf() {
    local file=$1 port=$2 defaults_extra=$3 frontend_extra=$4 more=${5:-}
    cat >"$file" <<CONF
global
    log stdout format raw local0 debug
    pidfile $WORK/haproxy-$port.pid

defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout server 2s
$defaults_extra

frontend fe$port
    bind 127.0.0.1:$port
$frontend_extra
    http-request return status 200 content-type text/plain string "ok\n"${HAP_RETURN_COND:+ $HAP_RETURN_COND}
$more
CONF
}

start_haproxy() {   # start_haproxy CONF PORT LOGFILE
    haproxy -c -q -f "$1"
    start_server "$2" "$3" haproxy -db -f "$1"
}

# -------------------------------------------------------------- tcpdump ----
# start_capture FILE PORT [SNAPLEN] and stop_capture (tcpdump on lo, by its PID)
source "$HERE/../scripts/capture.sh"

cleanup() {
    stop_capture
    stop_servers
    rm -rf "$WORK"
}
trap cleanup EXIT

# finish NAME LOGFILE: stop capture and servers, move the capture, show the log
finish() {
    local name=$1 logf=$2
    stop_capture
    stop_servers
    mv "$WORK/$name.pcap" "$OUT/$name.pcap"
    chmod 644 "$OUT/$name.pcap"
    log "--- server log of $name ---"
    sed 's/^/    /' "$logf" >&2
}

client() { "$PY" "$CLIENTS" "$@"; }

# --------------------------------------------------------------- scenarios --
# node_scenario NAME MODE PORT CLIENT-ARGS...
node_scenario() {
    local name=$1 mode=$2 port=$3; shift 3
    log "=== $name (node $mode, port $port) ==="
    start_node "$mode" "$port" "$WORK/$name.log"
    start_capture "$WORK/$name.pcap" "$port"
    client "$@"
    finish "$name" "$WORK/$name.log"
}

# py_scenario NAME PORT "CLIENT ARGS" SERVER-CMD...   (CLIENT ARGS: one word-split string)
py_scenario() {
    local name=$1 port=$2 cargs=$3; shift 3
    log "=== $name (port $port) ==="
    start_server "$port" "$WORK/$name.log" "$@"
    start_capture "$WORK/$name.pcap" "$port"
    # shellcheck disable=SC2086
    client $cargs
    finish "$name" "$WORK/$name.log"
}

# haproxy_scenario NAME PORT DEFAULTS_EXTRA FRONTEND_EXTRA CLIENT-ARGS...
haproxy_scenario() {
    local name=$1 port=$2 dx=$3 fx=$4; shift 4
    log "=== $name (haproxy, port $port) ==="
    haproxy_conf "$WORK/$name.cfg" "$port" "$dx" "$fx"
    start_haproxy "$WORK/$name.cfg" "$port" "$WORK/$name.log"
    start_capture "$WORK/$name.pcap" "$port"
    client "$@"
    finish "$name" "$WORK/$name.log"
}

# haproxy_check NAME TARGET_PORT FRONT_PORT BACKEND_LINES: HAProxy health-checks a
# Node server on TARGET_PORT; the capture is of TARGET_PORT only, ~2.5 s.
haproxy_check() {
    local name=$1 tport=$2 fport=$3 backend=$4
    log "=== $name (haproxy checks node on $tport) ==="
    start_node target "$tport" "$WORK/$name.node.log"
    haproxy_conf "$WORK/$name.cfg" "$fport" '    timeout client 5s' '' "$backend"
    start_capture "$WORK/$name.pcap" "$tport"
    start_haproxy "$WORK/$name.cfg" "$fport" "$WORK/$name.log"
    sleep 2.5
    stop_servers            # haproxy and node (both by PID)
    stop_capture
    mv "$WORK/$name.pcap" "$OUT/$name.pcap"
    chmod 644 "$OUT/$name.pcap"
    log "--- haproxy log of $name ---"; sed 's/^/    /' "$WORK/$name.log" >&2
    log "--- node log of $name ---"; sed 's/^/    /' "$WORK/$name.node.log" >&2
}

# haproxy_503 NAME PORT: frontend -> backend whose only server (127.0.0.1:9230) has
# nothing listening: HAProxy answers 503 itself.  Client: Session get,0.3,get,0.1.
haproxy_503() {
    local name=$1 port=$2
    log "=== $name (haproxy, port $port, dead backend) ==="
    HAP_RETURN_COND='unless { path_beg /app }' \
    haproxy_conf "$WORK/$name.cfg" "$port" $'    timeout client 10s\n    timeout http-keep-alive 2s\n    retries 1' \
        '    use_backend dead if { path_beg /app }' \
        $'backend dead\n    server down1 127.0.0.1:9230'
    start_haproxy "$WORK/$name.cfg" "$port" "$WORK/$name.log"
    start_capture "$WORK/$name.pcap" "$port"
    client session "$port" get,0.3,get,0.1 /app
    finish "$name" "$WORK/$name.log"
}

KA_STEPS=get,1,get,3,get      # reuse after 1 s, idle 3 s past a 2 s timeout, new conn

scenario() {
    case $1 in
    node-ka-default)     # Node defaults: advertises timeout=5
        node_scenario "$1" ka-default 9201 session 9201 get,2,get,7 ;;
    node-ka-2s)          # server.keepAliveTimeout = 2000
        node_scenario "$1" ka-2s 9202 session 9202 get,1,get,4 ;;
    node-headers-timeout) # headersTimeout 2000 / requestTimeout 3000, partial head
        node_scenario "$1" headers-timeout 9203 partial 9203 8 ;;
    node-bad-request)    # malformed header line -> Node's own 400
        node_scenario "$1" bad-request 9204 badreq 9204 ;;
    node-503-close)      # app sets Connection: close on a 503 (3rd request)
        node_scenario "$1" close-503 9205 session 9205 get,0.3,get,0.3,get,1 ;;
    node-upgrade)        # 101 Switching Protocols, echo, app closes after 3 s
        node_scenario "$1" upgrade 9206 upgrade 9206 ;;
    node-client-rst)     # client closes with SO_LINGER 0 after its last response
        node_scenario "$1" client-rst 9207 rst 9207 ;;

    node-silent)         # headersTimeout 2000 etc.; a connection that sends nothing
        node_scenario "$1" headers-timeout 9209 silent 9209 6 ;;
    node-preconnect-race) # headersTimeout 2000 (checked every 500 ms): silent pre-connected
        # sockets whose request leaves 2.0-2.5 s after connecting, around Node's 408
        node_scenario "$1" headers-timeout 9234 prerace 9234 "${PRERACE_AT:-2.0}" "${PRERACE_STEP:-0.0125}" \
            "${PRERACE_N:-40}" ;;
    node-sse)            # server-sent events, one a second; curl and requests leave the stream
        node_scenario "$1" sse 9235 sse 9235 ;;
    node-partial-body)   # requestTimeout 3000: POST with 10 of 100 body bytes
        node_scenario "$1" partial-body 9210 partialbody 9210 8 ;;
    node-stalled-reader) # server.timeout 2000; client stops reading a 2 MB response
        node_scenario "$1" stalled 9218 stall 9218 6 ;;
    node-stalled-default) # server.timeout 2000, Node's default timeout handling
        node_scenario "$1" stalled-default 9219 stall 9219 6 ;;
    node-max-requests)   # server.maxRequestsPerSocket = 2
        node_scenario "$1" max-requests 9208 session 9208 get,0.3,get,0.3,get,0.3,get,1 ;;

    uvicorn-partial)     # --timeout-keep-alive 2, partial request head (h11 has no header timeout)
        py_scenario "$1" 9215 "partial 9215 6" "$PY" -m uvicorn --app-dir "$HERE" apps_pyapp:asgi \
            --host 127.0.0.1 --port 9215 --timeout-keep-alive 2 --log-level trace ;;
    gunicorn-gthread-partial) # gthread --keep-alive 2, partial request head
        py_scenario "$1" 9216 "partial 9216 6" "$PY" -m gunicorn --chdir "$HERE" -k gthread --threads 2 \
            --keep-alive 2 -w 1 -b 127.0.0.1:9216 --log-level debug --access-logfile - --no-control-socket \
            apps_pyapp:wsgi ;;
    uvicorn-silent)      # --timeout-keep-alive 2; a connection that sends nothing
        py_scenario "$1" 9217 "silent 9217 6" "$PY" -m uvicorn --app-dir "$HERE" apps_pyapp:asgi \
            --host 127.0.0.1 --port 9217 --timeout-keep-alive 2 --log-level trace ;;
    uvicorn-ka2)
        py_scenario "$1" 9211 "session 9211 $KA_STEPS" "$PY" -m uvicorn --app-dir "$HERE" apps_pyapp:asgi \
            --host 127.0.0.1 --port 9211 --timeout-keep-alive 2 --log-level trace ;;
    uvicorn-default)     # uvicorn's default --timeout-keep-alive (5)
        py_scenario "$1" 9212 "session 9212 get,2,get,7" "$PY" -m uvicorn --app-dir "$HERE" apps_pyapp:asgi \
            --host 127.0.0.1 --port 9212 --log-level trace ;;
    gunicorn-gthread)
        py_scenario "$1" 9213 "session 9213 $KA_STEPS" "$PY" -m gunicorn --chdir "$HERE" -k gthread --threads 2 \
            --keep-alive 2 -w 1 -b 127.0.0.1:9213 --log-level debug --access-logfile - --no-control-socket \
            apps_pyapp:wsgi ;;
    gunicorn-sync)       # default sync worker: no keep-alive
        py_scenario "$1" 9214 "session 9214 $KA_STEPS" "$PY" -m gunicorn --chdir "$HERE" \
            --keep-alive 2 -w 1 -b 127.0.0.1:9214 --log-level debug --access-logfile - --no-control-socket \
            apps_pyapp:wsgi ;;

    haproxy-ka)          # timeout http-keep-alive 2s
        haproxy_scenario "$1" 9221 $'    timeout client 10s\n    timeout http-keep-alive 2s' '' \
            session 9221 "$KA_STEPS" ;;
    haproxy-nolinger)    # same + option nolinger on the frontend
        haproxy_scenario "$1" 9222 $'    timeout client 10s\n    timeout http-keep-alive 2s' \
            '    option nolinger' session 9222 "$KA_STEPS" ;;
    haproxy-timeout-client) # timeout client 2s (no http-request timeout), partial head
        haproxy_scenario "$1" 9225 '    timeout client 2s' '' partial 9225 6 ;;
    haproxy-http-request-timeout) # timeout http-request 2s (client 10s), partial head
        haproxy_scenario "$1" 9228 $'    timeout client 10s\n    timeout http-request 2s' '' partial 9228 6 ;;
    haproxy-silent)      # timeout http-request 2s; a connection that sends nothing
        haproxy_scenario "$1" 9231 $'    timeout client 10s\n    timeout http-request 2s' '' silent 9231 6 ;;
    haproxy-silent-ignore-probes) # same + option http-ignore-probes
        haproxy_scenario "$1" 9232 $'    timeout client 10s\n    timeout http-request 2s' \
            '    option http-ignore-probes' silent 9232 6 ;;
    haproxy-preconnect-race) # timeout http-request 2s; silent pre-connected sockets whose
        # requests leave around the timeout (1.996-2.0075 s in 0.5 ms steps): the 408 race
        haproxy_scenario "$1" 9233 $'    timeout client 10s\n    timeout http-request 2s' '' \
            prerace 9233 "${PRERACE_AT:-1.996}" "${PRERACE_STEP:-0.0005}" "${PRERACE_N:-24}" ;;
    haproxy-503)         # backend server refuses connections -> HAProxy's own 503
        haproxy_503 "$1" 9229 ;;
    haproxy-tcpcheck)    # layer-4 checks every 500 ms: connect, close, no request
        haproxy_check "$1" 9223 9226 $'backend be\n    option log-health-checks\n    server node1 127.0.0.1:9223 check inter 500' ;;
    haproxy-httpchk)     # HTTP checks every 500 ms
        haproxy_check "$1" 9224 9227 $'backend be\n    option log-health-checks\n    option httpchk\n    http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost\n    server node1 127.0.0.1:9224 check inter 500' ;;
    *) log "unknown scenario $1"; return 2 ;;
    esac
}

ALL=(node-ka-default node-ka-2s node-headers-timeout node-bad-request node-503-close
     node-upgrade node-client-rst node-max-requests node-silent node-partial-body node-stalled-reader
     node-stalled-default node-preconnect-race node-sse
     uvicorn-ka2 uvicorn-default gunicorn-gthread gunicorn-sync uvicorn-partial gunicorn-gthread-partial
     uvicorn-silent
     haproxy-ka haproxy-nolinger haproxy-timeout-client haproxy-http-request-timeout haproxy-503
     haproxy-silent haproxy-silent-ignore-probes haproxy-preconnect-race
     haproxy-tcpcheck haproxy-httpchk)

for tool in node haproxy tcpdump; do
    command -v "$tool" >/dev/null || { log "$tool not found (apt-get install nodejs haproxy tcpdump)"; exit 1; }
done
"$PY" -c 'import requests, uvicorn, gunicorn' 2>/dev/null || {
    log "installing requests uvicorn gunicorn"; "$PY" -m pip install -q requests uvicorn gunicorn; }

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
for n in "${names[@]}"; do
    scenario "$n"
done

if command -v tshark >/dev/null; then
    for n in "${names[@]}"; do
        port=$(tshark -r "$OUT/$n.pcap" -T fields -e tcp.dstport -c 1 2>/dev/null)
        printf '\n--- %s.pcap (%s bytes) ---\n' "$n" "$(stat -c %s "$OUT/$n.pcap")" >&2
        tshark -n -r "$OUT/$n.pcap" -d "tcp.port==$port,http" >&2 2>/dev/null || true
    done
fi
