#!/usr/bin/env python3
"""Side-by-side wall time / peak RSS of katui vs tshark on one capture.

    python benchmarks/run.py [CAPTURE] [--packets N] [--seed S] [--repeat R] [--json OUT]

Without CAPTURE, a synthetic capture is generated with make_capture.py under
benchmarks/.cache/ (reused when it already exists with the same parameters).

Each command runs R times (round-robin, after one warm-up read of the file into
the page cache).  Wall time is the best (min) run; peak RSS is the maximum
ru_maxrss over runs, taken per child with os.wait4() (no /usr/bin/time needed).
This is a report, not a test: it always exits 0 unless the capture is missing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache"
MAKE = HERE / "make_capture.py"

TARGET_WALL = 0.5  # katui wall <= 0.5 x tshark conv,tcp
TARGET_RSS = 0.25  # katui peak RSS <= 0.25 x tshark conv,tcp
BASELINE = "tshark conv,tcp"
INTERPRETED = "katui report --format json (interpreted)"


# --- capture ------------------------------------------------------------------


def ensure_capture(packets: int, seed: int) -> tuple[Path, dict | None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    gi = HERE / ".gitignore"
    if not gi.exists():
        gi.write_text(".cache/\n")
    pcap = CACHE / f"capture-{packets}-seed{seed}.pcap"
    meta_path = pcap.with_suffix(".json")
    if pcap.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = {}
        if (
            meta.get("requested_packets") == packets
            and meta.get("seed") == seed
            and meta.get("generator_mtime") == MAKE.stat().st_mtime_ns
            and meta.get("file_bytes") == pcap.stat().st_size
        ):
            print(f"reusing cached capture {pcap.relative_to(REPO)}")
            return pcap, meta
    print(f"generating {pcap.relative_to(REPO)} ({packets} packets, seed {seed}) ...", flush=True)
    tmp = pcap.with_suffix(".pcap.tmp")
    tmp_meta = meta_path.with_suffix(".json.tmp")
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(MAKE),
            str(tmp),
            "--packets",
            str(packets),
            "--seed",
            str(seed),
            "--summary-json",
            str(tmp_meta),
        ],
        check=True,
    )
    meta = json.loads(tmp_meta.read_text())
    meta.update(
        requested_packets=packets,
        file=str(pcap),
        generator_mtime=MAKE.stat().st_mtime_ns,
        generate_wall_s=round(time.perf_counter() - t0, 2),
    )
    tmp.replace(pcap)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    tmp_meta.unlink()
    return pcap, meta


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


# --- machine ------------------------------------------------------------------


def machine_info() -> dict:
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


# --- commands -----------------------------------------------------------------


def katui_command(capture: Path) -> tuple[list[str] | None, str, bool]:
    """``python -m katui`` from this checkout (not whatever ``katui`` is on PATH), and whether
    its compiled core is built (then the interpreted build is measured too, KATUI_PURE=1)."""
    args = ["report", str(capture), "--format", "json", "-o", "/dev/null"]
    probe = subprocess.run(
        [sys.executable, "-c", "from katui import speedups; print(speedups.compiled())"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "katui", *args], f"python -m katui in {REPO}", "True" in probe.stdout
    last = (probe.stderr.strip().splitlines() or ["?"])[-1]
    return None, f"katui is not importable from {REPO} ({last})", False


def measure(cmd: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run cmd once; wall time and the child's peak RSS via os.wait4().

    os.wait4() gives this child's own rusage (unlike RUSAGE_CHILDREN, which mixes all
    children).  Caveat: Linux starts a child's ru_maxrss at the parent's peak RSS when
    it execs (vfork shares the parent's mm), so run.py keeps itself small and reports
    that floor (the RSS measured for /bin/true).
    """
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
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
    return "—" if x is None else f"{x:.2f}x"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("capture", nargs="?", help="pcap to measure (default: generated)")
    ap.add_argument(
        "--packets", type=int, default=1_000_000, help="packets of the generated capture (default 1000000)"
    )
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command (default 3)")
    ap.add_argument(
        "--only",
        default="katui,conv,http",
        help="comma list of commands to run: katui,conv,http (default all)",
    )
    ap.add_argument("--timeout", type=float, default=3600, help="per-run timeout in seconds")
    ap.add_argument("--json", metavar="OUT", help="also save the results as JSON")
    a = ap.parse_args(argv)
    only = {s.strip() for s in a.only.split(",") if s.strip()}

    meta = None
    if a.capture:
        capture = Path(a.capture).resolve()
        if not capture.exists():
            print(f"error: {capture} does not exist", file=sys.stderr)
            return 2
    else:
        capture, meta = ensure_capture(a.packets, a.seed)

    info = machine_info()
    npk, first, last = count_packets(capture)
    size = capture.stat().st_size
    warm_cache(capture)  # so the first command is not penalised by a cold page cache
    floor = measure(["/bin/true"], 60)["rss_mb"] if os.path.exists("/bin/true") else None

    cmds: list[tuple[str, list[str] | None, str]] = []
    notes: list[str] = []
    envs: dict[str, dict] = {}
    if "katui" in only:
        kcmd, how, compiled = katui_command(capture)
        if kcmd is None:
            notes.append(f"katui skipped: {how}")
        cmds.append(("katui report --format json", kcmd, how))
        if compiled:
            cmds.append((INTERPRETED, kcmd, how + ", KATUI_PURE=1"))
            envs[INTERPRETED] = dict(os.environ, KATUI_PURE="1")
        elif kcmd is not None:
            notes.append("katui runs interpreted: its compiled core is not built (pip install -e .)")
    tshark = shutil.which("tshark")
    for key, name, args in (
        ("conv", BASELINE, ["-q", "-z", "conv,tcp"]),
        ("http", "tshark -2 http,tree", ["-2", "-q", "-z", "http,tree"]),
    ):
        if key not in only:
            continue
        if tshark is None:
            notes.append(f"{name} skipped: tshark not on PATH (apt-get install tshark)")
            cmds.append((name, None, "tshark missing"))
        else:
            cmds.append((name, [tshark, *args, "-r", str(capture)], "tshark"))

    print()
    print(
        f"machine: nproc={info['nproc']}, {info.get('cpu', '?')}, {info.get('mem_gib', '?')} GiB, "
        f"python {info['python']}, {info['tshark'] or 'tshark: not installed'}"
    )
    dur = f", {last - first:.1f} s of traffic" if first is not None else ""
    pk = f"{npk} packets" if npk >= 0 else "packets: not counted (not a classic pcap)"
    print(f"capture: {capture} — {pk}, {size / 1e6:.1f} MB{dur}")
    if meta:
        print(
            f"         generated: {meta['connections']} connections, {meta['requests']} requests, "
            f"seed {meta['seed']}"
        )
    print(
        f"runs:    {a.repeat} per command, round-robin; best wall and user CPU, max peak RSS"
        + (f" (RSS floor of this harness: {floor:.1f} MB)" if floor else "")
    )
    for n in notes:
        print(f"note:    {n}")
    print(flush=True)

    runs: dict[str, list[dict]] = {name: [] for name, cmd, _ in cmds if cmd}
    for r in range(a.repeat):
        for name, cmd, _how in cmds:
            if cmd is None:
                continue
            if runs[name] and runs[name][-1]["exit"] != 0:
                continue  # failed once: don't insist
            m = measure(cmd, a.timeout, envs.get(name))
            runs[name].append(m)
            status = "ok" if m["exit"] == 0 else f"exit {m['exit']}: {m['stderr_last']}"
            print(
                f"  run {r + 1}/{a.repeat} {name:<40} {m['wall_s']:8.2f} s {m['user_s']:8.2f} s user "
                f"{m['rss_mb']:9.1f} MB  {status}",
                flush=True,
            )

    results: dict[str, dict] = {}
    for name, cmd, how in cmds:
        rs = runs.get(name, [])
        if cmd is None:
            results[name] = {"status": "skipped", "why": how}
        elif any(m["exit"] != 0 for m in rs):
            bad = next(m for m in rs if m["exit"] != 0)
            results[name] = {
                "status": f"failed (exit {bad['exit']})",
                "why": bad["stderr_last"],
                "command": cmd,
                "runs": rs,
            }
        else:
            results[name] = {
                "status": "ok",
                "command": cmd,
                "wall_s": min(m["wall_s"] for m in rs),
                "rss_mb": max(m["rss_mb"] for m in rs),
                "user_s": min(m["user_s"] for m in rs),
                "runs": rs,
            }

    base = results.get(BASELINE, {})
    bw = base.get("wall_s") if base.get("status") == "ok" else None
    br = base.get("rss_mb") if base.get("status") == "ok" else None
    print()
    print("| command | wall s | user s | peak RSS MB | wall vs conv,tcp | RSS vs conv,tcp |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, res in results.items():
        if res["status"] != "ok":
            why = f" — {res['why']}" if res.get("why") else ""
            print(f"| {name} | {res['status']}{why} | | | | |")
            continue
        rw = res["wall_s"] / bw if bw else None
        rr = res["rss_mb"] / br if br else None
        res["wall_ratio"], res["rss_ratio"] = rw, rr
        print(
            f"| {name} | {res['wall_s']:.2f} | {res['user_s']:.2f} | {res['rss_mb']:.1f} | "
            f"{fmt_ratio(rw)} | {fmt_ratio(rr)} |"
        )

    print()
    k = results.get("katui report --format json")
    targets = []
    for label, key, limit in (("wall", "wall_ratio", TARGET_WALL), ("peak RSS", "rss_ratio", TARGET_RSS)):
        if k is None:
            verdict = "n/a (katui not run)"
        elif k["status"] != "ok":
            verdict = f"n/a (katui {k['status']})"
        elif k.get(key) is None:
            verdict = "n/a (no tshark conv,tcp baseline)"
        else:
            verdict = ("PASS" if k[key] <= limit else "FAIL") + f" ({k[key]:.2f}x)"
        targets.append({"target": f"katui {label} <= {limit}x tshark conv,tcp", "verdict": verdict})
        print(f"target: katui {label} <= {limit}x tshark conv,tcp: {verdict}")

    if a.json:
        out = {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": info,
            "capture": {
                "path": str(capture),
                "packets": npk,
                "bytes": size,
                "duration_s": (last - first) if first is not None else None,
                "generator": meta,
            },
            "repeat": a.repeat,
            "rss_floor_mb": floor,
            "results": results,
            "targets": targets,
            "notes": notes,
        }
        Path(a.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"\nsaved {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
