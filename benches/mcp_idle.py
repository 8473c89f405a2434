#!/usr/bin/env python3
"""Idle footprint of `voicebox run` with MCP servers connected (issue 22): voicebox's own RSS,
PSS and threads with no MCP server, then with one stdio and one streamable-HTTP server
(tests/mcp/servers.py, the official Python SDK), the servers' RSS apart, and voicebox's CPU
ticks while idle with them connected.

Usage (release build first: `cargo build --release`; the venv: `bash tests/mcp/venv`):
    python3 benches/mcp_idle.py [--idle 20]

voicebox runs as benches/idle.py runs it: the test ALSA config, warm_up off, no watchdog.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("VOICEBOX_BIN", os.path.join(ROOT, "target/release/voicebox"))
ALSA = os.path.join(ROOT, "tests/alsa/voicebox-test.conf")
SERVERS = os.path.join(ROOT, "tests/mcp/servers.py")
TOKEN = "bench-token"


def status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return -1


def pss_kib(pid):
    for line in open(f"/proc/{pid}/smaps_rollup"):
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return -1


def ticks(pid):
    s = open(f"/proc/{pid}/stat").read()
    f = s[s.rfind(")") + 2:].split()
    return int(f[11]) + int(f[12])


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                s = open(f"/proc/{d}/stat").read()
                if int(s[s.rfind(")") + 2:].split()[1]) == pid:
                    out.append(int(d))
            except (OSError, ValueError):
                pass
    return out


def run(dir, mcp_lines, idle):
    sock = os.path.join(dir, "ctl.sock")
    config = os.path.join(dir, "voicebox.toml")
    with open(config, "w") as f:
        f.write('[ollama]\nurl = "http://127.0.0.1:9"\nwarm_up = false\n'
                f'[button]\nmode = "toggle"\n[control]\nsocket = "{sock}"\n'
                f"[tools]\n{mcp_lines}\n")
    env = dict(os.environ, ALSA_CONFIG_PATH=ALSA, RUST_LOG="info")
    for k in ("WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "OLLAMA_HOST", "NOTIFY_SOCKET"):
        env.pop(k, None)
    log = open(os.path.join(dir, "stderr.log"), "w")
    proc = subprocess.Popen([BIN, "--config", config, "run"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=log)
    want = mcp_lines.count("name =")
    end = time.time() + 60
    while open(log.name).read().count("MCP server connected") < want:
        if time.time() > end:
            sys.exit(f"the servers never connected:\n{open(log.name).read()}")
        time.sleep(0.1)
    time.sleep(idle / 2)
    t0 = ticks(proc.pid)
    time.sleep(idle / 2)
    sample = {
        "rss_kib": status(proc.pid, "VmRSS"),
        "anon_kib": status(proc.pid, "RssAnon"),
        "file_kib": status(proc.pid, "RssFile"),
        "pss_kib": pss_kib(proc.pid),
        "threads": status(proc.pid, "Threads"),
        "idle_ticks": ticks(proc.pid) - t0,
        "children_rss_kib": [status(c, "VmRSS") for c in children(proc.pid)],
    }
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    return sample


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=float, default=20.0, help="seconds idle before sampling")
    args = ap.parse_args()
    python = subprocess.run(["bash", os.path.join(ROOT, "tests/mcp/venv")], check=True,
                            capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="vb-mcp-bench-") as dir:
        http = subprocess.Popen([python, SERVERS, "http", os.path.join(dir, "http.jsonl"), TOKEN],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = int(http.stdout.readline().split()[1])
        try:
            none = run(dir, "", args.idle)
            stdio = f'["{python}", "{SERVERS}", "stdio", "{os.path.join(dir, "stdio.jsonl")}"]'
            both = run(dir, f'[[tools.mcp]]\nname = "home"\nurl = "http://127.0.0.1:{port}/mcp"\n'
                            f'token = "{TOKEN}"\n[[tools.mcp]]\nname = "desk"\ncommand = {stdio}\n',
                       args.idle)
            http_rss = status(http.pid, "VmRSS")
        finally:
            http.terminate()
            http.wait()
    mib = lambda k: f"{k / 1024:.2f} MiB"
    print(f"voicebox idle, no MCP server:        RSS {mib(none['rss_kib'])}, PSS {mib(none['pss_kib'])}, "
          f"(anon {mib(none['anon_kib'])}, file {mib(none['file_kib'])}), {none['threads']} threads, {none['idle_ticks']} ticks in {args.idle / 2:.0f} s")
    print(f"voicebox idle, stdio + HTTP servers: RSS {mib(both['rss_kib'])}, PSS {mib(both['pss_kib'])}, "
          f"(anon {mib(both['anon_kib'])}, file {mib(both['file_kib'])}), {both['threads']} threads, {both['idle_ticks']} ticks in {args.idle / 2:.0f} s")
    print(f"  the stdio server (child): RSS {', '.join(mib(k) for k in both['children_rss_kib'])}; "
          f"the HTTP server (not a child): RSS {mib(http_rss)}")


if __name__ == "__main__":
    main()
