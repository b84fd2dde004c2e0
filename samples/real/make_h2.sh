#!/usr/bin/env bash
# Regenerate the HTTP/2 captures in this directory: samples/real/h2-*.pcap, each with the key log
# its client wrote (h2-*.keys; none for cleartext h2c), and the manifest h2.md (nginx's access log
# per capture with $connection_requests and $request_time, nginx's error log lines about the
# connections' ends, and tshark's decrypted view of every HEADERS frame).
#
# For each scenario: a private nginx 1.22 on 127.0.0.1:PORT (ports 9701-9749) with `listen ...
# ssl http2` (or plain `http2`: h2c with prior knowledge), a self-signed certificate made here,
# and `keepalive_timeout 1s` (nginx's HTTP/2 idle timeout since 1.19.7; `limit` adds
# `keepalive_requests 3`, its HTTP/2 request limit since 1.19.7, and so does `limit-burst`, five
# requests in one flight); tcpdump on loopback for
# that port; the client from h2_clients.py; then everything started here is stopped by its PID
# (samples/scripts/capture.sh: other nginx instances may run on this machine).
#
# Needs root (tcpdump on lo), nginx with the ssl and http_v2 modules, openssl, tcpdump, curl with
# nghttp2, tshark, and python3 with httpx, h2 (`pip install h2`).
#
#   bash samples/real/make_h2.sh                 # all scenarios
#   bash samples/real/make_h2.sh stale           # only the named ones
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
PY=${PYTHON:-python3}
CLIENTS="$HERE/h2_clients.py"

WORK=$(mktemp -d /tmp/katui-h2.XXXXXX)
chmod 755 "$WORK"

log() { printf '[make_h2] %s\n' "$*" >&2; }
# shellcheck source=../scripts/capture.sh
source "$HERE/../scripts/capture.sh"

mkdir -p "$WORK/files"
head -c 40000 /dev/zero | tr '\0' x >"$WORK/files/40k"    # a body that takes ~0.2 s at limit_rate

self_signed_cert

# start_nginx PORT LISTEN_OPTIONS [HTTP_DIRECTIVES]
start_nginx() {
    local port=$1 listen=$2 http_extra=${3:-}
    local conf="$WORK/nginx-$port.conf"
    : >"$WORK/error.log"
    : >"$WORK/access.log"
    cat >"$conf" <<CONF
$(nginx_main "$WORK/nginx-$port.pid")
http {
    log_format katui '\$connection \$connection_requests \$request_time \$http2 \$status "\$request"';
    access_log $WORK/access.log katui;
    $(nginx_temp_paths)
    ssl_certificate       $WORK/cert.pem;
    ssl_certificate_key   $WORK/key.pem;
    ssl_protocols         TLSv1.2 TLSv1.3;
    keepalive_timeout     1s;
    $http_extra
    server {
        listen 127.0.0.1:$port $listen;
        server_name localhost;
        location / { return 200 "HTTP/2 keep-alive \$uri\n"; }
        location /files/ { alias $WORK/files/; limit_rate 100k; }   # slow bodies: streams overlap
    }
}
CONF
    run_nginx "$conf" "$port"
}

trap capture_cleanup EXIT

declare -A PORT=([curl-multi]=9701 [httpx-idle]=9702 [stale]=9703 [bad-frame]=9704 [h2c-httpx]=9705
                 [curl-parallel]=9706 [limit]=9707 [limit-burst]=9720)
declare -A LISTEN=([h2c-httpx]=http2)
declare -A EXTRA=([limit]='keepalive_requests 3;' [limit-burst]='keepalive_requests 3;')
ALL=(curl-multi httpx-idle stale bad-frame h2c-httpx curl-parallel limit limit-burst)

for tool in nginx tcpdump openssl curl tshark; do
    command -v "$tool" >/dev/null || { log "$tool not found"; exit 1; }
