"""The pure-Python floor: walk a classic Ethernet/IPv4 pcap and unpack only the record, IP and
TCP headers with one struct call per packet, keeping nothing. Whatever katui does costs more
than this; it shows how much of the wall-time budget is left for the analysis itself.

    python benchmarks/floor.py benchmarks/.cache/capture-1000000-seed1.pcap
"""

from __future__ import annotations

import mmap
import struct
import sys
import time


def main(path: str) -> None:
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}.get(buf[:4])
        if endian is None or struct.unpack_from(endian + "I", buf, 20)[0] != 1:
            sys.exit("floor.py: needs a microsecond pcap with Ethernet frames")
        record = struct.Struct(endian + "IIII").unpack_from
        headers = struct.Struct("!12xHBxHxxHxB2x4s4sHHIIBB").unpack_from
        t0 = time.perf_counter()
        pos, end, packets, tcp = 24, len(buf), 0, 0
        while pos + 16 <= end:
            _sec, _usec, caplen, _wirelen = record(buf, pos)
            off = pos + 16
            packets += 1
            if caplen >= 54:
                ethertype, vihl, _total, frag, proto, *_ = headers(buf, off)
                if ethertype == 0x800 and vihl == 0x45 and proto == 6 and not frag & 0x3FFF:
                    tcp += 1
            pos = off + caplen
        took = time.perf_counter() - t0
    print(f"{packets} packets ({tcp} IPv4/TCP) walked and header-decoded in {took:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1])
