# Shared by samples/make_samples.sh and samples/real/make_{tls,clients,apps,servers}.sh (sourced, not run): start and
# stop a private nginx and a loopback tcpdump, each by the PID started here (other nginx
# instances may run on the machine: nothing is stopped by name). Needs $WORK and log().

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
