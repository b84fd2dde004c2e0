#!/usr/bin/env bash
# Captures of real nginx 1.22 and Apache httpd 2.4 (mpm_event) behaviour around
# keep-alive closes: partial requests, request limits, error closes, stalled
# readers, pre-connects, cut headers.  See nginx.md and apache.md for what each
# capture shows and the verdict an expert would give.
#
#   sudo bash samples/real/make_servers.sh                 # all scenarios
#   sudo bash samples/real/make_servers.sh nginx-413-expect   # only the named ones
#
# Each scenario: a private server (config in a mktemp -d dir, foreground mode,
# started in the background with its PID remembered) on 127.0.0.1:PORT
# (ports 9101-9130, 9401-9403; 9199 stays closed: the dead upstream of nginx-5xx), tcpdump on lo for that port, the client from
# servers_clients.py (or curl), tcpdump stopped with SIGINT 1 s after the
# client ends, the server stopped by its PID.  The server's own logs (nginx
# error_log at info + access log; Apache error log at LogLevel info/debug +
# access log with %k and %X) are printed after each scenario.
# Needs root, nginx, apache2, tcpdump, curl, tshark (the *-limit-curl*
# scenarios re-run until the wanted side's FIN wins the race), python3 with
# requests and h2 (apache-h2c-refused; the apache-h2c-* scenarios need Apache's
# mod_http2 and curl with nghttp2).  All scenarios take about 3 minutes (apache-preconnect-long alone
# ~35 s).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
PY=${PYTHON:-python3}
CLIENTS="$HERE/servers_clients.py"

WORK=$(mktemp -d /tmp/katui-servers.XXXXXX)
chmod 755 "$WORK"          # nginx workers (nobody) / apache children (www-data) read html/
SERVER_PID=
SERVER_KIND=
TCPDUMP_PID=

log() { printf '[make_servers] %s\n' "$*" >&2; }

mkdir -p "$WORK/html" "$WORK/dav"
printf 'hello from the katui server captures\n' >"$WORK/html/index.html"
cp "$WORK/html/index.html" "$WORK/html/a.txt"
head -c 2097152 /dev/zero | tr '\0' 'x' >"$WORK/html/big.bin"
head -c 10240 /dev/zero | tr '\0' 'y' >"$WORK/body10k.bin"
chmod -R a+rX "$WORK/html"

