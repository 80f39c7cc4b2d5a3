"""One real JupyterHub for the handler-level tests, without user servers or a service behind it.

It is the platform's own hub configuration (tests/service/jupyterhub_config.py), so the tokens
it makes carry the scopes the platform's roles give: a person's personal token is allowed into
the agents service, an admin's carries the admin scope. It answers the service's token lookups
(``GET /hub/api/user``, HubAuth's ``user_for_token``) and the beta-group and server calls of the
service's own token (``HubAPI``), as in production. The tests call their service directly,
not through the hub's proxy.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

from tests.hub.conftest import STOP_SECONDS, kill_trees
from tests.network import free_port

PROJECT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).resolve().parent / "jupyterhub_config.py"
ADMIN = "admin@example.org"
BETA_GROUP = "beta"


@dataclass(frozen=True)
class Person:
    """Someone known to the hub, with a personal JupyterHub token (as made on the hub's token page)."""

    email: str
    token: str


class RealHub:
    def __init__(self, workdir: Path) -> None:
        self.hub_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.hub_port}/hub/api"
        self.service_token = secrets.token_hex(32)  # the agents service's own hub token
        self._people_token = secrets.token_hex(32)
        self._people: dict[str, Person] = {}
        env = {
            **os.environ,
            "OMA_HUB_PORT": str(free_port()),
            "OMA_SERVICE_PORT": str(free_port()),
            "OMA_HUB_INTERNAL_PORT": str(self.hub_port),
            "OMA_PROXY_API_PORT": str(free_port()),
            "OMA_DATA_DIR": str(workdir / "hub"),
            "OMA_USERS_DIR": str(workdir / "users"),
            "OMA_ADMIN_EMAILS": ADMIN,
            "OMA_BETA_GROUP": BETA_GROUP,
            "OMA_TEST_SERVICE_TOKEN": self.service_token,
            "OMA_TEST_SERVICE_URL": f"http://127.0.0.1:{free_port()}",
            "OMA_TEST_PEOPLE_TOKEN": self._people_token,
            "PYTHONPATH": str(PROJECT),
        }
        env.pop("JUPYTERHUB_API_TOKEN", None)
        self.log_path = workdir / "hub.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(CONFIG)],
            cwd=workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited:\n{self.logs()}")
            try:
                if requests.get(self.api_url + "/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"JupyterHub did not come up:\n{self.logs()}")

    def logs(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()[-6000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            tree = psutil.Process(self.process.pid).children(recursive=True)
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            kill_trees(tree)
        self._log.close()

    # -- people ---------------------------------------------------------------------------
    def _api(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, self.api_url + path, timeout=30,
                                    headers={"Authorization": f"token {self._people_token}"}, **kwargs)
        assert response.ok, (method, path, response.status_code, response.text)
        return response

    def token_for(self, email: str, scopes: list[str] | None = None) -> str:
        """A new token of the person's: by default with everything they may do, as the token page makes."""
        body = {"note": "handler tests", **({"scopes": scopes} if scopes is not None else {})}
        return self._api("POST", f"/users/{email}/tokens", json=body).json()["token"]

    def person(self, name: str) -> Person:
        """Someone who signed in to the hub, as their first sign-in makes them; the same person for the
        same name all session long. Each test has a store of its own, so a test never sees what the
        person did in another; reusing them spares the hub making people and looking up their tokens
        (the service's HubAuth keeps what the hub said about a token for minutes)."""
        if name not in self._people:
            email = f"{name}-{uuid.uuid4().hex[:6]}@example.org"
            self._api("POST", f"/users/{email}")
            self._people[name] = Person(email, self.token_for(email))
        return self._people[name]

    def admin(self) -> Person:
        """The platform's admin (OMA_ADMIN_EMAILS), with a personal token: it carries the admin scope."""
        if ADMIN not in self._people:
            self._people[ADMIN] = Person(ADMIN, self.token_for(ADMIN))
        return self._people[ADMIN]

    def beta_group(self) -> set[str]:
        return set(self._api("GET", f"/groups/{BETA_GROUP}").json()["users"])
