#!/usr/bin/env bash
# Regenerate the TLS captures in this directory: samples/real/tls-*.pcap, each with the key log
# its client wrote (tls-*.keys), and the manifest tls.md (nginx's access log per capture and the
# requests tshark finds with the key log: the decrypted truth katui's inference is checked against).
#
# For each scenario: a private nginx 1.22 on 127.0.0.1:PORT (ports 9501-9599; 9750-9753 for the
# seed captures) with a self-signed certificate made here with openssl, `ssl_protocols TLSv1.2
# TLSv1.3` and `keepalive_timeout 2s`; tcpdump on loopback for that port; the client from
# tls_clients.py; then everything started here is stopped by its PID (other nginx instances may
# run on this machine: nothing is killed by name).
#
# The seed experiment over HTTPS (seed-tls13 on 9750, seed-tls12 on 9751): nginx with
# `keepalive_timeout 5s` (and only TLSv1.3, or only TLSv1.2), a requests.Session sleeping 2 s,
# 6 s and 8 s after its three requests, as in /work/shared/seed-article.md; seed-resume-tls13
# (9752) and seed-resume-tls12 (9753): the same timings from a client that resumes its TLS
# session on the new connection (Python's ssl module on raw sockets).
#
# Needs root (tcpdump on lo), nginx with the ssl module, openssl, tcpdump, curl, tshark, and
# python3 with requests, httpx and aiohttp.
#
#   bash samples/real/make_tls.sh                  # all scenarios
#   bash samples/real/make_tls.sh tls13-requests   # only the named ones
#   MANIFEST_ONLY=1 bash samples/real/make_tls.sh   # only rewrite tls.md
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
PY=${PYTHON:-python3}
CLIENTS="$HERE/tls_clients.py"

WORK=$(mktemp -d /tmp/katui-tls.XXXXXX)
chmod 755 "$WORK"

log() { printf '[make_tls] %s\n' "$*" >&2; }
# shellcheck source=../scripts/capture.sh
source "$HERE/../scripts/capture.sh"

self_signed_cert

# start_nginx PORT HTTP_DIRECTIVES LISTEN_OPTIONS KEEPALIVE_TIMEOUT SSL_PROTOCOLS
start_nginx() {
    local port=$1 http_extra=$2 listen_extra=$3 keepalive=$4 protocols=$5
    local conf="$WORK/nginx-$port.conf"
    rm -f "$WORK/error.log"
    : >"$WORK/access.log"
    cat >"$conf" <<CONF
$(nginx_main "$WORK/nginx-$port.pid")
http {
    log_format katui '\$connection \$connection_requests \$ssl_protocol \$ssl_session_reused \$status "\$request" \$msec';
    access_log $WORK/access.log katui;
    $(nginx_temp_paths)
    ssl_certificate       $WORK/cert.pem;
    ssl_certificate_key   $WORK/key.pem;
    ssl_protocols         $protocols;
    ssl_session_cache     shared:katui$port:1m;
    keepalive_timeout     $keepalive;
    $http_extra
    server {
        listen 127.0.0.1:$port ssl $listen_extra;
        server_name localhost;
        location / { return 200 "keep-alive over TLS \$uri\n"; }
    }
}
CONF
    run_nginx "$conf" "$port"
}

trap capture_cleanup EXIT