done

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
for n in "${names[@]}"; do
    port=${PORT[$n]} name=h2-$n
    log "=== $name (port $port) ==="
    start_nginx "$port" "${LISTEN[$n]:-ssl http2}" "${EXTRA[$n]:-}"
    start_capture "$WORK/$name.pcap" "$port"
    : >"$WORK/$name.keys"
    SSLKEYLOGFILE="$WORK/$name.keys" timeout 60 "$PY" "$CLIENTS" "$n" "$port"
    sleep 1.5                                  # past keepalive_timeout: nginx closes what is left
    stop_capture
    stop_nginx
    cp "$WORK/access.log" "$WORK/$name.access"
    grep -E 'client|closed|timed out|GOAWAY|error' "$WORK/error.log" | sed 's/^[0-9/: ]*//' \
        >"$WORK/$name.error" || true
    mv "$WORK/$name.pcap" "$OUT/$name.pcap"
    chmod 644 "$OUT/$name.pcap"
    if grep -qv '^#' "$WORK/$name.keys"; then  # Python writes a header even without TLS
        mv "$WORK/$name.keys" "$OUT/$name.keys"; chmod 644 "$OUT/$name.keys"; fi
done

# The manifest: what nginx logged, and every HEADERS frame tshark decodes with the key log.
{
    echo "# HTTP/2 captures (made by make_h2.sh)"
    echo
    echo "nginx 1.22, \`listen ... ssl http2\` (h2c: \`listen ... http2\`), \`keepalive_timeout 1s\`, a"
    echo "self-signed certificate; clients and what they do: see h2_clients.py (\`stale\` and"
    echo "\`bad-frame\` are a raw client built on the \`h2\` package as scaffolding). Access log format:"
    echo "\`\$connection \$connection_requests \$request_time \$http2 \$status \"\$request\"\`."
    echo "tshark: \`tshark -2 -r F -o tls.keylog_file:F.keys -d tcp.port==PORT,tls -Y http2.type==1"
    echo "-T fields -e tcp.stream -e frame.number -e http2.streamid -e http2.headers.method"
    echo "-e http2.headers.path -e http2.headers.status\` (h2c: \`-d tcp.port==PORT,http2\`), then the"
    echo "GOAWAY and RST_STREAM frames (\`http2.type==7 || http2.type==3\`: stream, frame, last stream id, error)."
    for n in "${ALL[@]}"; do
        f="$OUT/h2-$n.pcap"
        [[ -f $f ]] || continue
        port=${PORT[$n]}
        if [[ -f "$OUT/h2-$n.keys" ]]; then
            opts=(-o "tls.keylog_file:$OUT/h2-$n.keys" -d "tcp.port==$port,tls")
        else
            opts=(-d "tcp.port==$port,http2")
        fi
        echo
        echo "## h2-$n.pcap (port $port)"
        echo
        if [[ -f "$WORK/h2-$n.access" ]]; then
            echo "nginx access log:"
            echo
            echo '```'
            cat "$WORK/h2-$n.access"
            echo '```'
            if [[ -s "$WORK/h2-$n.error" ]]; then
                echo "nginx error log (info):"
                echo
                echo '```'
                cat "$WORK/h2-$n.error"
                echo '```'
            fi
        elif [[ -f "$OUT/h2.md" ]]; then  # not re-made this run: keep what the manifest said
            awk -v h="## h2-$n.pcap" '$0 ~ "^## " {p = ($0 ~ h)} p && /^nginx access log/ {q=1} p && q' \
                "$OUT/h2.md" | sed '/^tshark/,$d'
        fi
        echo "tshark HEADERS frames:"
        echo
        echo '```'
        tshark -2 -n -r "$f" "${opts[@]}" -Y http2.type==1 -T fields -e tcp.stream -e frame.number \
            -e http2.streamid -e http2.headers.method -e http2.headers.path -e http2.headers.status 2>/dev/null
        echo '```'
        echo "tshark GOAWAY / RST_STREAM frames:"
        echo
        echo '```'
        tshark -2 -n -r "$f" "${opts[@]}" -Y 'http2.type==7 || http2.type==3' -T fields -e tcp.stream \
            -e frame.number -e http2.type -e http2.goaway.last_stream_id -e http2.goaway.error \
            -e http2.rst_stream.error 2>/dev/null
        echo '```'
    done
} >"$WORK/h2.md"
mv "$WORK/h2.md" "$OUT/h2.md"
ls -l "$OUT"/h2-*.pcap >&2
