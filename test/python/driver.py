"""Runs clients/python/ecg_callbacks.py for the vitest suites in test/python.

Reads one JSON command on stdin and writes one JSON answer on stdout:
- {"sign": {"secret", "msg_id", "timestamp", "body"}} -> {"signature": "v1,...", "key_hex": "..."}
- {"transcript": {"size", "sha256", "filename", "language"}} -> the example ML server's v1.1 result
- {"client": {CallbackClient keyword arguments}, "calls": [["progress", [job_id, 40, "msg"]], ...]}
  -> {"url": "...", "results": [{"ack": {...}} | {"error": {"status", "code", "message", "attempts"}}, ...]}
"""

import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
sys.path.insert(0, os.path.join(ROOT, "examples", "ml-server-python"))

from ecg_callbacks import CallbackClient, CallbackError, secret_key, sign  # noqa: E402
from transcript import VideoDigest, build_result_v11  # noqa: E402


def main() -> None:
    command = json.load(sys.stdin)
    if "sign" in command:
        s = command["sign"]
        body = s["body"].encode("utf-8")
        out = {"signature": sign(s["secret"], s["msg_id"], s["timestamp"], body), "key_hex": secret_key(s["secret"]).hex()}
    elif "transcript" in command:
        t = command["transcript"]
        out = build_result_v11(VideoDigest(t["size"], t["sha256"]), t["filename"], t["language"], 0)
    else:
        client = CallbackClient(**command["client"])
        results = []
        for method, args in command["calls"]:
            try:
                results.append({"ack": getattr(client, method)(*args)})
            except CallbackError as err:
                results.append({"error": {"status": err.status, "code": err.code, "message": err.message, "attempts": err.attempts}})
        out = {"url": client.url, "results": results}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