wait_listen() {   # PORT
    for _ in $(seq 100); do
        if ss -Hltn "sport = :$1" | grep -q LISTEN; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# ---------------------------------------------------------------- nginx ----
# start_nginx PORT HTTP_DIRECTIVES SERVER_DIRECTIVES [LISTEN_OPTIONS]
start_nginx() {
    local port=$1 http_extra=$2 server_body=$3 listen_opts=${4:-}
    local conf="$WORK/nginx-$port.conf"
    rm -f "$WORK/error.log" "$WORK/access.log"
    cat >"$conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections 64; }
http {
    log_format k '\$remote_addr:\$remote_port [\$time_local] "\$request" \$status '
                 '\$body_bytes_sent conn=\$connection reqs=\$connection_requests '
                 'rt=\$request_time';
    access_log $WORK/access.log k;
    default_type text/plain;
    client_body_temp_path $WORK/tmp-body;
    proxy_temp_path       $WORK/tmp-proxy;
    fastcgi_temp_path     $WORK/tmp-fastcgi;
    uwsgi_temp_path       $WORK/tmp-uwsgi;
    scgi_temp_path        $WORK/tmp-scgi;
    $http_extra
    server {
        listen 127.0.0.1:$port$listen_opts;
        $server_body
    }
}
CONF
    nginx -t -q -p "$WORK" -e "$WORK/error.log" -c "$conf"
    nginx -p "$WORK" -e "$WORK/error.log" -c "$conf" &
    SERVER_PID=$!
    SERVER_KIND=nginx
    wait_listen "$port" || { log "nginx did not start on $port"; cat "$WORK/error.log" >&2; return 1; }
}

# --------------------------------------------------------------- apache ----
# start_apache PORT EXTRA_DIRECTIVES [LOGLEVEL]
start_apache() {
    local port=$1 extra=$2 level=${3:-info}
    local conf="$WORK/apache-$port.conf"
    local m=/usr/lib/apache2/modules
    rm -f "$WORK/error.log" "$WORK/access.log"
    mkdir -p "$WORK/run"
    cat >"$conf" <<CONF
ServerRoot /etc/apache2
ServerName 127.0.0.1
DefaultRuntimeDir $WORK/run
PidFile $WORK/run/apache.pid
Mutex file:$WORK/run default
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule mime_module $m/mod_mime.so
LoadModule dir_module $m/mod_dir.so
LoadModule reqtimeout_module $m/mod_reqtimeout.so
LoadModule alias_module $m/mod_alias.so
User www-data
Group www-data
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
MinSpareThreads 1
MaxSpareThreads 16
Listen 127.0.0.1:$port
ErrorLog $WORK/error.log
LogLevel $level
LogFormat "%a:%{remote}p [%{%H:%M:%S}t.%{msec_frac}t] \"%r\" %>s %b k=%k X=%X D=%Dus" k
CustomLog $WORK/access.log k
TypesConfig /etc/mime.types
DocumentRoot $WORK/html
<Directory $WORK/html>
    Require all granted
</Directory>
DirectoryIndex index.html
$extra
CONF
    apache2 -t -f "$conf" 2>&1 | grep -v 'Syntax OK' >&2 || true
    apache2 -f "$conf" -DFOREGROUND &
    SERVER_PID=$!
    SERVER_KIND=apache
    wait_listen "$port" || { log "apache did not start on $port"; cat "$WORK/error.log" >&2; return 1; }
}

stop_server() {
    if [[ -n $SERVER_PID ]]; then
        if [[ $SERVER_KIND == nginx ]]; then
            kill -QUIT "$SERVER_PID" 2>/dev/null || true     # graceful
        else
            kill -TERM "$SERVER_PID" 2>/dev/null || true     # apache: stop
        fi
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}

# -------------------------------------------------------------- tcpdump ----
# start_capture FILE PORT [SNAPLEN] and stop_capture (tcpdump on lo, by its PID)
source "$HERE/../scripts/capture.sh"

cleanup() {
    stop_capture
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT

show_logs() {
    printf -- '--- server error log ---\n'
    # drop nginx's start/stop notices and Apache's start/stop lines
    grep -v -E '\[notice\]|\[mpm_event:notice\]|\[core:notice\]' "$WORK/error.log" 2>/dev/null \
        | sed 's/^/    /' || true
    printf -- '--- server access log ---\n'
    sed 's/^/    /' "$WORK/access.log" 2>/dev/null || true
}

# run NAME PORT SNAPLEN CLIENT-COMMAND...   (server already started)
run() {
    local name=$1 port=$2 snap=$3; shift 3
    start_capture "$WORK/$name.pcap" "$port" "$snap"
    "$@" || log "client exited with $?"
    stop_capture
    stop_server
    mv "$WORK/$name.pcap" "$OUT/$name.pcap"
    chmod 644 "$OUT/$name.pcap"
    printf '\n=== %s (port %s) ===\n' "$name" "$port"
    show_logs
}

client() { "$PY" "$CLIENTS" "$@"; }

# race BASE NAME PORT WHO: the server's FIN and the client's FIN after a
# Connection: close response race by microseconds.  Re-run scenario BASE (at
# most 25 times) until WHO's (client|server) FIN comes first in tcp.stream 0
# and keep that capture as NAME.pcap, so each file shows the order its name
# says.  Needs tshark.
race() {
    local base=$1 name=$2 port=$3 who=$4 first try
    local keep_out=$OUT
    mkdir -p "$WORK/race"
    for try in $(seq 25); do
        OUT="$WORK/race"
        scenario "$base" >"$WORK/race.log" 2>&1
        OUT=$keep_out
        first=$(tshark -r "$WORK/race/$base.pcap" -Y 'tcp.stream==0 && tcp.flags.fin==1' \
                    -T fields -e tcp.srcport 2>/dev/null | head -1)
        if [[ -n $first && ( ($who == server && $first == "$port") ||
                             ($who == client && $first != "$port") ) ]]; then
            mv "$WORK/race/$base.pcap" "$OUT/$name.pcap"
            sed "s/=== $base /=== $name (try $try) /" "$WORK/race.log"
            return 0
        fi
    done
    log "$name: the $who's FIN never came first in 25 tries"; return 1
}

TEXT='location / { return 200 "keep-alive test\n"; }'

# mod_http2 with cleartext HTTP/2 by Upgrade (h2c) next to HTTP/1.1
H2C='LoadModule http2_module /usr/lib/apache2/modules/mod_http2.so
Protocols h2c http/1.1
KeepAlive On
KeepAliveTimeout 2'

# until_output BASE NAME REGEX: re-run scenario BASE (at most 10 times) until what it printed
# (the client's and the server's logs) matches REGEX; keep that capture as NAME.pcap.
until_output() {
    local base=$1 name=$2 want=$3 try keep_out=$OUT
    mkdir -p "$WORK/race"
    for try in $(seq 10); do
        OUT="$WORK/race"
        scenario "$base" >"$WORK/race.log" 2>&1
        OUT=$keep_out
        if grep -Eq "$want" "$WORK/race.log"; then
            mv "$WORK/race/$base.pcap" "$OUT/$name.pcap"
            sed "s/=== $base /=== $name (try $try) /" "$WORK/race.log"
            return 0
        fi
    done
    log "$name: '$want' never showed in 10 tries"; return 1
}

scenario() {
    log "=== $1 ==="
    case $1 in
    # ------------------------------------------------------------- nginx
    nginx-partial-head)        # head without blank line, stall
        start_nginx 9101 'client_header_timeout 2s; keepalive_timeout 10s;' "$TEXT"
        run "$1" 9101 262144 client partial-head 9101 ;;
    nginx-partial-head-rst)    # same with reset_timedout_connection on
        start_nginx 9102 'client_header_timeout 2s; keepalive_timeout 10s; reset_timedout_connection on;' "$TEXT"
        run "$1" 9102 262144 client partial-head 9102 ;;
    nginx-partial-body)        # PUT (dav) with 10 of 100 body bytes, stall
        start_nginx 9103 'client_body_timeout 2s; keepalive_timeout 10s;' \
            "location /upload/ { root $WORK/dav; dav_methods PUT; }
        $TEXT"
        run "$1" 9103 262144 client partial-body 9103 ;;
    nginx-reused-then-partial) # 2 requests, then half a head, stall
        start_nginx 9104 'client_header_timeout 2s; keepalive_timeout 10s;' "$TEXT"
        run "$1" 9104 262144 client reused-then-partial 9104 ;;
    nginx-414-early)           # a request line past large_client_header_buffers: 414 before it ends
        start_nginx 9130 'large_client_header_buffers 2 1k; keepalive_timeout 10s;' "$TEXT"
        run "$1" 9130 262144 client long-uri-slow 9130 ;;
    nginx-413-expect)          # 413 answered before the Expect: 100-continue body
        start_nginx 9105 'client_max_body_size 1k; keepalive_timeout 10s;' "$TEXT"
        run "$1" 9105 262144 curl -sS -o /dev/null -w '%{http_code} %{num_connects}\n' \
            -H 'Expect: 100-continue' --data-binary @"$WORK/body10k.bin" \
            http://127.0.0.1:9105/upload ;;
    nginx-limit-curl)          # the run below, kept when nginx's FIN came first
        race _nginx-limit-curl "$1" 9106 server ;;
    nginx-limit-curl-clientfin)   # the same, kept when curl's FIN won the race
        race _nginx-limit-curl "$1" 9106 client ;;
    _nginx-limit-curl)         # keepalive_requests 2, curl with 3 URLs
        start_nginx 9106 'keepalive_requests 2; keepalive_timeout 10s;' "$TEXT"
        run "$1" 9106 262144 curl -sS -o /dev/null -o /dev/null -o /dev/null \
            -w '%{http_code} connects=%{num_connects}\n' \
            http://127.0.0.1:9106/c1 http://127.0.0.1:9106/c2 http://127.0.0.1:9106/c3 ;;
    nginx-limit-requests)      # keepalive_requests 2, requests.Session 3 GETs
        start_nginx 9107 'keepalive_requests 2; keepalive_timeout 10s;' "$TEXT"
        run "$1" 9107 262144 client session 9107 'get:/p1,sleep:0.2,get:/p2,sleep:0.2,get:/p3,sleep:0.3' ;;
    nginx-stalled-reader)      # send_timeout 2s, client never reads a 2 MB file
        start_nginx 9109 'send_timeout 2s; keepalive_timeout 10s;' "location / { root $WORK/html; }" ' sndbuf=32k'
        run "$1" 9109 400 client stalled-reader 9109 ;;
    nginx-stalled-reader-rst)  # same with reset_timedout_connection on
        start_nginx 9110 'send_timeout 2s; keepalive_timeout 10s; reset_timedout_connection on;' \
            "location / { root $WORK/html; }" ' sndbuf=32k'
        run "$1" 9110 400 client stalled-reader 9110 ;;
    nginx-stalled-drain)       # send_timeout 2s, client stops 4 s then drains
        start_nginx 9111 'send_timeout 2s; keepalive_timeout 10s;' "location / { root $WORK/html; }" ' sndbuf=32k'
        run "$1" 9111 400 client stalled-then-drain 9111 ;;
    nginx-snaplen)             # normal keep-alive, headers cut by tcpdump -s 70
        start_nginx 9112 'keepalive_timeout 2s;' "$TEXT"
        run "$1" 9112 70 client session 9112 'get:/s1,sleep:0.5,get:/s2,sleep:0.5,get:/s3,sleep:3' ;;
    nginx-snaplen-limit)       # request limit (server FIN right after response 2), -s 70
        start_nginx 9117 'keepalive_requests 2; keepalive_timeout 10s;' "$TEXT"
        run "$1" 9117 70 client session 9117 'get:/l1,sleep:0.2,get:/l2,sleep:0.2,get:/l3,sleep:0.3' ;;
    nginx-idle-rst)            # keepalive idle close with reset_timedout_connection on
        start_nginx 9113 'keepalive_timeout 1s; reset_timedout_connection on;' "$TEXT"
        run "$1" 9113 262144 client session 9113 'get:/i1,sleep:0.5,get:/i2,sleep:2' ;;
    nginx-preconnect)          # connect, send nothing, nginx gives up
        start_nginx 9114 'client_header_timeout 2s; keepalive_timeout 10s;' "$TEXT"
        run "$1" 9114 262144 client preconnect 9114 ;;
    nginx-unused)              # connect, send nothing, client closes
        start_nginx 9115 'client_header_timeout 2s; keepalive_timeout 10s;' "$TEXT"
        run "$1" 9115 262144 client unused 9115 ;;
    nginx-5xx)                 # 503, 502 (proxy to closed port), 500 on one session
        start_nginx 9116 'keepalive_timeout 10s;' \
            'location = /e503 { return 503; }
        location = /e502 { proxy_pass http://127.0.0.1:9199; }
        location = /e500 { return 500; }
        location / { return 200 "ok\n"; }'
        run "$1" 9116 262144 client session 9116 'get:/ok,get:/e503,get:/e502,get:/e500,get:/ok2,sleep:0.3' ;;
    # ------------------------------------------------------------ apache
    apache-idle)               # KeepAliveTimeout 2: reuse after 1 s, idle close at 2 s
        start_apache 9121 'KeepAlive On
