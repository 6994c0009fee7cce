"""Kernel benchmark: time from starting the kernel to its first kernel_info reply, and the
round trip of a small %sql cell (execute_request to idle), with jupyter_client.

Usage: bench/kernel.py WEIR_BINARY [--starts N] [--cells N]
Needs jupyter_client (./scripts/test.sh puts it in .venv). Installs the kernelspec for the
given binary into a scratch JUPYTER_DATA_DIR, so the user's Jupyter setup is untouched.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weir")
    p.add_argument("--starts", type=int, default=10)
    p.add_argument("--cells", type=int, default=100)
    a = p.parse_args()
    scratch = tempfile.mkdtemp(prefix="weir-kernel-bench-")
    os.environ["JUPYTER_DATA_DIR"] = scratch
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(scratch, "runtime")
    subprocess.run([a.weir, "kernel", "install", "--user"], check=True, stdout=subprocess.DEVNULL)
    from jupyter_client import KernelManager  # after JUPYTER_DATA_DIR is set

    starts = []
    for _ in range(a.starts):
        km = KernelManager(kernel_name="arc")
        t = time.perf_counter()
        km.start_kernel(stderr=subprocess.DEVNULL)
        kc = km.client()
        kc.start_channels()
        kc.kernel_info(reply=True, timeout=30)
        starts.append((time.perf_counter() - t) * 1000)
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    km = KernelManager(kernel_name="arc")
    km.start_kernel(stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=30)
    trips = []
    for i in range(a.cells):
        t = time.perf_counter()
        reply = kc.execute_interactive(f"%sql\nSELECT {i} AS i, 'x' AS s", timeout=30, output_hook=lambda m: None)
        trips.append((time.perf_counter() - t) * 1000)
        if reply["content"]["status"] != "ok":
            sys.exit(f"cell failed: {reply['content']}")
    kc.stop_channels()
    km.shutdown_kernel(now=True)

    def show(name, xs):
        xs = sorted(xs)
        print(f"{name:<40} median {statistics.median(xs):8.1f} ms   p90 {xs[int(len(xs) * 0.9) - 1]:8.1f} ms   min {xs[0]:8.1f} ms   (n={len(xs)})")

    show("start -> first kernel_info reply", starts)
    show("small %sql cell round trip", trips)


if __name__ == "__main__":
    main()
