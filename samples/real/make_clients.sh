#!/usr/bin/env bash
# Regenerate the clients-*.pcap captures: real HTTP clients (httpx, aiohttp,
# requests/urllib3, curl, ab, wrk) against a private nginx 1.22 per scenario.
#
# For each scenario: write an nginx config into a temp dir (daemon off,
# 1 worker, access_log with $connection/$connection_requests/$request_time/
# $msec, error_log at info), start nginx in the background and remember its
# PID, start tcpdump on lo for the scenario's port, run the client (output
# with wall-clock timestamps), stop tcpdump with SIGINT 1 s after the client
# ends, stop nginx by its PID, then print the client output and nginx's logs
# (these are what samples/real/clients.md quotes).
#
# Needs root (tcpdump on lo), nginx, tcpdump, python3 with httpx, aiohttp,
# requests; curl, ab (apache2-utils), wrk.  Ports 9301-9399 on 127.0.0.1.
#
#   bash samples/real/make_clients.sh                # all scenarios
#   bash samples/real/make_clients.sh httpx-expiry   # only the named ones
#
# Timing based: every run gives new timestamps/ports/sequence numbers, and a
# frame number can shift by one; the verdicts stay the same.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
PY=${PYTHON:-python3}
CLIENTS="$HERE/clients_real.py"

WORK=$(mktemp -d /tmp/katui-clients.XXXXXX)
chmod 755 "$WORK"
NGINX_PID=
TCPDUMP_PID=
SDIR=

