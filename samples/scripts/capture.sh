# Shared by samples/make_samples.sh and samples/real/make_{tls,clients,apps,servers,go,node}.sh
# (sourced, not run): start and stop a private nginx and a loopback tcpdump, each by the PID
# started here (other nginx instances may run on the machine: nothing is stopped by name), and
# the steps of a race hunt. Needs $WORK and log().

NGINX_PID=
TCPDUMP_PID=

# run_nginx CONF PORT: start nginx with CONF and wait until PORT is listening
run_nginx() {
    local conf=$1 port=$2
    nginx -t -q -p "$WORK" -e "$WORK/error.log" -c "$conf"
    nginx -p "$WORK" -e "$WORK/error.log" -c "$conf" &
    NGINX_PID=$!
    for _ in $(seq 100); do
        if ss -Hltn "sport = :$port" | grep -q LISTEN; then return 0; fi
        kill -0 "$NGINX_PID" 2>/dev/null || { cat "$WORK/error.log" >&2; return 1; }
        sleep 0.05
    done
    log "nginx did not start listening on $port"; cat "$WORK/error.log" >&2; return 1
}

# nginx_main PIDFILE: the main context of a private nginx (one worker, in the foreground, its
# error log at info in $WORK); the caller's heredoc goes on with "http {"
nginx_main() {
    printf 'worker_processes 1;\ndaemon off;\npid %s;\nerror_log %s info;\n' "$1" "$WORK/error.log"
    printf 'events { worker_connections 64; }'
}

# nginx_temp_paths: inside "http {", the default type and every temp path in $WORK (the first
# line unindented: the caller's heredoc indents it)
nginx_temp_paths() {
    printf 'default_type text/plain;\n'
    local what
    for what in client_body proxy fastcgi uwsgi scgi; do
        printf '    %-21s %s;\n' "${what}_temp_path" "$WORK/tmp-${what/client_/}"
    done
}

stop_nginx() {
    if [[ -n $NGINX_PID ]]; then
        kill -QUIT "$NGINX_PID" 2>/dev/null || true   # graceful shutdown
        wait "$NGINX_PID" 2>/dev/null || true
        NGINX_PID=
    fi
}

# start_capture FILE PORT [SNAPLEN]   (tcpdump's default snap length, 262144, unless given)
start_capture() {
    local file=$1 port=$2 snap=${3:-262144}
    : >"$WORK/tcpdump.err"
    # -U: write each packet to the file as it arrives; --immediate-mode: get
    # each packet from the kernel at once (otherwise libpcap delivers in 1 s
    # blocks and the last packets are lost at SIGINT); -Z root: don't drop
    # privileges (the tcpdump user could not write into $WORK).
    # CAPTURE_OPTS: extra tcpdump options (a load test's snaplen and kernel buffer, -s/-B);
    # after -s SNAPLEN, so its -s wins.
    # shellcheck disable=SC2086
    tcpdump -i lo -U --immediate-mode -Z root -s "$snap" ${CAPTURE_OPTS:-} -w "$file" "tcp port $port" \
        2>"$WORK/tcpdump.err" &
    TCPDUMP_PID=$!
    for _ in $(seq 200); do
        if grep -q "listening on" "$WORK/tcpdump.err"; then return 0; fi
        kill -0 "$TCPDUMP_PID" 2>/dev/null || { cat "$WORK/tcpdump.err" >&2; return 1; }
        sleep 0.05
    done
    log "tcpdump did not start"; cat "$WORK/tcpdump.err" >&2; return 1
}

stop_capture() {
    if [[ -n $TCPDUMP_PID ]]; then
        sleep 1                          # let the last packets (FIN/ACK) land
        kill -INT "$TCPDUMP_PID" 2>/dev/null || true
        wait "$TCPDUMP_PID" 2>/dev/null || true
        TCPDUMP_PID=
        sed -n '/packets captured/p; /dropped by kernel/p' "$WORK/tcpdump.err" >&2 || true
    fi
}

# capture_cleanup: the EXIT trap of a script that started only nginx and tcpdump: stop both
# (by PID) and remove $WORK
capture_cleanup() {
    stop_capture
    stop_nginx
    rm -rf "$WORK"
}

# self_signed_cert: a throw-away certificate for localhost, $WORK/cert.pem and $WORK/key.pem
self_signed_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
}

# race_steps FIRST STEP: the steps of a race hunt, for the clients of make_go.sh and make_node.sh:
# a request, then 21 more, each after an idle gap of FIRST, FIRST+STEP, ... seconds (bounded).
race_steps() {
    local s=get i
    for i in $(seq 0 20); do s+=",$(awk -v i="$i" -v a="$1" -v d="$2" 'BEGIN { printf "%.4f", a + i * d }'),get"; done
    echo "$s"
}
