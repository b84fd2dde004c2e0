#!/usr/bin/env bash
# Regenerate the Node.js *client* captures in samples/real/ (node-agent-*.pcap, node-fetch-*.pcap) and their logs
# (logs/node-agent-*.log, logs/node-fetch-*.log): Node 20's http.globalAgent and fetch() (undici) against nginx and
# against Node's own http server.
#
#   bash samples/real/make_node.sh                        # all scenarios
#   bash samples/real/make_node.sh node-agent-idle # only the named ones
#
# Needs root (tcpdump on lo), node (Debian nodejs 20), nginx and tcpdump. Ports 9251-9255 on
# 127.0.0.1. Per scenario: start the server (a private nginx with an access log that names
# each connection and its request count, or apps_node_server.js, which logs every socket
# event) and remember its PID, tcpdump on lo for the port, run apps_node_client.js (it logs
# each request's local port, reused or not, and errors), stop tcpdump 1 s after the client
# ends, stop the server by its PID. See node-clients.md for what each capture shows.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/katui-node.XXXXXX)
chmod 755 "$WORK"
NODE_PID=

log() { printf '[make_node] %s\n' "$*" >&2; }
# shellcheck source=../scripts/capture.sh
source "$HERE/../scripts/capture.sh"

cleanup() {
    stop_capture
    stop_nginx
    if [[ -n $NODE_PID ]]; then kill "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v node >/dev/null || { log "node not found (apt-get install nodejs)"; exit 1; }

# nginx_server PORT KEEPALIVE_TIMEOUT: a private nginx answering "ok" to everything
nginx_server() {
    local port=$1 ka=$2 conf="$WORK/nginx.conf"
    rm -f "$WORK/access.log" "$WORK/error.log"
    cat >"$conf" <<CONF
$(nginx_main "$WORK/nginx.pid")
http {
    log_format ka '\$remote_addr:\$remote_port msec=\$msec conn=\$connection '
                  'conn_reqs=\$connection_requests "\$request" \$status ua="\$http_user_agent"';
    access_log $WORK/access.log ka;
    $(nginx_temp_paths)
    keepalive_timeout $ka;
    server {
        listen 127.0.0.1:$port;
        location / { return 200 "ok\n"; }
    }
}
CONF
    run_nginx "$conf" "$port"
}

# node_server PORT MODE: apps_node_server.js (see its MODE list)
node_server() {
    node "$HERE/apps_node_server.js" "$2" "$1" >"$WORK/node-server.log" 2>&1 &
    NODE_PID=$!
    for _ in $(seq 100); do ss -Hltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.05; done
    log "node server did not start"; cat "$WORK/node-server.log" >&2; return 1
}

# scenario_run NAME PORT SERVER-DESCRIPTION CLIENT-MODE STEPS
scenario_run() {
    local name=$1 port=$2 what=$3 mode=$4 steps=$5
    start_capture "$WORK/$name.pcap" "$port"
    timeout 150 node "$HERE/apps_node_client.js" "$mode" "$port" "$steps" >"$WORK/client.log" 2>&1 \
        || log "client exited with status $?"
    stop_capture
    mkdir -p "$OUT/logs"
    {
        echo "# server: $what"
        if [[ -n $NODE_PID ]]; then
            kill "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; NODE_PID=
            cat "$WORK/node-server.log"
        else
            stop_nginx
            echo "## nginx access log"; cat "$WORK/access.log"
            echo "## nginx error log (info)"; grep -v "using inherited\|signal process started" "$WORK/error.log" || true
        fi
        echo "# client (apps_node_client.js $mode $port $steps)"; cat "$WORK/client.log"
    } >"$OUT/logs/$name.log"
    mv "$WORK/$name.pcap" "$OUT/$name.pcap"
    chmod 644 "$OUT/$name.pcap"
    log "=== $name ==="
    sed 's/^/    /' "$OUT/logs/$name.log" >&2
}

scenario() {
    case $1 in
    node-agent-idle)   # globalAgent's 5 s idle timeout against nginx keepalive_timeout 60s
        nginx_server 9251 60s
        scenario_run "$1" 9251 "nginx keepalive_timeout 60s (no Keep-Alive header)" agent get,2,get,6,get,1 ;;
    node-agent-hint)   # Node's server advertises timeout=2 (closes at 3 s): the agent obeys the hint
        node_server 9252 ka-2s
        scenario_run "$1" 9252 "node apps_node_server.js ka-2s (keepAliveTimeout 2000)" agent get,1,get,2.5,get,1 ;;
    node-fetch-idle)   # fetch() (undici, keep-alive 4 s by default) against nginx 60s
        nginx_server 9253 60s
        scenario_run "$1" 9253 "nginx keepalive_timeout 60s (no Keep-Alive header)" fetch get,2,get,5,get,1 ;;
    node-agent-race)   # globalAgent against nginx keepalive_timeout 1s: gaps around 1 s
        nginx_server 9254 1s
        scenario_run "$1" 9254 "nginx keepalive_timeout 1s (no Keep-Alive header)" agent "$(race_steps 0.9990 0.0001)" ;;
    node-fetch-race)          # fetch() (undici) against nginx keepalive_timeout 1s: gaps around 1 s
        nginx_server 9255 1s
        scenario_run "$1" 9255 "nginx keepalive_timeout 1s (no Keep-Alive header)" fetch "$(race_steps 0.9990 0.0001)" ;;
    *) log "unknown scenario $1"; return 2 ;;
    esac
}

ALL=(node-agent-idle node-agent-hint node-fetch-idle node-agent-race node-fetch-race)
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
for n in "${names[@]}"; do
    scenario "$n"
done