log() { printf '[make_clients] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- nginx ----
# start_nginx PORT HTTP_DIRECTIVES SERVER_DIRECTIVES   (logs in $SDIR)
start_nginx() {
    local port=$1 http_extra=$2 server_body=$3
    local conf="$SDIR/nginx.conf"
    cat >"$conf" <<CONF
$(WORK=$SDIR nginx_main "$SDIR/nginx.pid")
http {
    log_format ka '\$remote_addr:\$remote_port msec=\$msec conn=\$connection '
                  'conn_reqs=\$connection_requests "\$request" \$status '
                  'bytes=\$bytes_sent rt=\$request_time '
                  'ua="\$http_user_agent" conn_hdr="\$http_connection"';
    access_log $SDIR/access.log ka;
    $(WORK=$SDIR nginx_temp_paths)
    $http_extra
    server {
        listen 127.0.0.1:$port;
        $server_body
    }
}
CONF
    WORK=$SDIR run_nginx "$conf" "$port"
}

# run_nginx, stop_nginx, start_capture, stop_capture: shared (each started process is stopped
# by its PID); their logs go to $WORK, here the scenario's $SDIR
source "$HERE/../scripts/capture.sh"

trap capture_cleanup EXIT

# ------------------------------------------------------------- scenario ----
# run_scenario NAME PORT HTTP_DIRECTIVES SERVER_DIRECTIVES CLIENT_FUNCTION
# -> $OUT/clients-NAME.pcap; client output and nginx logs printed to stderr
run_scenario() {
    local name=$1 port=$2 http_extra=$3 server_body=$4 client=$5
    log "=== clients-$name (port $port) ==="
    SDIR="$WORK/$name"; mkdir -p "$SDIR"; chmod 755 "$SDIR"
    start_nginx "$port" "$http_extra" "$server_body"
    WORK=$SDIR start_capture "$SDIR/capture.pcap" "$port"
    "$client" "$port" >"$SDIR/client.log" 2>&1 || log "client exited with status $?"
    WORK=$SDIR stop_capture
    stop_nginx
    mv "$SDIR/capture.pcap" "$OUT/clients-$name.pcap"
    chmod 644 "$OUT/clients-$name.pcap"
    {
        printf -- '--- clients-%s: client output ---\n' "$name"; cat "$SDIR/client.log"
        printf -- '--- clients-%s: nginx access.log ---\n' "$name"; cat "$SDIR/access.log"
        printf -- '--- clients-%s: nginx error.log (without start/stop notices) ---\n' "$name"
        grep -v -e 'using the "epoll"' -e 'nginx/1' -e 'built by' -e 'OS: ' \
            -e 'getrlimit' -e 'start worker' -e 'signal ' -e 'gracefully shutting' \
            -e 'exiting' -e 'exit$' -e 'worker process' -e 'shutting down' \
            "$SDIR/error.log" || true
        printf -- '--- clients-%s: %s bytes ---\n' "$name" "$(stat -c %s "$OUT/clients-$name.pcap")"
    } >&2
}

# a fixed-text answer for every URI (Content-Length, keep-alive)
RETURN_TEXT='location / { return 200 "keep-alive test $uri\n"; }'

# wall-clock stamp for shell-driven clients
stamp() { printf '%s [client] %s\n' "$(date +%s.%6N)" "$*"; }

py_client() { "$PY" "$CLIENTS" "$1" "$2"; }

c_httpx_expiry()            { py_client httpx-expiry "$1"; }
c_aiohttp_timer()           { py_client aiohttp-timer "$1"; }
c_aiohttp_timer_late()      { py_client aiohttp-timer-late "$1"; }
c_requests_server_idle()    { py_client requests-server-idle "$1"; }
c_race_httpx()              { py_client race-httpx "$1"; }
c_race_requests()           { py_client race-requests "$1"; }
c_stale_requests()          { py_client stale-requests "$1"; }
c_stale_httpx()             { py_client stale-httpx "$1"; }
c_single_idle()             { py_client single-idle "$1"; }
c_new_session_per_request() { py_client new-session-per-request "$1"; }
c_httpx_no_keepalive()      { py_client httpx-no-keepalive "$1"; }

c_curl_multi() {   # one curl invocation, three URLs: one connection reused
    local u="http://127.0.0.1:$1"
    stamp "curl -sv $u/c1 $u/c2 $u/c3"
    curl -sv "$u/c1" "$u/c2" "$u/c3" 2>&1 | grep -E '^(\* |< HTTP|> GET|keep-alive)' || true
    stamp "curl exited"
}

c_curl_separate() {   # three curl runs 0.2 s apart: one connection each
    local u="http://127.0.0.1:$1" i
    for i in 1 2 3; do
        stamp "curl -sv $u/s$i"
        curl -sv "$u/s$i" 2>&1 | grep -E '^(\* |< HTTP|> GET|keep-alive)' || true
        stamp "curl exited"
        [[ $i == 3 ]] || sleep 0.2
    done
}

c_ab() {   # HTTP/1.0, no keep-alive
    stamp "ab -n 10 -c 2 http://127.0.0.1:$1/ab"
    ab -n 10 -c 2 "http://127.0.0.1:$1/ab" 2>&1 |
        grep -E 'Server Software|Complete requests|Failed requests|Keep-Alive requests|Non-2xx' || true
    stamp "ab exited"
}

c_ab_k() {   # HTTP/1.0 with Connection: Keep-Alive
    stamp "ab -k -n 10 -c 2 http://127.0.0.1:$1/abk"
    ab -k -n 10 -c 2 "http://127.0.0.1:$1/abk" 2>&1 |
        grep -E 'Server Software|Complete requests|Failed requests|Keep-Alive requests|Non-2xx' || true
    stamp "ab exited"
}

c_wrk() {   # 1 s of load on 2 connections; nginx throttles it (limit_req)
    stamp "wrk -t1 -c2 -d1s http://127.0.0.1:$1/wrk"
    wrk -t1 -c2 -d1s "http://127.0.0.1:$1/wrk" 2>&1 || true
    stamp "wrk exited"
}

scenario() {
    case $1 in
    httpx-expiry)          # 1: httpx keepalive_expiry=2, expired only when the 3rd request comes
        run_scenario httpx-expiry 9301 'keepalive_timeout 10s;' "$RETURN_TEXT" c_httpx_expiry ;;
    aiohttp-timer)         # 2: aiohttp keepalive_timeout=2, closes idle connections on a timer
        run_scenario aiohttp-timer 9302 'keepalive_timeout 10s;' "$RETURN_TEXT" c_aiohttp_timer ;;
    aiohttp-timer-late)    # 2b: same, but the timer tick comes 1 s into the idle: closed at 3 s idle
        run_scenario aiohttp-timer-late 9316 'keepalive_timeout 10s;' "$RETURN_TEXT" c_aiohttp_timer_late ;;
    requests-server-idle)  # 3: nginx closes at 2 s idle; urllib3 reconnects
        run_scenario requests-server-idle 9303 'keepalive_timeout 2s;' "$RETURN_TEXT" c_requests_server_idle ;;
    race-httpx)            # 4: idle gaps 0.995..1.005 s against keepalive_timeout 1s
        run_scenario race-httpx 9304 'keepalive_timeout 1s;' "$RETURN_TEXT" c_race_httpx ;;
    race-requests)
        run_scenario race-requests 9305 'keepalive_timeout 1s;' "$RETURN_TEXT" c_race_requests ;;
    stale-requests)        # 4, deterministic: urllib3's dropped-connection check patched out
        run_scenario stale-requests 9306 'keepalive_timeout 1s;' "$RETURN_TEXT" c_stale_requests ;;
    stale-httpx)           # 4, deterministic: httpcore's is_readable check patched out
        run_scenario stale-httpx 9307 'keepalive_timeout 1s;' "$RETURN_TEXT" c_stale_httpx ;;
    curl-multi)            # 5a
        run_scenario curl-multi 9308 'keepalive_timeout 10s;' "$RETURN_TEXT" c_curl_multi ;;
    curl-separate)         # 5b
        run_scenario curl-separate 9309 'keepalive_timeout 10s;' "$RETURN_TEXT" c_curl_separate ;;
    ab)                    # 6a
        run_scenario ab 9310 'keepalive_timeout 10s;' "$RETURN_TEXT" c_ab ;;
    ab-k)                  # 6b
        run_scenario ab-k 9311 'keepalive_timeout 10s;' "$RETURN_TEXT" c_ab_k ;;
    wrk)                   # 7: keepalive_requests 5; limit_req keeps the capture small
        # (limit_req runs after `return`, so this location serves a static file)
        mkdir -p "$WORK/html"; printf 'wrk test\n' >"$WORK/html/wrk"; chmod -R a+rX "$WORK/html"
        run_scenario wrk 9312 \
            'keepalive_timeout 10s; keepalive_requests 5;
    limit_req_zone $server_port zone=wrk:1m rate=20r/s;' \
            "location / { root $WORK/html; limit_req zone=wrk burst=100; }" c_wrk ;;
    single-idle)           # 8: one GET, server idle close at 2 s, client exits at 3 s
        run_scenario single-idle 9313 'keepalive_timeout 2s;' "$RETURN_TEXT" c_single_idle ;;
    new-session-per-request)  # 9: the true "not reusing" case
        run_scenario new-session-per-request 9314 'keepalive_timeout 10s;' "$RETURN_TEXT" c_new_session_per_request ;;
    httpx-no-keepalive)    # 9b: client pool keeps no idle connection
        run_scenario httpx-no-keepalive 9315 'keepalive_timeout 10s;' "$RETURN_TEXT" c_httpx_no_keepalive ;;
    *) log "unknown scenario $1"; return 2 ;;
    esac
}

ALL=(httpx-expiry aiohttp-timer aiohttp-timer-late requests-server-idle race-httpx race-requests stale-requests
     stale-httpx curl-multi curl-separate ab ab-k wrk single-idle new-session-per-request
     httpx-no-keepalive)

for tool in nginx tcpdump curl ab wrk; do
    command -v "$tool" >/dev/null || { log "$tool not found"; exit 1; }
done

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
for n in "${names[@]}"; do
    scenario "$n"
done