# run_scenario SCENARIO PORT HTTP_DIRECTIVES LISTEN_OPTIONS KEEPALIVE_TIMEOUT SSL_PROTOCOLS
#   -> $OUT/tls-SCENARIO.pcap, .keys, $WORK/tls-SCENARIO.access
run_scenario() {
    local scenario=$1 port=$2 http_extra=$3 listen_extra=$4 keepalive=$5 protocols=$6
    local name=tls-$scenario
    log "=== $name (port $port) ==="
    start_nginx "$port" "$http_extra" "$listen_extra" "$keepalive" "$protocols"
    start_capture "$WORK/$name.pcap" "$port"
    rm -f "$WORK/$name.keys"
    SSLKEYLOGFILE="$WORK/$name.keys" timeout 60 "$PY" "$CLIENTS" "$scenario" "$port"
    sleep "$(( ${keepalive%s} ))".5            # past keepalive_timeout: nginx closes what is left
    stop_capture
    stop_nginx
    cp "$WORK/access.log" "$WORK/$name.access"
    # the handshakes nginx saw fail (its error log is at info level)
    grep -hE "SSL_do_handshake|handshak" "$WORK/error.log" >"$WORK/$name.errors" || true
    mv "$WORK/$name.pcap" "$OUT/$name.pcap"
    mv "$WORK/$name.keys" "$OUT/$name.keys"
    chmod 644 "$OUT/$name.pcap" "$OUT/$name.keys"
}

declare -A PORT=([tls13-requests]=9501 [tls13-httpx]=9502 [tls12-aiohttp]=9503 [tls13-stale]=9504
                 [tls12-curl]=9505 [tls13-curl]=9506 [tls13-limit]=9507
                 [ciphers-curl]=9508 [h2-curl]=9509 [cbc]=9510 [tls13-early-request]=9511
                 [tls13-keyupdate]=9512 [tls13-early-data]=9513 [tls13-preconnect]=9514
                 [tls12-refused]=9515 [tls13-reject-sni]=9516 [tls13-cert-refused]=9517
                 [seed-tls13]=9750 [seed-tls12]=9751 [seed-resume-tls13]=9752 [seed-resume-tls12]=9753)
declare -A EXTRA=([tls13-limit]='keepalive_requests 3;' [tls13-early-data]='ssl_early_data on;'
                 [tls13-preconnect]='client_header_timeout 2s;'
                 [tls13-reject-sni]='server { listen 127.0.0.1:9516 ssl default_server; ssl_reject_handshake on; }')
declare -A LISTEN=([h2-curl]=http2)
declare -A KEEPALIVE=([tls13-preconnect]=5s [seed-tls13]=5s [seed-tls12]=5s [seed-resume-tls13]=5s [seed-resume-tls12]=5s)
declare -A PROTOCOLS=([seed-tls13]=TLSv1.3 [seed-tls12]=TLSv1.2 [tls12-refused]=TLSv1.2 [tls13-cert-refused]=TLSv1.3 [seed-resume-tls13]=TLSv1.3
                      [seed-resume-tls12]=TLSv1.2)
# What a section's capture shows beyond the logs (printed under its heading)
declare -A NOTE=(
    [seed-tls13]="The seed article's experiment over HTTPS. requests.Session: request 1; 2 s later request 2
on the same connection (nginx: \$connection 1, \$connection_requests 2; 2.00 s apart by \$msec);
6 s later nginx has closed it after 5 s idle (close_notify, in TLS 1.3 a 19-byte
application-data record, then FIN); the client's RST follows when requests finds the connection
dropped before request 3 (it closes the socket with the close_notify unread), and request 3
opens a new connection with a full handshake (\$ssl_session_reused '.': requests does not resume
TLS sessions). nginx closes that one 5 s later the same way; the client's RST comes when the
script exits. nginx's two NewSessionTickets on the second connection arrive after its request
and before the response."
    [tls13-keyupdate]="openssl s_client (TLS 1.3, AES-256-GCM) sends a request, then 'K' (a KeyUpdate asking nginx
to update too), a request, 'k' (a KeyUpdate alone), a request, 0.4 s apart, then its close_notify
and FIN at the end of its input. Each KeyUpdate is one 22-byte record; nginx's own KeyUpdate
(frame 19) comes just before its next response. With the key log, the records after each update
open only with the next traffic secret (RFC 8446 7.2)."
    [tls13-early-data]="TLS 1.3 0-RTT (nginx \`ssl_early_data on\`): openssl s_client makes a first connection with one
