"""Job service benchmark: idle RSS, file-drop-to-run-start latency with the default poll
interval, and runs per second with a trivial job.

Usage: bench/service.py WEIR_BINARY [--drops N] [--runs N] [--workers N]
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request

TOKEN = "bench-token"
JOB = json.dumps({"stages": [{"type": "SQLTransform", "name": "one", "environments": ["dev"],
                              "outputView": "o", "sql": "SELECT 1 AS one", "persist": True}]})


def api(addr, path):
    req = urllib.request.Request(f"http://{addr}{path}", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def runs(addr):
    return api(addr, "/api/runs?limit=10000")["runs"]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def drop(data, name):
    tmp = os.path.join(data, f".{name}.tmp")
    with open(tmp, "w") as f:
        f.write(JOB)
    os.rename(tmp, os.path.join(data, "trigger", name))
    return time.time()


def wait_done(addr, n, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rs = runs(addr)
        if len(rs) >= n and all(r["status"] not in ("queued", "running") for r in rs):
            return rs
        time.sleep(0.05)
    raise SystemExit(f"runs did not finish: {len(runs(addr))}")


def ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weir")
    p.add_argument("--drops", type=int, default=10)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    data = tempfile.mkdtemp(prefix="weir-service-bench-")
    env = dict(os.environ, WEIR_API_TOKEN=TOKEN, RUST_LOG="warn")
    proc = subprocess.Popen([a.weir, "serve", "--allow-root", "--data-dir", data, "--listen", "127.0.0.1:0", "--env", "dev",
                             "--workers", str(a.workers)], env=env, stderr=subprocess.PIPE, text=True)
    addr = None
    for line in proc.stderr:
        if line.startswith("weir serve: http://"):
            addr = line.split("http://")[1].split("/")[0]
            break
    try:
        time.sleep(2)
        idle = rss_mib(proc.pid)
        latencies = []
        for i in range(a.drops):
            t = drop(data, f"latency_{i}.json")
            rs = wait_done(addr, i + 1)
            run = next(r for r in rs if r["job"].endswith(f"latency_{i}.json"))
            latencies.append((ts(run["started_at"]) - t) * 1000)
        start = time.time()
        for i in range(a.runs):
            drop(data, f"burst_{i}.json")
        wait_done(addr, a.drops + a.runs)
        elapsed = time.time() - start
        busy = rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)
    latencies.sort()
    print(f"idle RSS of weir serve:           {idle:.1f} MiB (after {a.drops + a.runs} runs: {busy:.1f} MiB)")
    print(f"file drop -> run start:           median {statistics.median(latencies):.0f} ms, max {latencies[-1]:.0f} ms (n={len(latencies)}, default 250 ms poll, a file must be seen unchanged twice)")
    print(f"trivial runs, {a.workers} workers:          {a.runs / elapsed:.1f} runs/s ({a.runs} runs in {elapsed:.1f} s, drop to all finished)")


if __name__ == "__main__":
    main()