KeepAliveTimeout 2
MaxKeepAliveRequests 100'
        run "$1" 9121 262144 client session 9121 'get:/a.txt,sleep:1,get:/a.txt,sleep:3,get:/a.txt,sleep:0.3' ;;
    apache-maxreq)             # MaxKeepAliveRequests 3, 5 GETs on one session
        start_apache 9122 'KeepAlive On
KeepAliveTimeout 10
MaxKeepAliveRequests 3'
        run "$1" 9122 262144 client session 9122 'get:/a.txt,get:/a.txt,get:/a.txt,get:/a.txt,get:/a.txt,sleep:0.3' ;;
    apache-partial-head)       # mod_reqtimeout header=2, half a head
        start_apache 9123 'KeepAlive On
KeepAliveTimeout 10
RequestReadTimeout header=2 body=2' 'info reqtimeout:debug'
        run "$1" 9123 262144 client partial-head 9123 ;;
    apache-preconnect)         # mod_reqtimeout header=2, no request at all
        start_apache 9124 'KeepAlive On
KeepAliveTimeout 10
RequestReadTimeout header=2 body=2' 'info reqtimeout:debug'
        run "$1" 9124 262144 client preconnect 9124 ;;
    apache-limit-curl)         # the run below, kept when Apache's FIN came first
        race _apache-limit-curl "$1" 9129 server ;;
    apache-limit-curl-clientfin)  # the same, kept when curl's FIN won the race
        race _apache-limit-curl "$1" 9129 client ;;
    _apache-limit-curl)        # MaxKeepAliveRequests 1, curl with 3 URLs
        start_apache 9129 'KeepAlive On
