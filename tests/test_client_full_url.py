"""The client builds each request's URL as one absolute text (#13): the URL httpx would build.

``HttpSession.send`` joins ``base_url``, the path and the encoded query itself, so httpx
parses the URL once; the URL sent must be the one httpx's own merging of a relative path and
``params`` gives, for every base URL form (with or without a path or a trailing slash) and
every query value the Task API takes (``like`` patterns with ``%``/``_`` and spaces,
``fromName`` with reserved characters, booleans as ``true``/``false``, limits). Snowflake's
REST API reference, "List tasks"
(https://docs.snowflake.com/en/developer-guide/snowflake-rest-api/reference/task):
"like ... string ... Query parameter to filter the command output by resource name. Uses
case-insensitive pattern matching, with support for SQL wildcard characters."
"""

from __future__ import annotations

from typing import Any

import pytest

from tasknb.client._http import HttpSession

BASES = [
    "https://myorg-acct.snowflakecomputing.com",
    "https://myorg-acct.snowflakecomputing.com/",
    "http://127.0.0.1:8765/prefix",
    "http://127.0.0.1:8765/prefix/",
]
REQUESTS: list[tuple[str, dict[str, Any] | None]] = [
    ("/api/v2/databases/DB/schemas/S/tasks", None),
    ("/api/v2/databases/DB/schemas/S/tasks", {"like": "load %_x", "rootOnly": "true",
                                              "showLimit": 10}),
    ("/api/v2/databases/DB/schemas/S/tasks", {"fromName": "a&b=c/é#?"}),
    ("/api/v2/databases/%22my%20db%22/schemas/S/tasks/T/complete-graphs",
     {"errorOnly": "false", "resultLimit": 1000}),
    ("/api/v2/results/01b2-handle?page=3", None),
]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize(("path", "params"), REQUESTS)
def test_the_url_sent_is_the_one_httpx_builds(base: str, path: str,
                                              params: dict[str, Any] | None) -> None:
    session = HttpSession.open(base, auth=None)
    try:
        expected = session.client.build_request("GET", path, params=params).url
        got = session.client.build_request("GET", session._full_url(path, params)).url
        assert got == expected
        assert str(got) == str(expected)
        assert got.path.startswith(httpx_path_prefix(base))
    finally:
        session.client.close()


def httpx_path_prefix(base: str) -> str:
    return "/prefix/api/v2/" if "prefix" in base else "/api/v2/"
