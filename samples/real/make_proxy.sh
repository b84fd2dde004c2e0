#!/usr/bin/env bash
# Make the proxy captures in this directory: both legs of a reverse proxy, one file each.
#
#   proxy-nginx-natural  nginx (upstream keepalive 4) on 127.0.0.1:9442 in front of Node 20 on
#                        127.0.0.1:9441 (keepAliveTimeout 2000 ms: closes after 3.0 s idle); 15
#                        requests after idle gaps of 2.950..3.050 s, GET and POST alternating
#                        (hoping for the natural race)
#   proxy-nginx-race     nginx on [::1]:9444 (IPv6 front) in front of Node on 127.0.0.1:9443
#                        (keepAliveTimeout 1000 ms): a GET and a POST each sent on an upstream
#                        connection Node is closing, made deterministic by pausing nginx
#   proxy-nginx-concurrent  nginx on 127.0.0.1:9452 in front of Node on 127.0.0.1:9451: three
#                        clients send the same GET 50 ms apart, answered out of order
#   proxy-nginx-two-backends  nginx on 127.0.0.1:9455: /api/ to Node on 9453 (closes after 2 s
#                        idle), /py/ to uvicorn on 9454 (--timeout-keep-alive 1); a POST raced
#                        at uvicorn and a GET raced at Node, paused as in proxy-nginx-race
#   proxy-nginx-forwarded  nginx on 10.77.0.1:9456 in front of Node on 10.77.0.3:9457
#                        (keepAliveTimeout 1000 ms), connecting upstream from 10.77.0.2
#                        (proxy_bind: the proxy's two addresses differ) and adding
#                        X-Forwarded-For / X-Real-IP; clients on 10.77.0.10 and .11 (the
#                        addresses are added to lo for the run and removed after), sending
#                        their own X-Request-Id; a GET and a POST raced as in proxy-nginx-race
#   proxy-nginx-rewrite  nginx on 127.0.0.1:9458 in front of Node on 127.0.0.1:9459
#                        (keepAliveTimeout 1000 ms), replacing path prefixes on the way
#                        (/api/x -> /v1/x, /old/x -> /new/x; other paths unchanged); a GET raced
#   proxy-chain          a chain of two proxies: nginx on 127.0.0.1:9462 (upstream keepalive 4)
#                        -> HAProxy on 9463 (timeout http-keep-alive 1s: closes nginx's idle
#                        upstream connections) -> Node on 9464 (keepAliveTimeout 1000); a GET
#                        and a POST raced on the nginx -> HAProxy leg as in proxy-nginx-race
#   proxy-haproxy-reuse  HAProxy 2.6 (http-reuse safe) on 127.0.0.1:9446 in front of nginx on
#                        127.0.0.1:9445 (keepalive_timeout 2s); two clients taking turns
#   proxy-haproxy-race   HAProxy on 127.0.0.1:9448 in front of Node on 127.0.0.1:9447, which
#                        resets a request arriving after 1 s idle (an emulated race): a GET and
#                        a POST raced; HAProxy's default retry-on
#   proxy-haproxy-retry  the same with 'retry-on conn-failure empty-response' (9450 -> 9449)
#   proxy-varnish-idle   Varnish 7.1 on 127.0.0.1:9465 (timeout_idle 2 s) in front of nginx on
#                        127.0.0.1:9466 (keepalive_timeout 10s): two GETs, 3 s idle, a third;
#                        Varnish passes nginx's Server header and adds Via
#   proxy-haproxy-idle   HAProxy on 127.0.0.1:9467 (timeout http-keep-alive 2s) in front of nginx
#                        on 127.0.0.1:9468 (keepalive_timeout 10s), the client as in
#                        proxy-varnish-idle; HAProxy passes nginx's Server header on, adds no Via
#   proxy-nginx-tls      nginx terminating TLS 1.3 (listen ssl, self-signed certificate made here)
#                        on 127.0.0.1:9761, plain HTTP upstream to Node on 127.0.0.1:9760
#                        (keepAliveTimeout 1000 ms, below nginx's upstream keepalive_timeout of
#                        60 s): the race client as in proxy-nginx-race, over HTTPS, writing its
#                        key log to proxy-nginx-tls.keys
#
# Each run writes NAME.pcap and the servers' own logs, logs/NAME.*.log, next to this script.
# Needs root (tcpdump), nginx, haproxy, node, tcpdump and python3 with requests and uvicorn
# (installed with pip if missing), openssl for proxy-nginx-tls. Ports 9441-9464 and 9760-9761
# must be free. Configs live in a private temp
# dir. Every process started here is stopped by its own PID.
#
#   bash samples/real/make_proxy.sh                      # all scenarios
#   bash samples/real/make_proxy.sh proxy-nginx-race     # only the named ones
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
PY=${PYTHON:-python3}
CLIENTS="$HERE/proxy_clients.py"

