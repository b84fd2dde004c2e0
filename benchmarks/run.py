#!/usr/bin/env python3
"""katui's reports against tshark and tcptrace on two captures: wall, user CPU, peak RSS.

    python benchmarks/run.py [--capture AB.pcap] [--synthetic FILE] [--repeat R] [--quick]
                             [--only json,md,text,pure,conv,http,tcptrace,ui] [--json OUT]
                             [--compare OTHER_CHECKOUT]

The two captures: a real one, ApacheBench against nginx on loopback (made by make_ab_capture.sh
and cached in benchmarks/.cache/, or the file given with --capture), and the synthetic load test
of make_capture.py (cached the same way, or --synthetic FILE). On each, round-robin, --repeat
times, after one read of the file into the page cache: katui's JSON, Markdown and text reports
(compiled, and interpreted with KATUI_PURE=1 beside them when the compiled core is built),
``tshark -q -z conv,tcp`` (the baseline of every ratio), ``tshark -2 -q -z http,tree`` and
``tcptrace -n``. Best wall and user CPU, highest peak RSS. And the TUI (``ui``, ui_load.py):
seconds from launching it to the first listed connection and to the whole list. This is a
report, not a test: it exits 0 unless a capture is missing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness import REPO, count_packets, fmt_ratio, machine_info, measure, warm_cache

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
MAKE = HERE / "make_capture.py"
MAKE_AB = HERE / "make_ab_capture.sh"

TARGET_WALL = 0.25  # katui json wall <= 0.25 x tshark conv,tcp (issue 13)
TARGET_RSS = 0.1  # katui json peak RSS <= 0.1 x tshark conv,tcp
TARGET_FORMAT = 1.5  # markdown and text each within 1.5 x the JSON time
TARGET_UI_FIRST = 0.3  # TUI: first rows within 0.3 s of launch
TARGET_UI_LOADED = 2.0  # TUI: the whole list of the ab capture within 2 s
UI_LOAD = HERE / "ui_load.py"
BASELINE = "tshark conv,tcp"
FORMATS = ("json", "md", "text")
ALL = "json,md,text,pure,conv,http,tcptrace,ui"
# (packets of the synthetic capture, ab keep-alive requests, ab one-request connections)
FULL = (1_000_000, 200_000, 40_000)
QUICK = (100_000, 20_000, 4_000)


def _cached(path: Path, params: dict, make) -> Path:
    """``path`` if it was made with ``params`` (recorded beside it), else made again by ``make``."""
    meta = path.with_suffix(".params.json")
    if path.exists() and meta.exists():
        try:
            if json.loads(meta.read_text()) == params:
                print(f"reusing cached capture {path.relative_to(REPO)}")
                return path
        except ValueError:
            pass
    print(f"making {path.relative_to(REPO)} ...", flush=True)
    t0 = time.perf_counter()
    make(path)
    print(f"  made in {time.perf_counter() - t0:.1f} s", flush=True)
    meta.write_text(json.dumps(params) + "\n")
    return path


def synthetic_capture(packets: int, seed: int) -> Path:
    """make_capture.py's load test (deterministic), cached per packet count, seed, generator."""
    path = CACHE / f"capture-{packets}-seed{seed}.pcap"
    params = {"packets": packets, "seed": seed, "generator_mtime": MAKE.stat().st_mtime_ns}
    cmd = [sys.executable, str(MAKE), "--packets", str(packets), "--seed", str(seed)]
    return _cached(path, params, lambda p: subprocess.run([*cmd[:2], str(p), *cmd[2:]], check=True))


def ab_capture(keepalive: int, close: int) -> Path:
    """ab against nginx on loopback (make_ab_capture.sh; needs root, nginx, tcpdump, ab), cached
    per request counts and script. Its own counts (nginx's log, ab, tcpdump) sit beside it."""
    path = CACHE / f"ab-k{keepalive}-close{close}.pcap"
    params = {"keepalive": keepalive, "close": close, "script_mtime": MAKE_AB.stat().st_mtime_ns}
    cmd = ["bash", str(MAKE_AB)]
    return _cached(
        path, params, lambda p: subprocess.run([*cmd, str(p), str(keepalive), str(close)], check=True)
    )


