"""A scripted in-memory KIS REST endpoint for `httpx.MockTransport`: unit tests of the adapter's rules.

Every request is recorded. Token, approval and hashkey calls answer like KIS unless scripted otherwise; every
other path answers from a per-path queue of scripted answers (a callable, an exception, or (status, body,
headers)), else from a default per path.
"""

import json
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

type Script = tuple[int, dict[str, Any] | str, dict[str, str]] | Exception | Callable[[httpx.Request], Any]


@dataclass
class FakeKis:
    """Records requests and answers them from scripts."""

    requests: list[httpx.Request] = field(default_factory=list)
    scripts: dict[str, deque[Script]] = field(default_factory=lambda: defaultdict(deque))
    defaults: dict[str, Script] = field(default_factory=dict)
    tokens_issued: int = 0
    approvals_issued: int = 0
    token_expiry: str = "2099-01-01 09:00:00"

    def script(self, path: str, *answers: Script) -> None:
        """Queue `answers` for the next calls of `path` (suffix of the URL path)."""
        self.scripts[path].extend(answers)

    def calls(self, path: str) -> list[httpx.Request]:
        """Return the recorded requests of `path`."""
        return [r for r in self.requests if r.url.path.endswith(path)]

    def transport(self) -> httpx.MockTransport:
        """Return the transport to pass to the adapter."""
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        key = next((k for k in self.scripts if path.endswith(k) and self.scripts[k]), None)
        script: Script | None = self.scripts[key].popleft() if key else None
        if script is None:
            script = next((v for k, v in self.defaults.items() if path.endswith(k)), None)
        if script is None:
            script = self._builtin(path)
        if isinstance(script, Exception):
            raise script
        if callable(script):
            script = script(request)
            if isinstance(script, httpx.Response):
                return script
        status, body, headers = script
        content = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        return httpx.Response(status, content=content.encode(), headers={"content-type": "application/json", **headers})

    def _builtin(self, path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        if path.endswith("/oauth2/tokenP"):
            self.tokens_issued += 1
            return (
                200,
                {
                    "access_token": f"token-{self.tokens_issued:04d}-" + "t" * 40,
                    "access_token_token_expired": self.token_expiry,
                    "token_type": "Bearer",
                    "expires_in": 86400,
                },
                {},
            )
        if path.endswith("/oauth2/Approval"):
            self.approvals_issued += 1
            return 200, {"approval_key": f"approval-{self.approvals_issued:04d}-" + "a" * 27}, {}
        if path.endswith("/uapi/hashkey"):
            return 200, {"BODY": {}, "HASH": "f" * 64}, {}
        return 404, {"rt_cd": "1", "msg_cd": "MCA00124", "msg1": "해당 서비스를 찾을수 없습니다."}, {}


def ok(output: Any = None, **extra: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Return a success answer with `output` (and extra body keys)."""
    body: dict[str, Any] = {"rt_cd": "0", "msg_cd": "KIOK0460", "msg1": "조회 되었습니다.   "}
    if output is not None:
        body["output"] = output
    return 200, body | extra, {}


type Answer = tuple[int, dict[str, Any], dict[str, str]]


def error(code: str, message: str, *, status: int = 500, rt_cd: str = "1") -> Answer:
    """Return a KIS error answer."""
    return status, {"rt_cd": rt_cd, "msg_cd": code, "msg1": message}, {}