KeepAliveTimeout 10
MaxKeepAliveRequests 1'
        run "$1" 9129 262144 curl -sS -o /dev/null -o /dev/null -o /dev/null \
            -w '%{http_code} connects=%{num_connects}\n' \
            http://127.0.0.1:9129/a.txt http://127.0.0.1:9129/a.txt http://127.0.0.1:9129/a.txt ;;
    apache-preconnect-nodefer) # the same without TCP_DEFER_ACCEPT (AcceptFilter http none)
        start_apache 9127 'KeepAlive On
KeepAliveTimeout 10
AcceptFilter http none
RequestReadTimeout header=2 body=2' 'info reqtimeout:debug'
        run "$1" 9127 262144 client preconnect 9127 ;;
    apache-preconnect-long)    # default AcceptFilter, client waits up to 45 s
        start_apache 9128 'KeepAlive On
KeepAliveTimeout 10
RequestReadTimeout header=2 body=2' 'info reqtimeout:debug'
        run "$1" 9128 262144 client preconnect 9128 45 ;;
    apache-5xx)                # Redirect 503 / 500: does Apache close after them?
        start_apache 9125 'KeepAlive On
KeepAliveTimeout 10
Redirect 503 /e503
Redirect 500 /e500'
        run "$1" 9125 262144 client session 9125 'get:/a.txt,get:/e503,get:/a.txt,get:/e500,get:/a.txt,sleep:0.3' ;;
    apache-partial-body)       # mod_reqtimeout body=2, POST with 10 of 100 bytes
        start_apache 9126 'KeepAlive On
