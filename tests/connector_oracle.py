"""What snowflake-connector-python makes of a connection: run as a script, one case per entry.

    python tests/connector_oracle.py CASES.json   -> prints one JSON result per case

Each case is ``{"id", "env": {...}, "kwargs": {...}}``. The connector logs in through a
capture proxy on loopback (``HTTP_PROXY``; ``protocol="http"`` so that the proxy sees the
request itself): the proxy records the host the connector chose and its login body (account,
user, the key-pair JWT or the token), and refuses the login. Nothing leaves the machine.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import sys
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

SEEN: list[tuple[str, bytes]] = []
REFUSAL = json.dumps({"success": False, "code": "390100", "message": "refused by the oracle",
                      "data": None}).encode()


class Capture(BaseHTTPRequestHandler):
    def do_CONNECT(self) -> None:  # an https target: only its host shows
        SEEN.append((f"https://{self.path.partition(':')[0]}/", b""))
        self.send_response(403)
        self.end_headers()

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        SEEN.append((self.path, raw))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(REFUSAL)))
        self.end_headers()
        self.wfile.write(REFUSAL)

    def log_message(self, *args: object) -> None:
        pass


def _claims(token: str | None) -> dict:
    if not token or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}


def run(case: dict) -> dict:
    import snowflake.connector
    from snowflake.connector.errors import Error

    for name in list(os.environ):
        if name.upper().startswith(("SNOWFLAKE_", "SF_")) or name == "PRIVATE_KEY_PASSPHRASE":
            del os.environ[name]
    os.environ.update(case["env"])
    SEEN.clear()
    error = None
    try:
        snowflake.connector.connect(**case["kwargs"])  # no kwargs: the default connection
    except Error as exc:  # the oracle's refusal, or the connector's own refusal of the config
        error = str(exc).splitlines()[0][:300]
    if not SEEN:
        return {"id": case["id"], "error": error}
    url, raw = SEEN[0]
    data = json.loads(raw).get("data", {}) if raw else {}
    claims = _claims(data.get("TOKEN"))
    return {"id": case["id"], "host": urlsplit(url).hostname, "login": data.get("LOGIN_NAME"),
            "iss": claims.get("iss"), "sub": claims.get("sub"),
            "token": None if claims else data.get("TOKEN")}


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = f"http://127.0.0.1:{server.server_address[1]}"
    cases = json.loads(Path(sys.argv[1]).read_text())
    warnings.simplefilter("ignore")
    results = []
    for case in cases:
        case["env"] = {**case["env"], "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy,
                       "NO_PROXY": ""}
        results.append(run(case))
    print(json.dumps(results))
    sys.stdout.flush()
    os._exit(0)  # the connector's atexit hooks would try to log out of nothing


if __name__ == "__main__":
    main()
