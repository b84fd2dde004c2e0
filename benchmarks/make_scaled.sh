#!/bin/bash
# Make a capture N times the size of a loopback capture (default: the ab one, 10 times), for the
# memory target of issue 13 ("a capture 10x the ab one analyses in under 1 GiB"):
#
#     bash benchmarks/make_scaled.sh [IN.pcap] [N] [OUT.pcap]
#
# Copy k (0..N-1) has every 127.0.0.1 address rewritten to 127.1.k.1 (tcprewrite --pnat, from the
# tcpreplay package; checksums fixed) and its clock shifted by k times the input's duration plus
# one second (editcap -t), then the copies are appended (mergecap -a). Distinct addresses keep
# each copy's connections distinct (the same 4-tuples and ISNs again would be retransmissions),
# and the shift keeps the file in time order. Every copy is the same real traffic: N times the
# connections, requests and frames of the input.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
IN=${1:-$HERE/.cache/ab-k200000-close40000.pcap}
N=${2:-10}
OUT=${3:-$HERE/.cache/$(basename "${IN%.pcap}")-x$N.pcap}
for tool in tcprewrite editcap mergecap capinfos; do
    command -v $tool >/dev/null || { echo "make_scaled.sh: $tool is missing (apt-get install tcpreplay tshark)" >&2; exit 2; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
dur=$(capinfos -u -M "$IN" | awk '/Capture duration/ {print int($3) + 1}')
parts=()
for ((k = 0; k < N; k++)); do
    tcprewrite --pnat=127.0.0.1/32:127.1.$k.1/32 --fixcsum -i "$IN" -o "$WORK/r$k.pcap"
    editcap -t $((k * dur)) "$WORK/r$k.pcap" "$WORK/s$k.pcap"
    rm "$WORK/r$k.pcap"
    parts+=("$WORK/s$k.pcap")
done
mergecap -a -F pcap -w "$OUT" "${parts[@]}"
capinfos -c -u "$OUT" | sed 1d
echo "wrote $OUT"
