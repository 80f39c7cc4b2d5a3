"""Who is asking: the person a token belongs to (the hub says) and whether the agent they name is theirs
(the store says). Both answers are kept briefly, so a stream of requests asks neither each time.

A token is good here when the hub knows it and it carries access to this
service: the token the hub gives each user server for the gateway carries
only that. The agent comes from a header the kernel sets; it is an attribution
claim of the person's own server, believed only for agents that person owns.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Generic, TypeVar

import aiohttp

from .settings import SERVICE_NAME

ACCESS_SCOPES = (f"access:services!service={SERVICE_NAME}", "access:services")
METRICS_SCOPE = "read:metrics"
K = TypeVar("K")
V = TypeVar("V")


class TokenRefused(Exception):
    """The token is missing, unknown, expired, revoked or not for the gateway; the message says which."""


class HubUnavailable(Exception):
    """The hub did not answer whose a token is."""


@dataclass(frozen=True)
class Caller:
    person: str  # the JupyterHub user name (an e-mail address)
    scopes: frozenset[str]

    @property
    def may_use_gateway(self) -> bool:
        return any(scope in self.scopes for scope in ACCESS_SCOPES)

    @property
    def may_read_metrics(self) -> bool:
        return METRICS_SCOPE in self.scopes


class TimedCache(Generic[K, V]):
    """Answers kept for ``seconds``; one lookup at a time per key (concurrent callers wait for it)."""

    def __init__(self, seconds: float, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._kept: dict[K, tuple[float, V]] = {}
        self._pending: dict[K, asyncio.Future] = {}

    async def get(self, key: K, look_up: Callable[[], Awaitable[V]]) -> V:
        kept = self._kept.get(key)
        if kept and kept[0] > time.monotonic():
            return kept[1]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await look_up()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        else:
            future.set_result(value)
            if self.seconds > 0:
                if len(self._kept) >= self.size:
                    self._drop_expired()
                self._kept[key] = (time.monotonic() + self.seconds, value)
            return value
        finally:
            del self._pending[key]

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for key in [key for key, (until, _) in self._kept.items() if until <= now] or list(self._kept)[: self.size // 2]:
            self._kept.pop(key, None)


def token_of(headers: Any) -> str:
    """The token Claude Code sends: ANTHROPIC_AUTH_TOKEN as a bearer token, or ANTHROPIC_API_KEY as x-api-key."""
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return headers.get("x-api-key", "").strip()


class Directory:
    """The hub (for tokens) and the store (for agents), asked through short caches."""

    def __init__(self, hub_api_url: str, session: aiohttp.ClientSession, store: Any,
                 token_seconds: float, agent_seconds: float) -> None:
        self.hub_api_url = hub_api_url.rstrip("/")
        self.session = session
        self.store = store
        self._callers: TimedCache[str, Caller] = TimedCache(token_seconds)
        self._owners: TimedCache[str, str | None] = TimedCache(agent_seconds)

    async def caller(self, token: str) -> Caller:
        if not token:
            raise TokenRefused("The request carries no token for the model gateway. Your server gets one when it "
                               "starts: restart your server from the hub's home page.")
        # Kept under the token's hash: the cache holds no usable token.
        return await self._callers.get(hashlib.sha256(token.encode()).hexdigest(), lambda: self._ask_hub(token))

    async def _ask_hub(self, token: str) -> Caller:
        try:
            async with self.session.get(f"{self.hub_api_url}/user", headers={"Authorization": f"token {token}"},
                                        timeout=aiohttp.ClientTimeout(total=10)) as answer:
                if answer.status in (401, 403):
                    raise TokenRefused("The model gateway does not accept this token: it is unknown, expired, or was "
                                       "revoked when its server stopped. Restart your server from the hub's home page "
                                       "to get a new one.")
                if answer.status != 200:
                    raise HubUnavailable(f"the hub answered HTTP {answer.status}")
                model = await answer.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise HubUnavailable(f"the hub could not be asked ({type(error).__name__})") from None
        if model.get("kind", "user") != "user" or not model.get("name"):
            raise TokenRefused("The model gateway serves people's servers only; this token is not a person's.")
        return Caller(str(model["name"]).lower(), frozenset(model.get("scopes") or ()))

    async def owner_of(self, agent_id: str) -> str | None:
        async def look_up() -> str | None:
            agent = await self.store.get_agent(agent_id)
            return agent.owner.lower() if agent is not None else None

        return await self._owners.get(agent_id, look_up)
