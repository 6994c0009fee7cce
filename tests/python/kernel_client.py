"""Drives the installed `arc` kernelspec (Weir's kernel) with jupyter_client, as JupyterLab
and papermill do: kernel_info, a %sql cell (HTML and text/plain results), completion, a
password prompt (%secret), interrupting a long query, a message with a bad signature, a
replayed message and hostile nesting.

Usage: kernel_client.py KERNEL_LOG_PATH   (JUPYTER_DATA_DIR must hold the kernelspec)
Prints one JSON object of measurements; exits non-zero with a message on the first failure.
"""
import json
import sys
import time

from jupyter_client import KernelManager
from jupyter_client.session import Session

TIMEOUT = 60


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def shell_reply(kc, msg_id, timeout=TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            r = kc.get_shell_msg(timeout=0.5)
        except Exception:
            continue
        if r["parent_header"].get("msg_id") == msg_id:
            return r["content"]
    fail(f"no shell reply to {msg_id} within {timeout}s")


def no_reply(kc, msg_id, what, seconds=3):
    """Checks that no shell reply to msg_id arrives within `seconds`."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            r = kc.get_shell_msg(timeout=0.2)
        except Exception:
            continue
        check(r["parent_header"].get("msg_id") != msg_id, f"{what} answered: {r}")


def run_cell(kc, code, timeout=TIMEOUT, allow_stdin=False, on_stdin=None):
    """Executes code and returns (reply content, outputs) once the kernel is idle again."""
    msg_id = kc.execute(code, allow_stdin=allow_stdin)
    outputs = []
    deadline = time.time() + timeout
    idle = False
    reply = None
    while not (idle and reply):
        if time.time() > deadline:
            fail(f"no reply/idle within {timeout}s for {code!r}; outputs so far: {outputs}")
        if on_stdin is not None:
            try:
                msg = kc.get_stdin_msg(timeout=0.05)
                on_stdin(kc, msg)
            except Exception:
                pass
        if reply is None:
            try:
                r = kc.get_shell_msg(timeout=0.05)
                if r["parent_header"].get("msg_id") == msg_id:
                    reply = r["content"]
            except Exception:
                pass
        try:
            msg = kc.get_iopub_msg(timeout=0.05)
        except Exception:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
        elif kind in ("display_data", "execute_result", "stream", "error", "update_display_data"):
            outputs.append((kind, msg["content"]))
    return reply, outputs


def main():
    log_path = sys.argv[1]
    results = {}
    started = time.perf_counter()
    km = KernelManager(kernel_name="arc")
    with open(log_path, "w") as log:
        km.start_kernel(stderr=log)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=TIMEOUT)
        results["start_to_ready_ms"] = round((time.perf_counter() - started) * 1000, 1)

        # kernel_info
        t = time.perf_counter()
        info = kc.kernel_info(reply=True, timeout=TIMEOUT)["content"]
        results["kernel_info_ms"] = round((time.perf_counter() - t) * 1000, 2)
        check(info["status"] == "ok", f"kernel_info: {info}")
        check(info["implementation"] == "arc", f"implementation: {info}")
        check(info["language_info"]["name"] == "arc", f"language_info: {info}")
        check(info["language_info"]["file_extension"] == ".json", f"file_extension: {info}")

        # A %sql cell: HTML and text/plain both present.
        reply, outputs = run_cell(kc, "%sql outputView=greeting\nSELECT 1 AS one, 'hello' AS word, CAST(NULL AS string) AS nothing")
        check(reply["status"] == "ok", f"%sql reply: {reply} {outputs}")
        tables = [c for k, c in outputs if k == "display_data" and "text/html" in c["data"]]
        check(len(tables) == 1, f"one table expected: {outputs}")
        data = tables[0]["data"]
        check("<table" in data["text/html"] and "<td>hello</td>" in data["text/html"], f"html: {data}")
        check("text/plain" in data and "hello" in data["text/plain"] and "null" in data["text/plain"], f"text: {data}")

        # Round trip of a small cell (median of 20).
        times = []
        for i in range(20):
            t = time.perf_counter()
            reply, _ = run_cell(kc, f"%sql\nSELECT {i} AS i")
            times.append((time.perf_counter() - t) * 1000)
            check(reply["status"] == "ok", f"small cell: {reply}")
        times.sort()
        results["small_sql_roundtrip_ms_median"] = round(times[len(times) // 2], 2)
        results["small_sql_roundtrip_ms_max"] = round(times[-1], 2)

        # Completion: a stage skeleton, and the view just defined.
        comp = kc.complete("Delimited", 9, reply=True, timeout=TIMEOUT)["content"]
        check(comp["status"] == "ok", f"complete: {comp}")
        check(any('"type": "DelimitedExtract"' in m for m in comp["matches"]), f"stage snippets: {comp['matches']}")
        comp = kc.complete("%sql gr", 7, reply=True, timeout=TIMEOUT)["content"]
        check(any("FROM greeting" in m and "word" in m for m in comp["matches"]), f"view snippet: {comp['matches']}")
        check(comp["cursor_start"] == 0 and comp["cursor_end"] == 7, f"replaces the cell: {comp}")

        # is_complete
        ic = shell_reply(kc, kc.is_complete('{"type": "SQLTransform"'))
        check(ic["status"] == "incomplete", f"is_complete: {ic}")

        # %secret asks for a password and masks it.
        prompts = []

        def answer(client, msg):
            prompts.append(msg["content"])
            client.input("s3cr3t-value")

        reply, outputs = run_cell(kc, "%secret\nDB_PASSWORD", allow_stdin=True, on_stdin=answer)
        check(reply["status"] == "ok", f"%secret: {reply} {outputs}")
        check(prompts and prompts[0]["password"] is True, f"password prompt: {prompts}")
        text = json.dumps(outputs)
        check("s3cr3t-value" not in text and "DB_PASSWORD: ************" in text, f"masked: {outputs}")

        # Interrupt a long-running query: the kernel answers and is idle again.
        long_sql = "%sql\nSELECT count(*) FROM range(100000000) a CROSS JOIN range(100000000) b WHERE a.id + b.id = -1"
        msg_id = kc.execute(long_sql)
        time.sleep(2.0)
        t = time.perf_counter()
        km.interrupt_kernel()
        reply = None
        deadline = time.time() + 30
        while reply is None and time.time() < deadline:
            try:
                r = kc.get_shell_msg(timeout=0.5)
            except Exception:
                continue
            if r["parent_header"].get("msg_id") == msg_id:
                reply = r["content"]
        check(reply is not None, "no reply after interrupt within 30 s")
        results["interrupt_to_reply_ms"] = round((time.perf_counter() - t) * 1000, 1)
        check(reply["status"] == "error" and reply["ename"] == "Interrupted", f"interrupted reply: {reply}")
        reply, outputs = run_cell(kc, "%sql\nSELECT 'after interrupt' AS state", timeout=30)
        check(reply["status"] == "ok" and "after interrupt" in json.dumps(outputs), f"after interrupt: {reply} {outputs}")

        # A message signed with the wrong key is ignored (and logged), not executed.
        bad = Session(key=b"not-the-kernel-key", username="intruder")
        bad_msg = bad.send(
            kc.shell_channel.socket,
            "execute_request",
            {"code": "%env\nINTRUDER=1", "silent": False, "store_history": True,
             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        )
        no_reply(kc, bad_msg["header"]["msg_id"], "bad message")
        reply, outputs = run_cell(kc, "%env")
        check("INTRUDER" not in json.dumps(outputs), f"bad message executed: {outputs}")

        # A correctly signed message sent twice (a replay) is executed once.
        content = {"code": "%sql\nSELECT 'replayed' AS state", "silent": False, "store_history": True,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}
        msg = kc.session.msg("execute_request", content)
        kc.session.send(kc.shell_channel.socket, msg)
        first = shell_reply(kc, msg["header"]["msg_id"])
        check(first["status"] == "ok", f"replay original: {first}")
        kc.session.send(kc.shell_channel.socket, msg)
        no_reply(kc, msg["header"]["msg_id"], "replayed message")
        reply, _ = run_cell(kc, "%sql\nSELECT 'after replay' AS state")
        check(reply["execution_count"] == first["execution_count"] + 1,
              f"replay executed: counts {first['execution_count']} then {reply['execution_count']}")

        # Hostile nesting is an error with a location, not a dead kernel.
        for code in ["[" * 10000 + "]" * 10000, '{"a":' * 10000 + "1" + "}" * 10000, "{ " + "a." * 10000 + "b = 1 }"]:
            reply, outputs = run_cell(kc, code, timeout=30)
            check(reply["status"] == "error", f"deep nesting accepted: {reply}")
            check("nested more than" in reply["evalue"] and "line 1" in reply["evalue"], f"deep nesting error: {reply}")
        reply, outputs = run_cell(kc, "%sql\nSELECT 'still alive' AS state", timeout=30)
        check(reply["status"] == "ok" and "still alive" in json.dumps(outputs), f"after deep nesting: {reply}")
    finally:
        km.shutdown_kernel(now=False)
    log = open(log_path).read()
    check("invalid HMAC signature" in log, f"bad signature logged: {log[-2000:]}")
    check("a replay of message" in log, f"replay logged: {log[-2000:]}")
    check("s3cr3t-value" not in log, "secret leaked into the kernel log")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