request and saves its session (-sess_out); the second resumes it (-sess_in) and sends GET /early
as early data (-early_data) in the segment of its ClientHello, before the ServerHello; nginx
accepts it (its EncryptedExtensions carry early_data; \$ssl_session_reused 'r') and answers after
the client's EndOfEarlyData and Finished (one segment) and its NewSessionTicket. A second
request follows 0.4 s later; each connection ends at the end of s_client's input."
    [tls13-preconnect]="Two s_client connections at once (nginx \`keepalive_timeout 5s\`, \`client_header_timeout 2s\`):
stream 0 completes its TLS 1.3 handshake and never sends a request; nginx closes it 2 s later
(client_header_timeout: nginx waits that long for a first request; nothing in the access log, as
for every connection without a request). Stream 1 sends GET /used and idles; nginx closes it after
its 5 s keep-alive timeout. Only stream 1's close is a keep-alive timeout: a tool that read 2 s
from stream 0 would tell clients a timeout 2.5 times too short."
    [tls12-refused]="nginx allows only TLS 1.2 (\`ssl_protocols TLSv1.2\`). Stream 0: curl --tlsv1.3 offers only TLS 1.3;
nginx answers its ClientHello with a fatal protocol_version alert (in the clear) and closes. Stream 1:
curl checks nginx's self-signed certificate, rejects it and sends its own fatal alert (TLS 1.2:
in the clear, before its ChangeCipherSpec); curl exits 60. Stream 2: curl -k, one request. Neither
failure reaches the access log; both are in nginx's error log (below)."
    [tls13-reject-sni]="nginx's default server refuses names it does not serve (\`ssl_reject_handshake on\`; the
server block for localhost is not the default). Stream 0: curl -k asks for other.example (SNI) and
nginx answers its ClientHello with a fatal unrecognized_name alert, in the clear as every TLS 1.3
record before the ServerHello is; curl exits 35. Stream 1: curl -k for localhost, one request."
    [tls13-cert-refused]="nginx allows only TLS 1.3. Stream 0: curl verifies nginx's self-signed certificate, refuses it
and exits 60; stream 1: requests.get with verification on, the same (SSLError). OpenSSL sends
that fatal unknown_ca alert while reading the server's Certificate, before it protects its own
records with the handshake keys: a 7-byte alert record in the clear (frames 8 and 18), read
without keys. Their key logs hold only SERVER_HANDSHAKE_TRAFFIC_SECRET (nothing later was
derived): the server's encrypted handshake opens with it, as in tshark. Stream 2: curl -k, one
request. nginx's error log names each client's alert (below); neither failure reaches the
access log."
    [seed-tls12]="The same experiment with nginx limited to TLS 1.2: the close_notify is an Alert record
(26 bytes with AES-GCM), told without keys by its record type."
    [seed-resume-tls13]="The seed timings from a client that resumes (tls_clients.py seed_resume: Python's ssl on raw
sockets). It reads nginx's close_notify (EOF) before opening the new connection, so it closes
the first one with a FIN, not a RST; the new connection resumes the session with a pre-shared
key (one round trip, no Certificate; nginx: \$ssl_session_reused 'r'). The second connection
ends with the client's RST: the script exits with nginx's close_notify unread."
    [seed-resume-tls12]="The same with TLS 1.2: the resumed handshake is abbreviated (a session ticket, the session ID
echoed, the server's ChangeCipherSpec first: one round trip)."
)
ALL=(tls13-requests tls13-httpx tls12-aiohttp tls13-stale tls12-curl tls13-curl tls13-limit ciphers-curl
     h2-curl cbc tls13-early-request tls13-keyupdate tls13-early-data tls13-preconnect tls12-refused tls13-reject-sni tls13-cert-refused seed-tls13 seed-tls12 seed-resume-tls13 seed-resume-tls12)

for tool in nginx tcpdump openssl curl; do
    command -v "$tool" >/dev/null || { log "$tool not found"; exit 1; }
