"""A real OpenID provider on loopback: the certified npm package ``oidc-provider``, run by Node
from ``tools/oidc/provider.mjs`` (installed by ``npm ci``, which ``make dev`` and ``make test``
run). ``switchboard dev`` starts one for the demo tenant, so "Sign in with Demo SSO" works on
a newcomer's machine; the tests start their own (tests/oidc_support.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["LocalOidcProvider", "unavailable"]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "oidc" / "provider.mjs"


def unavailable(root: Path = ROOT) -> str | None:
    """Why the provider cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (root / "node_modules" / "oidc-provider").is_dir():
        return "oidc-provider is not installed (run `npm ci`; `make dev` does)"
    return None


class LocalOidcProvider:
    """``oidc-provider`` in a Node subprocess with these ``clients`` and ``accounts`` (see
    tools/oidc/provider.mjs); ``issuer`` once it listens."""

    def __init__(self, *, clients: list[dict[str, Any]], accounts: list[dict[str, Any]], host: str = "127.0.0.1",
                 timeout: float = 30) -> None:
        self._dir = tempfile.TemporaryDirectory()
        conf = Path(self._dir.name) / "oidc.json"
        conf.write_text(json.dumps({"port": 0, "host": host, "clients": clients, "accounts": accounts}))
        conf.chmod(0o600)  # it holds the clients' secrets and the demo passwords
        # node from PATH (where `make dev` found it), our own script, a config file we wrote: no outside input
        self.proc = subprocess.Popen(["node", str(SCRIPT), str(conf)],  # noqa: S603, S607
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        self.issuer = ""
        self.lines: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line.rstrip())
                if line.startswith("oidc-provider ready "):
                    self.issuer = line.split()[-1]
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise RuntimeError("oidc-provider did not start:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(1)  # inside switchboard dev's 5 s stop budget
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._dir.cleanup()