KeepAliveTimeout 10
RequestReadTimeout header=2 body=2' 'info reqtimeout:debug'
        run "$1" 9126 262144 client partial-post 9126 ;;
    # -------------------------------------------------- apache, h2c by Upgrade
    apache-h2c-curl)           # the run below, kept when one of curl's requests failed
        until_output _apache-h2c-curl "$1" '^000 ' ;;
    _apache-h2c-curl)          # Protocols h2c: curl --http2 (Upgrade: h2c), 4 URLs in a row
        start_apache 9401 "$H2C" 'info http2:debug'
        run "$1" 9401 262144 curl -sS --http2 -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
            -w '%{http_code} http/%{http_version} connects=%{num_connects} port=%{local_port}\n' \
            'http://127.0.0.1:9401/a.txt?1' 'http://127.0.0.1:9401/a.txt?2' \
            'http://127.0.0.1:9401/a.txt?3' 'http://127.0.0.1:9401/a.txt?4' ;;
    apache-h2c-refused)        # the run below, kept when stream 3 was sent before Apache's GOAWAY
        until_output _apache-h2c-refused "$1" 'stream 3: GET' ;;
    _apache-h2c-refused)       # the h2 library upgrades (stream 1), waits 0.5 s, GETs on stream 3
        start_apache 9402 "$H2C" 'info http2:debug'
        run "$1" 9402 262144 client h2c-upgrade 9402 'get:/a.txt?1,sleep:0.5,get:/a.txt?2' ;;
    apache-h2c-idle)           # the run below, kept when Apache's GOAWAY came in the final wait
        until_output _apache-h2c-idle "$1" 'server sent 24 bytes' ;;
    _apache-h2c-idle)          # h2c upgrade, one request, then idle: Timeout 4 (KeepAliveTimeout 2)
        start_apache 9403 "$H2C
Timeout 4" 'info http2:debug'
        run "$1" 9403 262144 client h2c-upgrade 9403 'get:/a.txt?1,sleep:1' ;;
    *) log "unknown scenario $1"; return 2 ;;
    esac
}

ALL=(nginx-partial-head nginx-partial-head-rst nginx-partial-body nginx-reused-then-partial
     nginx-413-expect nginx-414-early nginx-limit-curl nginx-limit-curl-clientfin nginx-limit-requests
     nginx-stalled-reader nginx-stalled-reader-rst nginx-stalled-drain nginx-snaplen
     nginx-snaplen-limit nginx-idle-rst nginx-preconnect nginx-unused nginx-5xx
     apache-idle apache-maxreq apache-limit-curl apache-limit-curl-clientfin apache-partial-head apache-partial-body apache-preconnect
     apache-preconnect-nodefer apache-preconnect-long apache-5xx apache-h2c-curl apache-h2c-refused
     apache-h2c-idle)

for tool in nginx apache2 tcpdump curl tshark; do
    command -v "$tool" >/dev/null || { log "$tool not found"; exit 1; }
done
"$PY" -c 'import requests' 2>/dev/null || { log "python3 needs requests"; exit 1; }

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
for n in "${names[@]}"; do
    scenario "$n"
done