WORK=$(mktemp -d /tmp/katui-proxy.XXXXXX)
chmod 755 "$WORK"
PIDS=()          # servers started by this script, stopped in reverse order
TCPDUMP_PID=

log() { printf '[make_proxy] %s\n' "$*" >&2; }

wait_listen() {  # wait_listen PORT PID
    local port=$1 pid=$2
    for _ in $(seq 100); do
        if ss -Hltn "sport = :$port" | grep -q LISTEN; then return 0; fi
        kill -0 "$pid" 2>/dev/null || { log "process $pid died before listening on $port"; return 1; }
        sleep 0.05
    done
    log "nothing listening on $port"; return 1
}

start() {  # start PORT STOP_SIGNAL LOGFILE COMMAND... : run COMMAND in the background, wait for PORT
    local port=$1 sig=$2 logfile=$3; shift 3
    "$@" >"$logfile" 2>&1 &
    local pid=$!
    PIDS+=("$pid:$sig")
    wait_listen "$port" "$pid"
    LAST_PID=$pid
}

stop_servers() {
    local i pid sig
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[i]%%:*} sig=${PIDS[i]#*:}
        kill -CONT "$pid" 2>/dev/null || true          # in case a client left it stopped
        kill "-$sig" "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}

start_capture() {  # start_capture FILE PORT...
    local file=$1 ports=$2 p; shift 2
    for p in "$@"; do ports="$ports or tcp port $p"; done
    : >"$WORK/tcpdump.err"
    # -i any holds both legs (and IPv6 and IPv4 alike); -U and --immediate-mode so the last
    # packets are written before SIGINT; -Z root so tcpdump may write into $WORK. In immediate
    # mode each ring slot holds a whole snap length (256 KiB): the default 2 MiB buffer holds 8
    # packets and a burst on loopback overflows it, hence -B (KiB).
    tcpdump -i any -B 65536 -U --immediate-mode -Z root -w "$file" \
        "tcp portrange 9401-9799 and (tcp port $ports)" 2>"$WORK/tcpdump.err" &
    TCPDUMP_PID=$!
    for _ in $(seq 200); do
        if grep -q "listening on" "$WORK/tcpdump.err"; then return 0; fi
        kill -0 "$TCPDUMP_PID" 2>/dev/null || { cat "$WORK/tcpdump.err" >&2; return 1; }
        sleep 0.05
    done
    log "tcpdump did not start"; return 1
}

stop_capture() {
    if [[ -n $TCPDUMP_PID ]]; then
        kill -INT "$TCPDUMP_PID" 2>/dev/null || true
        wait "$TCPDUMP_PID" 2>/dev/null || true
        TCPDUMP_PID=
        sed -n '/packets/p' "$WORK/tcpdump.err" >&2 || true
        if ! grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.err"; then
            log "tcpdump dropped packets: run again"; return 1
        fi
    fi
}

LO_ADDRS=(10.77.0.1 10.77.0.2 10.77.0.3 10.77.0.10 10.77.0.11)
ADDED_ADDRS=()
add_lo_addrs() {  # the extra hosts of proxy-nginx-forwarded, on loopback only
    local a
    for a in "${LO_ADDRS[@]}"; do
        if ! ip -4 addr show dev lo | grep -q " $a/"; then
            ip addr add "$a/32" dev lo
            ADDED_ADDRS+=("$a")
        fi
    done
}

cleanup() {
    set +e   # a failing step (tcpdump already gone) must not skip stopping servers and addresses
    stop_capture
    stop_servers
    local a
    for a in "${ADDED_ADDRS[@]}"; do ip addr del "$a/32" dev lo 2>/dev/null || true; done
    if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

temp_paths() {
    local d=$WORK/$1
    mkdir -p "$d"
    echo "client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fcgi;
    uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;"
}

# nginx_main NAME: the main context; one process (master_process off), so the PID started here
# is the one serving (the race client stops and resumes it by that PID)
nginx_main() {
    printf 'worker_processes 1;\nmaster_process off;\ndaemon off;\npid %s;\n' "$WORK/$1.pid"
    printf 'error_log %s info;\nevents { worker_connections 64; }\n' "$WORK/${1%-*}.nginx-error.log"
}

# proxy_log NAME RID_VARIABLE: the front nginx's access log, one line per client request with
# every upstream try (address and status) and the request id variable's value
proxy_log() {
    cat <<CONF
log_format proxy '\$msec \$remote_addr:\$remote_port conn=\$connection req=\$connection_requests '
                     '"\$request" \$status up=\$upstream_addr upstatus=\$upstream_status '
                     'uptime=\$upstream_response_time rid=\$$2${FRONT_TLS:+ tls=\$ssl_protocol '
                     'reused=\$ssl_session_reused}';
    access_log $WORK/$1.nginx-access.log proxy;
    ${FRONT_TLS:-}
CONF
}

# proxy_conf_head NAME RID_VARIABLE UPSTREAM ADDRESS [UPSTREAM ADDRESS ...]: a front nginx's
# config up to its server block: main context, access log, temp paths and one upstream block
# (keepalive 4) per name and address
proxy_conf_head() {
    local name=$1 rid=$2; shift 2
    nginx_main "$name-front"
    printf 'http {\n    %s\n    %s\n' "$(proxy_log "$name" "$rid")" "$(temp_paths "$name-front")"
    while (($# >= 2)); do
        printf '    upstream %s {\n        server %s;\n        keepalive 4;\n    }\n' "$1" "$2"
        shift 2
    done
}

# nginx_front NAME LISTEN BACKEND_PORT [PY_PORT] -> $WORK/NAME-front.conf
# /api/ goes to the backend on BACKEND_PORT, /py/ (with PY_PORT) to the one on PY_PORT
nginx_front() {
    cat >"$WORK/$1-front.conf" <<CONF
$(proxy_conf_head "$1" request_id node "127.0.0.1:$3" py "127.0.0.1:${4:-$3}")
    server {
        listen $2;
        location /api/ {
            proxy_pass http://node/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Request-Id \$request_id;
        }
        location /py/ {
            proxy_pass http://py/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Request-Id \$request_id;
        }
    }
}
CONF
}

# nginx_forwarded NAME LISTEN BACKEND BIND -> $WORK/NAME-front.conf: /api/ to BACKEND (address:port)
# from the local address BIND, naming the client in X-Forwarded-For and X-Real-IP and passing
# the client's own X-Request-Id on (nginx forwards request headers as they came)
nginx_forwarded() {
    cat >"$WORK/$1-front.conf" <<CONF
$(proxy_conf_head "$1" http_x_request_id node "$3")
    server {
        listen $2;
        location /api/ {
            proxy_pass http://node/;
            proxy_bind $4;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP \$remote_addr;
        }
    }
}
CONF
}

# nginx_rewrite NAME LISTEN BACKEND_PORT -> $WORK/NAME-front.conf: prefixes replaced on the way
# upstream (/api/x -> /v1/x, /old/x -> /new/x) and one path passed as it came (/x -> /x)
nginx_rewrite() {
    local loc
    cat >"$WORK/$1-front.conf" <<CONF
$(proxy_conf_head "$1" request_id node "127.0.0.1:$3")
    server {
        listen $2;
$(for loc in "/api/ http://node/v1/" "/old/ http://node/new/" "/ http://node"; do
    printf '        location %s { proxy_pass %s; proxy_http_version 1.1; proxy_set_header Connection ""; }\n' $loc
done)
    }
}
CONF
}

# nginx_backend NAME PORT KEEPALIVE_TIMEOUT -> $WORK/NAME-backend.conf
nginx_backend() {
    cat >"$WORK/$1-backend.conf" <<CONF
$(nginx_main "$1-backend")
http {
    log_format conn '\$msec \$remote_addr:\$remote_port conn=\$connection req=\$connection_requests '
                    '"\$request" \$status';
    access_log $WORK/$1.nginx-access.log conn;
    keepalive_timeout $3;
    $(temp_paths "$1-backend")
    server {
        listen 127.0.0.1:$2;
        location / { return 200 "nginx \$request_method \$uri\n"; }
    }
}
CONF
}

# haproxy_front NAME PORT BACKEND_PORT SERVER_NAME [BACKEND_DIRECTIVE] -> $WORK/NAME-haproxy.cfg
haproxy_front() {
    cat >"$WORK/$1-haproxy.cfg" <<CONF
global
    log stdout format raw local0 info
    nbthread 1
defaults
    mode http
    log global
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 10s
frontend fe
    bind 127.0.0.1:$2
    # option httplog's format, plus the source port of the upstream connection (%bi:%bp)
    log-format "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r upstream_src=%bi:%bp"
    default_backend be
backend be
    http-reuse safe
    ${5:-}
    server $4 127.0.0.1:$3
CONF
}

save_logs() {  # save_logs NAME
    mkdir -p "$OUT/logs"
    local f
    for f in "$WORK/$1".*.log; do
        [[ -e $f ]] || continue
        sed "s#$WORK#/tmp/WORK#g" "$f" >"$OUT/logs/$(basename "$f")"
    done
}

# run NAME "PORTS" FRONT_URL CLIENT PROXY_PID
run() {
    local name=$1
    # shellcheck disable=SC2086 # a list of ports
    start_capture "$WORK/$name.pcap" $2
    "$PY" "$CLIENTS" "$4" "$3" "$5" 2>&1 | tee "$WORK/$name.client.log" >&2
    sleep 3.5   # the backends close their idle connections (Node: after 3.0 s)
    stop_capture
    stop_servers
    mv "$WORK/$name.pcap" "$OUT/$name.pcap"
    chmod 644 "$OUT/$name.pcap"
    save_logs "$name"
}

start_nginx() {  # start_nginx NAME PORT front|backend
    start "$2" QUIT "$WORK/$1.nginx-stderr" nginx -p "$WORK" -e "$WORK/$1.nginx-error.log" -c "$WORK/$1-$3.conf"
}

node_backend() {  # node_backend NAME PORT KEEPALIVE_MS [RESET_AFTER_MS [ADDRESS]]
    start "$2" TERM "$WORK/$1.node.log" node "$HERE/proxy_backend.js" "$2" "$3" "${4:-0}" "${5:-127.0.0.1}"
}

scenario() {
    local name=$1
    log "=== $name ==="
    case $name in
    proxy-nginx-natural)
        node_backend "$name" 9441 2000
        nginx_front "$name" 127.0.0.1:9442 9441
        start_nginx "$name" 9442 front
        run "$name" "9442 9441" http://127.0.0.1:9442 natural "$LAST_PID" ;;
    proxy-nginx-race)
        node_backend "$name" 9443 1000
        nginx_front "$name" "[::1]:9444" 9443
        start_nginx "$name" 9444 front
        run "$name" "9444 9443" "http://[::1]:9444" race "$LAST_PID" ;;
    proxy-nginx-concurrent)
        node_backend "$name" 9451 2000
        nginx_front "$name" 127.0.0.1:9452 9451
        start_nginx "$name" 9452 front
        run "$name" "9452 9451" http://127.0.0.1:9452 concurrent "$LAST_PID" ;;
    proxy-nginx-two-backends)
        node_backend "$name" 9453 1000
        start 9454 TERM "$WORK/$name.uvicorn.log" "$PY" -m uvicorn --app-dir "$HERE" proxy_asgi:app \
            --host 127.0.0.1 --port 9454 --timeout-keep-alive 1 --no-server-header
        nginx_front "$name" 127.0.0.1:9455 9453 9454
        start_nginx "$name" 9455 front
        run "$name" "9455 9453 9454" http://127.0.0.1:9455 two "$LAST_PID" ;;
    proxy-nginx-forwarded)
        add_lo_addrs
        node_backend "$name" 9457 1000 0 10.77.0.3
        nginx_forwarded "$name" 10.77.0.1:9456 10.77.0.3:9457 10.77.0.2
        start_nginx "$name" 9456 front
        run "$name" "9456 9457" http://10.77.0.1:9456 forwarded "$LAST_PID" ;;
    proxy-nginx-rewrite)
        node_backend "$name" 9459 1000
        nginx_rewrite "$name" 127.0.0.1:9458 9459
        start_nginx "$name" 9458 front
        run "$name" "9458 9459" http://127.0.0.1:9458 rewrite "$LAST_PID" ;;
    proxy-chain)
        node_backend "$name" 9464 1000
        haproxy_front "$name" 9463 9464 node
        # HAProxy closes its idle client-side connections (nginx's upstream ones) after 1 s
        sed -i 's/timeout http-keep-alive 10s/timeout http-keep-alive 1s/' "$WORK/$name-haproxy.cfg"
        start 9463 USR1 "$WORK/$name.haproxy.log" haproxy -db -f "$WORK/$name-haproxy.cfg"
        nginx_front "$name" 127.0.0.1:9462 9463
        start_nginx "$name" 9462 front
        run "$name" "9462 9463 9464" http://127.0.0.1:9462 race "$LAST_PID" ;;
    proxy-haproxy-reuse)
        nginx_backend "$name" 9445 2s
        start_nginx "$name" 9445 backend
        haproxy_front "$name" 9446 9445 nginx
        start 9446 USR1 "$WORK/$name.haproxy.log" haproxy -db -f "$WORK/$name-haproxy.cfg"
        run "$name" "9446 9445" http://127.0.0.1:9446 interleave "$LAST_PID" ;;
    proxy-haproxy-race)
        node_backend "$name" 9447 10000 1000
        haproxy_front "$name" 9448 9447 node
        start 9448 USR1 "$WORK/$name.haproxy.log" haproxy -db -f "$WORK/$name-haproxy.cfg"
        run "$name" "9448 9447" http://127.0.0.1:9448 reset "$LAST_PID" ;;
    proxy-nginx-tls)
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
            -addext subjectAltName=DNS:localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
        FRONT_TLS="ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem; ssl_protocols TLSv1.3;"
        node_backend "$name" 9760 1000
        nginx_front "$name" "127.0.0.1:9761 ssl" 9760
        FRONT_TLS=
        start_nginx "$name" 9761 front
        # requests trusts the certificate made above and writes its TLS secrets (urllib3 2 reads
        # $SSLKEYLOGFILE), so the capture can be decrypted
        SSLKEYLOGFILE="$WORK/$name.keys" REQUESTS_CA_BUNDLE="$WORK/cert.pem" \
            run "$name" "9761 9760" https://localhost:9761 race "$LAST_PID"
        mv "$WORK/$name.keys" "$OUT/$name.keys"
        chmod 644 "$OUT/$name.keys" ;;
    proxy-varnish-idle)
        nginx_backend "$name" 9466 10s
        start_nginx "$name" 9466 backend
        # Varnish 7 in the foreground (-F) with its own working directory, closing idle client
        # connections after 2 s (timeout_idle; nginx behind it keeps them 10 s); it passes
        # nginx's Server header on and adds its own Via
        printf 'vcl 4.1;\nbackend nginx { .host = "127.0.0.1"; .port = "9466"; }\n' >"$WORK/$name.vcl"
        start 9465 TERM "$WORK/$name.varnish.log" varnishd -F -n "$WORK/varnish" -a 127.0.0.1:9465 \
            -f "$WORK/$name.vcl" -s malloc,16m -p timeout_idle=2
        local front=$LAST_PID
        # Varnish logs to shared memory: varnishlog writes each session's open and close (with
        # its reason: RX_TIMEOUT is timeout_idle) and requests
        varnishlog -n "$WORK/varnish" -g raw -i SessOpen,SessClose,ReqURL,RespHeader \
            >"$WORK/$name.varnishlog.log" 2>&1 &
        PIDS+=("$!:INT")
        sleep 1
        run "$name" "9465 9466" http://127.0.0.1:9465 idle "$front" ;;
    proxy-haproxy-idle)
        nginx_backend "$name" 9468 10s
        start_nginx "$name" 9468 backend
        haproxy_front "$name" 9467 9468 nginx
        # HAProxy closes its idle client connections after 2 s; nginx behind it keeps its own 10 s
        sed -i 's/timeout http-keep-alive 10s/timeout http-keep-alive 2s/' "$WORK/$name-haproxy.cfg"
        start 9467 USR1 "$WORK/$name.haproxy.log" haproxy -db -f "$WORK/$name-haproxy.cfg"
        run "$name" "9467 9468" http://127.0.0.1:9467 idle "$LAST_PID" ;;
    proxy-haproxy-retry)
        node_backend "$name" 9449 10000 1000
        haproxy_front "$name" 9450 9449 node "retry-on conn-failure empty-response"
        start 9450 USR1 "$WORK/$name.haproxy.log" haproxy -db -f "$WORK/$name-haproxy.cfg"
        run "$name" "9450 9449" http://127.0.0.1:9450 reset "$LAST_PID" ;;
    *) log "unknown scenario $name"; return 2 ;;
    esac
}

ALL=(proxy-nginx-natural proxy-nginx-race proxy-nginx-concurrent proxy-nginx-two-backends proxy-nginx-forwarded
     proxy-nginx-rewrite proxy-chain
     proxy-haproxy-reuse proxy-haproxy-race proxy-haproxy-retry proxy-nginx-tls proxy-varnish-idle
     proxy-haproxy-idle)

for tool in nginx haproxy node tcpdump; do
    command -v "$tool" >/dev/null || { log "$tool not found"; exit 1; }
done
"$PY" -c 'import requests' 2>/dev/null || "$PY" -m pip install -q requests
"$PY" -c 'import uvicorn' 2>/dev/null || "$PY" -m pip install -q uvicorn

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
for n in "${names[@]}"; do
    scenario "$n"
done