def katui_compiled() -> bool | None:
    """Whether this checkout's compiled core is built (None: katui does not import from here)."""
    probe = subprocess.run(
        [sys.executable, "-c", "from katui import speedups; print(speedups.compiled())"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    return None if probe.returncode else "True" in probe.stdout


KATUI_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""katui runs as an installed katui does: with Python's bytecode cache (pip writes it at install
time). A shell with PYTHONDONTWRITEBYTECODE=1 would make every run compile katui's interpreted
modules from source again (~30 ms and 8 % of the instructions of a 200k-frame JSON run)."""


def commands(capture: Path, a, compiled: bool | None, notes: list[str]) -> list[tuple]:
    """(name, argv, env, cwd) of every command to run on ``capture``; argv None = skipped (why
    in notes)."""
    only = a.only
    cmds: list[tuple] = []
    for fmt in FORMATS:
        if fmt not in only:
            continue
        # python -m katui from this checkout (its cwd), not whatever katui is on PATH.
        argv = [sys.executable, "-m", "katui", "report", str(capture), "--format", fmt, "-o", os.devnull]
        cmds.append((f"katui {fmt}", argv if compiled is not None else None, KATUI_ENV, REPO))
        if a.compare:  # the same from another checkout, run back to back with this one
            cmds.append((f"katui {fmt} @{a.compare.name}", argv, KATUI_ENV, a.compare))
        if compiled and "pure" in only:
            cmds.append((f"katui {fmt} (interpreted)", argv, dict(KATUI_ENV, KATUI_PURE="1"), REPO))
    if compiled is None:
        notes.append(f"katui skipped: it does not import from {REPO}")
    elif not compiled:
        notes.append("katui runs interpreted: its compiled core is not built (pip install -e .)")
    tshark, tcptrace = shutil.which("tshark"), shutil.which("tcptrace")
    for key, name, tool, args in (
        ("conv", BASELINE, tshark, ["-q", "-z", "conv,tcp", "-r", str(capture)]),
        ("http", "tshark -2 http,tree", tshark, ["-2", "-q", "-z", "http,tree", "-r", str(capture)]),
        ("tcptrace", "tcptrace -n", tcptrace, ["-n", str(capture)]),
    ):
        if key in only:
            cmds.append((name, [tool, *args] if tool else None, None, REPO))
            if not tool:
                notes.append(f"{name} skipped: not on PATH (apt-get install {name.split()[0]})")
    return cmds


def run_all(cmds: list[tuple], repeat: int, timeout: float) -> dict[str, dict]:
    """Every command ``repeat`` times, round-robin; the best wall and user CPU, the highest RSS."""
    runs: dict[str, list[dict]] = {name: [] for name, argv, _env, _cwd in cmds if argv}
    for r in range(repeat):
        for name, argv, env, cwd in cmds:
            if argv is None or (runs[name] and runs[name][-1]["exit"] != 0):
                continue  # skipped, or failed once: don't insist
            m = measure(argv, timeout, env, cwd)
            runs[name].append(m)
            status = "ok" if m["exit"] == 0 else f"exit {m['exit']}: {m['stderr_last']}"
            print(
                f"  run {r + 1}/{repeat} {name:<28} {m['wall_s']:8.2f} s {m['user_s']:8.2f} s user "
                f"{m['rss_mb']:8.1f} MB  {status}",
                flush=True,
            )
    results: dict[str, dict] = {}
    for name, argv, _env, _cwd in cmds:
        rs = runs.get(name, [])
        bad = next((m for m in rs if m["exit"] != 0), None)
        if argv is None:
            results[name] = {"status": "skipped"}
        elif bad:
            results[name] = {"status": f"failed (exit {bad['exit']})", "why": bad["stderr_last"], "runs": rs}
        else:
            results[name] = {
                "status": "ok",
                "command": argv,
                "wall_s": min(m["wall_s"] for m in rs),
                "user_s": min(m["user_s"] for m in rs),
                "rss_mb": max(m["rss_mb"] for m in rs),
                "runs": rs,
            }
    return results


def ui_load(capture: Path, repeat: int, timeout: float) -> dict:
    """The TUI on ``capture`` (ui_load.py, headless, 100x30), ``repeat`` times: the best seconds
    from launching the process to its first listed row and to the whole list."""
    runs = []
    for r in range(repeat):
        t0 = time.time()
        p = subprocess.run(
            [sys.executable, str(UI_LOAD), str(capture), "--t0", repr(t0), "--timeout", str(timeout)],
            cwd=REPO,
            env=KATUI_ENV,
            capture_output=True,
            text=True,
        )
        last = (p.stdout.strip().splitlines() or [""])[-1]
        try:
            got = json.loads(last)
        except ValueError:
            why = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
            return {"status": f"failed (exit {p.returncode})", "why": why}
        runs.append(got)
        print(
            f"  run {r + 1}/{repeat} katui TUI: first rows {got['first_rows_s']:.2f} s, whole list "
            f"({got['rows']} rows) {got['loaded_s']:.2f} s",
            flush=True,
        )
    ok = [g for g in runs if g["loaded_s"] is not None and not g["failed"]]
    if not ok:
        return {"status": "failed (did not load)", "runs": runs}
    return {
        "status": "ok",
        "first_rows_s": min(g["first_rows_s"] for g in ok),
        "loaded_s": min(g["loaded_s"] for g in ok),
        "rows": ok[0]["rows"],
        "runs": runs,
    }


def ui_targets(ui: dict, label: str) -> list[dict]:
    """The TUI's targets: first rows always, the whole list on the ab capture."""
    out = []
    checks = [("first rows", "first_rows_s", TARGET_UI_FIRST)]
    if label == "ab":
        checks.append(("whole list", "loaded_s", TARGET_UI_LOADED))
    for what, key, limit in checks:
        have = ui.get(key)
        verdict = f"n/a ({ui['status']})" if have is None else _verdict(have, limit, " s")
        out.append({"target": f"katui TUI {what} <= {limit} s after launch", "verdict": verdict})
    for t in out:
        print(f"target: {t['target']}: {t['verdict']}")
    return out


def table(results: dict[str, dict]) -> None:
    """The results as a Markdown table with the ratios against tshark conv,tcp."""
    base = results.get(BASELINE, {})
    bw, bu, br = (base.get(k) for k in ("wall_s", "user_s", "rss_mb"))
    print(
        "| command | wall s | user s | peak RSS MB | wall vs conv,tcp | user vs conv,tcp | RSS vs conv,tcp |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, res in results.items():
        if res["status"] != "ok":
            why = f" — {res['why']}" if res.get("why") else ""
            print(f"| {name} | {res['status']}{why} | | | | | |")
            continue
        res["wall_ratio"] = res["wall_s"] / bw if bw else None
        res["user_ratio"] = res["user_s"] / bu if bu else None
        res["rss_ratio"] = res["rss_mb"] / br if br else None
        print(
            f"| {name} | {res['wall_s']:.2f} | {res['user_s']:.2f} | {res['rss_mb']:.1f} | "
            + " | ".join(fmt_ratio(res[k]) for k in ("wall_ratio", "user_ratio", "rss_ratio"))
            + " |"
        )


def targets(results: dict[str, dict]) -> list[dict]:
    """Issue 13's targets, PASS/FAIL or n/a with the reason."""
    out = []
    k = results.get("katui json", {})
    for label, key, limit in (("wall", "wall_ratio", TARGET_WALL), ("peak RSS", "rss_ratio", TARGET_RSS)):
        have = k.get(key)
        verdict = "n/a (no katui json and conv,tcp result)" if have is None else _verdict(have, limit)
        out.append({"target": f"katui json {label} <= {limit}x tshark conv,tcp", "verdict": verdict})
    for fmt in FORMATS[1:]:
        r = results.get(f"katui {fmt}", {})
        have = r["wall_s"] / k["wall_s"] if r.get("wall_s") and k.get("wall_s") else None
        verdict = f"n/a (no katui {fmt} and json result)" if have is None else _verdict(have, TARGET_FORMAT)
        out.append({"target": f"katui {fmt} wall <= {TARGET_FORMAT}x katui json", "verdict": verdict})
    for t in out:
        print(f"target: {t['target']}: {t['verdict']}")
    return out


def _verdict(have: float, limit: float, unit: str = "x") -> str:
    return ("PASS" if have <= limit else "FAIL") + f" ({have:.2f}{unit})"


def bench(capture: Path, label: str, a, compiled: bool | None) -> dict:
    """Measure every command on one capture and print its table and targets."""
    notes: list[str] = []
    cmds = commands(capture, a, compiled, notes)
    npk, first, last = count_packets(capture)
    warm_cache(capture)  # so the first command is not penalised by a cold page cache
    pk = f"{npk} packets" if npk >= 0 else "packets not counted (not a classic pcap)"
    dur = f", {last - first:.1f} s of traffic" if first is not None else ""
    print(f"\n## {label}: {capture} — {pk}, {capture.stat().st_size / 1e6:.1f} MB{dur}")
    counted = capture.with_suffix(".json")
    if counted.exists() and label == "ab":
        print(f"what the software counted ({counted.name}): {json.dumps(json.loads(counted.read_text()))}")
    for n in notes:
        print(f"note: {n}")
    results = run_all(cmds, a.repeat, a.timeout)
    ui = ui_load(capture, a.repeat, a.timeout) if "ui" in a.only and compiled is not None else None
    print()
    table(results)
    print()
    found = targets(results)
    if ui is not None:
        found += ui_targets(ui, label)
    return {
        "label": label,
        "path": str(capture),
        "packets": npk,
        "bytes": capture.stat().st_size,
        "duration_s": (last - first) if first is not None else None,
        "results": results,
        "ui": ui,
        "targets": found,
        "notes": notes,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, make or find both captures, measure, print (and save) the results."""
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--capture", help="the real capture to measure (default: ab against nginx, made once)")
    ap.add_argument("--synthetic", help="the second capture (default: make_capture.py's, made once)")
    ap.add_argument("--no-synthetic", action="store_true", help="measure only the real capture")
    ap.add_argument("--seed", type=int, default=1, help="make_capture.py's seed (default 1)")
    ap.add_argument("--repeat", type=int, default=None, help="runs per command (default 3; 1 with --quick)")
    ap.add_argument("--quick", action="store_true", help="captures a tenth of the size, one run each")
    ap.add_argument("--only", default=ALL, help=f"comma list of what to run (default {ALL})")
    ap.add_argument("--timeout", type=float, default=1800, help="per-run timeout in seconds")
    ap.add_argument("--json", metavar="OUT", help="also save the results as JSON")
    ap.add_argument(
        "--compare",
        metavar="DIR",
        type=lambda p: Path(os.path.abspath(p)),
        help="also run katui from the checkout DIR, right after this one's (before/after pairs)",
    )
    a = ap.parse_args(argv)
    a.only = {s.strip() for s in a.only.split(",") if s.strip()}
    a.repeat = a.repeat or (1 if a.quick else 3)
    packets, keepalive, close = QUICK if a.quick else FULL

    CACHE.mkdir(parents=True, exist_ok=True)
    captures = []
    for label, given, make in (
        ("ab", a.capture, lambda: ab_capture(keepalive, close)),
        ("synthetic", None if a.no_synthetic else a.synthetic, lambda: synthetic_capture(packets, a.seed)),
    ):
        if label == "synthetic" and a.no_synthetic:
            continue
        path = Path(given).resolve() if given else make()
        if not path.exists():
            print(f"run.py: {path} does not exist", file=sys.stderr)
            return 2
        captures.append((label, path))

    info = machine_info()
    compiled = katui_compiled()
    floor = measure(["/bin/true"], 60)["rss_mb"]
    print(
        f"\nmachine: nproc={info['nproc']}, {info.get('cpu', '?')}, {info.get('mem_gib', '?')} GiB, "
        f"python {info['python']}, {info['tshark'] or 'tshark: not installed'}; "
        f"katui core: {'compiled' if compiled else 'interpreted' if compiled is False else 'not importable'}"
    )
    print(
        f"runs: {a.repeat} per command, round-robin; best wall and user CPU, max peak RSS "
        f"(RSS floor of this harness: {floor:.1f} MB); 'MB' is ru_maxrss / 1024 (MiB)"
    )
    done = [bench(path, label, a, compiled) for label, path in captures]
    if a.json:
        out = {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": info,
            "repeat": a.repeat,
            "rss_floor_mb": floor,
            "captures": done,
        }
        Path(a.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"\nsaved {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
