#!/usr/bin/env python3
"""Idle footprint, start-up to READY=1 and press-to-first-captured-frame of `voicebox run`,
with the Python peer wyoming-satellite measured in the same run (perf-anchors.md sections 2, 7).

Usage (release build first: `cargo build --release`):
    python3 benches/idle.py                  # full: N=3 idle runs of 60 s, 10 start-ups, 20 presses
    python3 benches/idle.py --runs 1 --idle 20 --starts 5 --presses 10   # quicker look
    python3 benches/idle.py --short          # smoke check: 5 s idle, no peer; exits 1 when
                                             # tree RSS > 6 MiB or any CPU tick is used idle
    python3 benches/idle.py --short --timers 20 --idle 30   # the same with 20 pending timers
                                             # (set over the control socket before the window)
The peer: `python3 -m venv target/satellite-venv && target/satellite-venv/bin/pip install
wyoming-satellite` (skipped with a note when absent), started exactly as perf-anchors.md
section 2 says, with a paced mic (`pv -q -L 32000 /dev/zero`, Debian package pv).

Method (perf-anchors.md "Sampling method"): /proc sampling of the whole process tree (the
started pid plus its descendants): VmRSS and Threads from status, Pss from smaps_rollup,
utime+stime ticks from stat, schedstat run time and voluntary+involuntary context switches per
task. voicebox runs on the test ALSA config (no sound card), with `ollama.warm_up = false`, no
watchdog (no WATCHDOG_USEC), its control socket in a temp dir. "Ready" is READY=1 on a
NOTIFY_SOCKET datagram listener for voicebox, and the first accepted TCP connect for the
satellite. Idle runs of both targets overlap in time (they share no pages: different binaries).
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("VOICEBOX_BIN", os.path.join(ROOT, "target/release/voicebox"))
VENV = os.environ.get("SATELLITE_VENV", os.path.join(ROOT, "target/satellite-venv"))
ALSA = os.path.join(ROOT, "tests/alsa/voicebox-test.conf")
TICK = os.sysconf("SC_CLK_TCK")


def tree(pid):
    """pid and all its descendants."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                s = open(f"/proc/{d}/stat").read()
                parent[int(d)] = int(s[s.rfind(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(c for c, pp in parent.items() if pp == p)
    return out


def kv(path):
    d = {}
    try:
        for line in open(path):
            k, _, v = line.partition(":")
            d[k.strip()] = v.split()[0] if v.split() else ""
    except OSError:
        pass
    return d


def sample(pid):
    """Tree totals: rss and pss in KiB, threads, cpu ticks, schedstat ns, context switches."""
    t = dict(rss=0, pss=0, threads=0, ticks=0, sched_ns=0, ctx=0, procs=0, main_threads=0)
    for p in tree(pid):
        st = kv(f"/proc/{p}/status")
        if not st:
            continue
        t["procs"] += 1
        t["rss"] += int(st.get("VmRSS", 0))
        t["threads"] += int(st.get("Threads", 0))
        if p == pid:
            t["main_threads"] = int(st.get("Threads", 0))
        t["pss"] += int(kv(f"/proc/{p}/smaps_rollup").get("Pss", 0))
        try:
            s = open(f"/proc/{p}/stat").read()
            f = s[s.rfind(")") + 2:].split()
            t["ticks"] += int(f[11]) + int(f[12])
            for task in os.listdir(f"/proc/{p}/task"):
                t["sched_ns"] += int(open(f"/proc/{p}/task/{task}/schedstat").read().split()[0])
                ts = kv(f"/proc/{p}/task/{task}/status")
                t["ctx"] += int(ts.get("voluntary_ctxt_switches", 0))
                t["ctx"] += int(ts.get("nonvoluntary_ctxt_switches", 0))
        except (OSError, ValueError, IndexError):
            pass
    return t


def stop(proc):
    """Children first, SIGTERM then SIGKILL after 3 s (perf-anchors.md)."""
    for p in reversed(tree(proc.pid)):
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        for p in reversed(tree(proc.pid)):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        proc.wait()


class Voicebox:
    name = "voicebox run"

    def __init__(self, log_level="info", timers=0):
        self.timers = timers
        self.dir = tempfile.mkdtemp(prefix="vb-bench-")
        self.sock = os.path.join(self.dir, "ctl.sock")
        self.config = os.path.join(self.dir, "voicebox.toml")
        with open(self.config, "w") as f:
            f.write('[ollama]\nurl = "http://127.0.0.1:9"\nwarm_up = false\n'
                    f'[button]\nmode = "toggle"\n[control]\nsocket = "{self.sock}"\n')
        self.log_level = log_level

    def start(self):
        """Starts it; returns (proc, seconds to READY=1, tick count at ready)."""
        notify = os.path.join(self.dir, "notify.sock")
        if os.path.exists(notify):
            os.unlink(notify)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.bind(notify)
        listener.settimeout(10)
        env = dict(os.environ, NOTIFY_SOCKET=notify, ALSA_CONFIG_PATH=ALSA,
                   RUST_LOG=self.log_level, STATE_DIRECTORY=self.dir)
        for k in ("WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "OLLAMA_HOST"):
            env.pop(k, None)
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        t0 = time.perf_counter()
        proc = subprocess.Popen([BIN, "--config", self.config, "run"], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        while True:
            msg = listener.recv(4096).decode()
            if "READY=1" in msg:
                break
        ready = time.perf_counter() - t0
        # Pending timers, due long after the idle window (the first at +1 h, then a minute
        # apart): set before the window starts, so it measures waiting between due times.
        for i in range(self.timers):
            call = {"name": "set_timer", "arguments": {"seconds": 3600 + 60 * i,
                                                        "label": f"timer {i}"}, "lang": "en"}
            reply = ctl(self.sock, "tool " + json.dumps(call))
            assert reply.startswith("ok "), reply
        if self.timers:
            assert json.loads(ctl(self.sock, "status"))["timers"] == self.timers
        cpu = sample(proc.pid)["sched_ns"]
        listener.close()
        return proc, ready, cpu


class Satellite:
    name = "wyoming-satellite (--no-zeroconf, paced mic)"

    def __init__(self, port=10700):
        self.port = port
        self.python = os.path.join(VENV, "bin/python")

    def available(self):
        return os.path.exists(self.python) and subprocess.run(
            ["sh", "-c", "command -v pv"], stdout=subprocess.DEVNULL).returncode == 0

    def start(self):
        cmd = [self.python, "-m", "wyoming_satellite", "--name", "bench", "--uri",
               f"tcp://127.0.0.1:{self.port}", "--mic-command", "pv -q -L 32000 /dev/zero",
               "--snd-command", "sh -c 'cat > /dev/null'", "--no-zeroconf"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("wyoming-satellite exited at start")
                time.sleep(0.001)
        ready = time.perf_counter() - t0
        return proc, ready, sample(proc.pid)["sched_ns"]


def stats(v):
    v = [x for x in v if x is not None]
    if not v:
        return "n/a"
    return f"{statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f}, N={len(v)})"


def med(v):
    return statistics.median(v) if v else float("nan")


def idle(targets, runs, secs):
    """{name: {metric: [values]}} for each target, runs overlapping in time."""
    res = {t.name: {} for t in targets}
    for r in range(runs):
        live = [(t, *t.start()) for t in targets]
        base = {t.name: sample(p.pid) for t, p, _, _ in live}
        marks = sorted({10, secs} if secs > 10 else {secs})
        start = time.monotonic()
        for mark in marks:
            time.sleep(max(0, start + mark - time.monotonic()))
            for t, p, _, _ in live:
                if p.poll() is not None:
                    raise RuntimeError(f"{t.name} exited during the idle run")
                s, b = sample(p.pid), base[t.name]
                m = res[t.name]
                m.setdefault(f"tree RSS @{mark}s (MiB)", []).append(s["rss"] / 1024)
                m.setdefault(f"tree PSS @{mark}s (MiB)", []).append(s["pss"] / 1024)
                if mark == marks[-1]:
                    m.setdefault(f"CPU ticks ready→+{mark}s (tree)", []).append(s["ticks"] - b["ticks"])
                    m.setdefault(f"schedstat ready→+{mark}s (ms, tree)", []).append((s["sched_ns"] - b["sched_ns"]) / 1e6)
                    m.setdefault(f"context switches ready→+{mark}s (tree)", []).append(s["ctx"] - b["ctx"])
                    m.setdefault(f"threads @{mark}s (main)", []).append(s["main_threads"])
                    m.setdefault(f"processes @{mark}s", []).append(s["procs"])
        for _, p, _, _ in live:
            stop(p)
        print(f"  idle run {r + 1}/{runs} done", file=sys.stderr)
    return res


def startups(targets, n):
    res = {t.name: {"start → ready (ms)": [], "CPU until ready (ms, schedstat, tree)": []}
           for t in targets}
    for i in range(n + 2):  # 2 warm-ups (page cache), variants interleaved
        for t in targets:
            p, ready, cpu_ns = t.start()
            stop(p)
            if i >= 2:
                res[t.name]["start → ready (ms)"].append(ready * 1e3)
                res[t.name]["CPU until ready (ms, schedstat, tree)"].append(cpu_ns / 1e6)
    return res


def ctl(sock, line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall(line.encode() + b"\n")
    reply = s.makefile().readline().strip()
    s.close()
    return reply


def presses(n):
    """Press (sent on the control socket) → the daemon's loop handling the first captured
    frame (its DEBUG line "first frame captured", timestamped by tracing in UTC, µs)."""
    vb = Voicebox(log_level="info,voicebox::app=debug")
    p, _, _ = vb.start()
    out = []
    try:
        for i in range(n + 2):
            time.sleep(0.3)
            t0 = time.time()
            assert ctl(vb.sock, "press") == "ok"
            while True:
                line = p.stderr.readline()
                if not line:
                    raise RuntimeError("voicebox exited")
                if "first frame captured" in line:
                    break
            ts = line.split()[0].rstrip("Z")
            frac = ts.split(".")[1] if "." in ts else "0"
            when = datetime.strptime(ts.split(".")[0], "%Y-%m-%dT%H:%M:%S").replace(
                tzinfo=__import__("datetime").timezone.utc).timestamp() + float("0." + frac)
            # Release like a finger would (a press never released holds the button down, and
            # the machine then treats the next press as part of it), then end the turn.
            assert ctl(vb.sock, "release") == "ok"
            assert ctl(vb.sock, "cancel") == "ok"
            if i >= 2:
                out.append((when - t0) * 1e3)
            while json.loads(ctl(vb.sock, "status"))["state"] != "idle":
                time.sleep(0.01)
    finally:
        stop(p)
    return out


def sizes():
    rows = []
    for label, path, strip in [
        ("x86_64 release", BIN, "strip"),
        ("aarch64 release", os.path.join(ROOT, "target/aarch64-unknown-linux-gnu/release/voicebox"),
         "aarch64-linux-gnu-strip"),
    ]:
        if not os.path.exists(path):
            rows.append((label, "not built", ""))
            continue
        out = os.path.join(tempfile.mkdtemp(), "voicebox")
        subprocess.run([strip, "--strip-all", "-o", out, path], check=True)
        rows.append((label, os.path.getsize(path), os.path.getsize(out)))
    return rows


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return f"nproc {os.cpu_count()}, {cpu}, load average {open('/proc/loadavg').read().split()[:3]}"


def table(title, res, order, ratio_to=None):
    print(f"\n{title}\n")
    names = list(res)
    head = "| metric | " + " | ".join(names) + (" | ratio peer/voicebox |" if ratio_to else " |")
    print(head)
    print("|---" * (len(names) + 1 + (1 if ratio_to else 0)) + "|")
    metrics = [m for m in order if any(m in res[n] for n in names)]
    for m in metrics:
        cells = [stats(res[n].get(m, [])) for n in names]
        line = f"| {m} | " + " | ".join(cells)
        if ratio_to and len(names) == 2:
            a, b = res[names[1]].get(m, []), res[names[0]].get(m, [])
            line += f" | {med(a) / med(b):.1f}×" if a and b and med(b) > 0 else " | –"
        print(line + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--idle", type=int, default=60)
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--presses", type=int, default=20)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--timers", type=int, default=0,
                    help="pending timers set before each idle window (tools.max_timers: 20)")
    a = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} missing: run `cargo build --release` first")
    if a.short:
        secs = a.idle if a.timers else 5
        res = idle([Voicebox(timers=a.timers)], 1, secs)["voicebox run"]
        rss, ticks = res[f"tree RSS @{secs}s (MiB)"][0], res[f"CPU ticks ready→+{secs}s (tree)"][0]
        print(f"idle smoke ({a.timers} timers pending): tree RSS {rss:.2f} MiB (limit 6), "
              f"CPU ticks over {secs} s {ticks} (limit 0), "
              f"context switches {res[f'context switches ready→+{secs}s (tree)'][0]}")
        sys.exit(0 if rss <= 6 and ticks == 0 else 1)

    targets = [Voicebox(timers=a.timers)]
    sat = Satellite()
    if not a.no_peer:
        if sat.available():
            targets.append(sat)
        else:
            print(f"(peer skipped: no {sat.python} or no pv)", file=sys.stderr)
    print(f"machine: {machine()}")
    res = idle(targets, a.runs, a.idle)
    marks = sorted({10, a.idle})
    order = []
    for mk in marks:
        order += [f"tree RSS @{mk}s (MiB)", f"tree PSS @{mk}s (MiB)"]
    order += [f"CPU ticks ready→+{a.idle}s (tree)", f"schedstat ready→+{a.idle}s (ms, tree)",
              f"context switches ready→+{a.idle}s (tree)", f"threads @{a.idle}s (main)",
              f"processes @{a.idle}s"]
    table(f"Idle footprint, median (min–max, N), {a.idle} s idle per run", res, order, ratio_to=True)
    st = startups(targets, a.starts)
    table("Start → ready: voicebox READY=1 on NOTIFY_SOCKET; satellite accepting TCP",
          st, ["start → ready (ms)", "CPU until ready (ms, schedstat, tree)"], ratio_to=True)
    pr = presses(a.presses)
    print("\nPress → first captured frame (control socket `press` → the loop handles "
          "CaptureStarted), test ALSA device\n")
    print("| measure | median ms | min | max | N |\n|---|---|---|---|---|")
    print(f"| press → first frame | {med(pr):.2f} | {min(pr):.2f} | {max(pr):.2f} | {len(pr)} |")
    print("\nBinary size (bytes)\n\n| build | as built | stripped |\n|---|---|---|")
    for label, built, stripped in sizes():
        print(f"| {label} | {built} | {stripped} |")
    print(f"\nmachine after: {machine()}")


if __name__ == "__main__":
    main()
