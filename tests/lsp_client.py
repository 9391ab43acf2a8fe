"""A minimal Language Server Protocol client for tests: `nndsl lsp` in a subprocess, JSON-RPC on its pipes.

It speaks the protocol as an editor does (Content-Length framed JSON over stdin/stdout), so
the tests exercise the real entry point, pygls' framing and our handlers together.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Client:
    def __init__(self, *command: str, env: dict | None = None):
        command = command or (sys.executable, "-m", "nndsl.cli", "lsp")
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=full_env, cwd=str(ROOT))
        self.messages: queue.Queue = queue.Queue()
        self.notifications: list[dict] = []
        self.next_id = 0
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # Wire ---------------------------------------------------------------------------------

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            body = out.read(length or 0)
            self.messages.put(json.loads(body))

    def _drain_stderr(self) -> None:
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):
            self.stderr += chunk

    def send_raw(self, body: bytes) -> None:
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def send(self, message: dict) -> None:
        self.send_raw(json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8"))

    # Requests and notifications ---------------------------------------------------------

    def notify(self, method: str, params: dict | None = None) -> None:
        self.send({"method": method, "params": params or {}})

    def request(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        """The whole response (``result`` or ``error``); notifications on the way are kept."""
        self.next_id += 1
        wanted = self.next_id
        self.send({"id": wanted, "method": method, "params": params or {}})
        while True:
            message = self.messages.get(timeout=timeout)
            if message is None:
                raise AssertionError(f"the server closed its output; stderr:\n{self.stderr.decode(errors='replace')}")
            if message.get("id") == wanted and "method" not in message:
                return message
            self._keep(message)

    def _keep(self, message: dict) -> None:
        if "method" in message and "id" in message:  # a request from the server: answer it
            self.send({"id": message["id"], "result": None})
        self.notifications.append(message)

    def wait_for(self, method: str, predicate=lambda params: True, timeout: float = 60) -> dict:
        """The params of the first notification ``method`` (kept or still to come) that matches."""
        for n in self.notifications:
            if n.get("method") == method and predicate(n["params"]):
                self.notifications.remove(n)
                return n["params"]
        while True:
            try:
                message = self.messages.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {method} within {timeout} s; stderr:\n"
                                     f"{self.stderr.decode(errors='replace')[-3000:]}") from None
            if message is None:
                raise AssertionError(f"the server closed its output; stderr:\n{self.stderr.decode(errors='replace')}")
            if message.get("method") == method and predicate(message.get("params")):
                return message["params"]
            self._keep(message)

    # The usual conversation -------------------------------------------------------------

    def initialize(self, root: Path = ROOT) -> dict:
        result = self.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(),
                                             "capabilities": {}})
        self.notify("initialized")
        return result["result"]

    def open(self, uri: str, text: str, version: int = 1) -> dict:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "nndsl",
                                                              "version": version, "text": text}})
        return self.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri and p.get("version") == version)

    def change(self, uri: str, version: int, changes: list[dict]) -> dict:
        self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                               "contentChanges": changes})
        return self.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri and p.get("version") == version)

    def at(self, method: str, uri: str, line: int, character: int, **extra) -> dict:
        return self.request(method, {"textDocument": {"uri": uri}, "position": {"line": line, "character": character},
                                     **extra})

    def close(self) -> int:
        """shutdown, exit, and the exit status."""
        if self.proc.poll() is None:
            try:
                self.request("shutdown", timeout=20)
                self.notify("exit")
            except (BrokenPipeError, AssertionError, queue.Empty):
                pass
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
