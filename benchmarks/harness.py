"""Measuring one command for benchmarks/run.py: wall time, user CPU and peak RSS of a child.

Standard library only. The harness stays small on purpose: on Linux a child's ``ru_maxrss``
starts at the parent's peak RSS when it execs, so a big parent would inflate every result.
"""

from __future__ import annotations

import os
import platform
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def count_packets(path: Path) -> tuple[int, float | None, float | None]:
    """Packets and first/last timestamps of a classic pcap (-1 if not a classic pcap).

    Reads record headers with small reads + seeks: run.py must stay small, because on
    Linux a child's ru_maxrss starts at the parent's peak RSS (see measure()).
    """
    with open(path, "rb", buffering=0) as f:
        magic = f.read(24)[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            e = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            e = ">"
        else:
            return -1, None, None  # pcapng or unknown: not counted
        div = 1e9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e6
        unpack = struct.Struct(e + "IIII").unpack
        read, seek = f.read, f.seek
        n = 0
        first = last = None
        while True:
            h = read(16)
            if len(h) < 16:
                break
            sec, frac, incl, _orig = unpack(h)
            last = sec + frac / div
            if first is None:
                first = last
            seek(incl, 1)
            n += 1
        return n, first, last


def warm_cache(path: Path) -> None:
    """Read the file once (page cache) without growing this process's RSS."""
    buf = bytearray(1 << 20)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass


def machine_info() -> dict:
    """CPU, memory, Python and tshark of this machine, for the record."""
    info = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_gib"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    ts = shutil.which("tshark")
    if ts:
        out = subprocess.run([ts, "--version"], capture_output=True, text=True).stdout
        info["tshark"] = out.splitlines()[0] if out else "?"
    else:
        info["tshark"] = None
    return info


def measure(cmd: list[str], timeout: float, env: dict | None = None, cwd: Path = REPO) -> dict:
    """Run cmd once (in ``cwd``); wall time and the child's peak RSS via os.wait4().

    os.wait4() gives this child's own rusage (unlike RUSAGE_CHILDREN, which mixes all
    children).  Caveat: Linux starts a child's ru_maxrss at the parent's peak RSS when
    it execs (vfork shares the parent's mm), so run.py keeps itself small and reports
    that floor (the RSS measured for /bin/true).
    """
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        try:
            _pid, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = [
            ln
            for ln in err.read().decode(errors="replace").splitlines()
            if ln.strip() and "Running as user" not in ln and "could be dangerous" not in ln
        ]
    return {
        "wall_s": wall,
        "rss_mb": ru.ru_maxrss / 1024,  # Linux: KiB
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "exit": code,
        "stderr_last": lines[-1] if lines else "",
    }


def fmt_ratio(x: float | None) -> str:
    """A ratio as ``1.23x``, or a dash when there is no baseline."""
    return "—" if x is None else f"{x:.2f}x"