done

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
[[ ${MANIFEST_ONLY:-0} == 1 ]] && names=()   # only rewrite tls.md from the captures there
for n in "${names[@]}"; do
    run_scenario "$n" "${PORT[$n]}" "${EXTRA[$n]:-}" "${LISTEN[$n]:-}" "${KEEPALIVE[$n]:-2s}" \
        "${PROTOCOLS[$n]:-TLSv1.2 TLSv1.3}"
done

# The manifest: what nginx logged, and the requests tshark decrypts with the key log.
{
    echo "# TLS captures (made by make_tls.sh)"
    echo
    echo "nginx 1.22, \`ssl_protocols TLSv1.2 TLSv1.3\`, \`keepalive_timeout 2s\`, a self-signed"
    echo "certificate; clients and what they do: see tls_clients.py. The seed captures (tls-seed-*):"
    echo "\`keepalive_timeout 5s\` and one protocol each (see make_tls.sh). Access log format:"
    echo "\`\$connection \$connection_requests \$ssl_protocol \$ssl_session_reused \$status \"\$request\"\`,"
    echo "then \`\$msec\` (the time nginx logged the request) in the sections made since the seed captures."
    echo "The decrypted truth is \`tshark -2 -r F -o tls.keylog_file:F.keys -d tcp.port==PORT,tls -Y http.request\`"
    echo "(tcp.stream, frame, request); katui's view without keys follows it (with the key log, katui's"
    echo "request frames equal tshark's: tests/test_tls_decrypt.py)."
    for n in "${ALL[@]}"; do
        f="$OUT/tls-$n.pcap"
        [[ -f $f ]] || continue
        echo
        echo "## tls-$n.pcap (port ${PORT[$n]})"
        echo
        if [[ -n ${NOTE[$n]:-} ]]; then
            echo "${NOTE[$n]}"
            echo
        fi
        if [[ -f "$WORK/tls-$n.access" ]]; then
            echo "nginx access log:"
            echo
            echo '```'
            cat "$WORK/tls-$n.access"
            echo '```'
            if [[ -s "$WORK/tls-$n.errors" ]]; then
                echo "nginx error log (info level, the failed handshakes):"
                echo
                echo '```'
                cat "$WORK/tls-$n.errors"
                echo '```'
            fi
        elif [[ -f "$OUT/tls.md" ]]; then  # not re-made this run: keep what the manifest said
            awk -v h="## tls-$n.pcap" '$0 ~ "^## " {p = ($0 ~ h)} p && /^nginx access log/ {q=1} p && q' \
                "$OUT/tls.md" | sed '/^tshark/,$d'
        fi
        echo "tshark with the key log:"
        echo
        echo '```'
        if [[ $n == h2-* ]]; then     # HTTP/2: one line per HEADERS frame with a method
            tshark -2 -n -r "$f" -o "tls.keylog_file:$OUT/tls-$n.keys" -d "tcp.port==${PORT[$n]},tls" \
                -Y http2.headers.method -T fields -e tcp.stream -e frame.number \
                -e http2.headers.method -e http2.headers.path 2>/dev/null
        else
            tshark -2 -n -r "$f" -o "tls.keylog_file:$OUT/tls-$n.keys" -d "tcp.port==${PORT[$n]},tls" \
                -Y http.request -T fields -e tcp.stream -e frame.number -e http.request.method \
                -e http.request.uri 2>/dev/null
        fi
        echo '```'
        echo "katui without keys (inferred requests per tcp.stream, close reason, closer):"
        echo
        echo '```'
        PYTHONPATH="$HERE/../.." "$PY" -m katui report "$f" --format json | "$PY" -c '
import json, sys
for c in json.load(sys.stdin)["connections"]:
    cl = c["close"]
    n = sum(r["request_frame"] is not None for r in c["requests"])
    print(c["stream"], n, cl["reason"], cl["asked_by"] or cl["by"])'
        echo '```'
    done
} >"$WORK/tls.md"
mv "$WORK/tls.md" "$OUT/tls.md"
ls -l "$OUT"/tls-*.pcap >&2
