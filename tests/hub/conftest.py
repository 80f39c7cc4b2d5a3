"""A real JupyterHub (with its proxy and the agents service) started for the tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.fake_google import FakeGoogle
from tests.network import free_port
from tests.polling import wait_for
import requests

PROJECT = Path(__file__).resolve().parents[2]
ADMIN = "admin@example.org"
SERVICE = "/services/agents/"
STOP_SECONDS = 10  # the platform stops within 5 s (tests/hub/test_stopping.py); twice that before force


def kill_trees(processes: list[psutil.Process]) -> None:
    """Kill what is left of ``processes`` and of their process groups (servers and kernels have their own)."""
    groups = set()
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(process.pid))
    for group in groups - {os.getpgid(0)}:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(processes, timeout=5)


class Hub:
    def __init__(self, workdir: Path, env: dict[str, str], extra_args: tuple[str, ...] = (), *,
                 ignore_sigint: bool = False) -> None:
        """``ignore_sigint`` starts it as ``cmd &`` in a script would: SIGINT inherited as ignored."""
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "OMA_HUB_PORT": str(self.port),
            "OMA_SERVICE_PORT": str(free_port()),
            "OMA_GATEWAY_PORT": str(free_port()),
            # its own internal ports too, so hubs of several test modules run side by side
            "OMA_HUB_INTERNAL_PORT": str(free_port()),
            "OMA_PROXY_API_PORT": str(free_port()),
            "OMA_DATA_DIR": str(workdir / "hub"),
            "OMA_USERS_DIR": str(workdir / "users"),
            "OMA_ADMIN_EMAILS": ADMIN,
            "OMA_GROUP_SYNC_SECONDS": "0.5",
            "PYTHONPATH": str(PROJECT),
            **env,
        }
        self.env.pop("JUPYTERHUB_API_TOKEN", None)
        self.log_path = workdir / "hub.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub_config", *extra_args],  # jupyterhub -f hub_config/jupyterhub_config.py
            cwd=workdir, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None,
        )
        self.wait_until_up()

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited:\n{self.logs()}")
            try:
                if requests.get(f"{self.url}/services/agents/api/openapi.json", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"JupyterHub did not come up:\n{self.logs()}")

    def log_mark(self) -> int:
        """Where the log ends now: ``log_since(mark)`` is what the hub wrote after this."""
        self.log.flush()
        return self.log_path.stat().st_size

    def log_since(self, mark: int) -> str:
        self.log.flush()
        with open(self.log_path, "rb") as log:
            log.seek(mark)
            return log.read().decode("utf-8", "replace")

    def logs(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()[-6000:]

    def stop(self) -> None:
        """SIGTERM, as an operator would; whatever of the hub's tree outlives it is then killed
        by process group (the proxy, services and user servers run in sessions of their own)."""
        if self.process.poll() is None:
            tree = psutil.Process(self.process.pid).children(recursive=True)
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            kill_trees(tree)
        self.log.close()

    # -- people -------------------------------------------------------------------
    def sign_in(self, email: str, accept_language: str = "en") -> "Browser":
        browser = Browser(self, accept_language)
        browser.name = email.lower()
        browser.get("/hub/login")
        response = browser.post("/hub/login", data={"username": email, "password": ""}, xsrf_path="/hub/")
        assert response.ok, response.text[:500]
        return browser

    def token_for(self, browser: "Browser") -> str:
        """The person's own JupyterHub API token, made as they would on the token page."""
        name = browser.name
        response = browser.post(f"/hub/api/users/{name}/tokens", json={"note": "test"}, xsrf_path="/hub/", as_header=True)
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def person_with_server(self, admin_token: str, name: str) -> tuple[str, str]:
        """A fresh person who applied, was approved by the admin and started their server: (email, token)."""
        email = person(name)
        browser = self.sign_in(email)
        self.api(self.token_for(browser), "POST", SERVICE + "api/beta/applications", json={"name": name, "purpose": "tests"})
        decided = self.api(admin_token, "POST", SERVICE + "api/beta/decisions", json={"emails": [email], "decision": "approve"})
        assert decided.status_code == 200, decided.text
        token = self.token_for(browser)
        self.start_server(token, email)
        return email, token

    def start_server(self, token: str, name: str) -> None:
        """Start a person's server with their token and wait until the hub says it is ready."""
        started = self.api(token, "POST", f"/hub/api/users/{name}/server")
        assert started.status_code in (201, 202), started.text
        wait_for(lambda: self.api(token, "GET", f"/hub/api/users/{name}").json()["servers"].get("", {}).get("ready"), 90)

    def stop_server(self, token: str, name: str) -> None:
        """Stop a person's server and wait until it is gone."""
        self.api(token, "DELETE", f"/hub/api/users/{name}/server")
        wait_for(lambda: not self.api(token, "GET", f"/hub/api/users/{name}").json()["servers"], 30)

    def api(self, token: str, method: str, path: str, headers: dict[str, str] | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {token}", **(headers or {})}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)


class Browser(requests.Session):
    """A person's browser: cookies, and the XSRF token each form carries."""

    def __init__(self, hub: Hub, accept_language: str) -> None:
        super().__init__()
        self.hub = hub
        self.headers["Accept-Language"] = accept_language
        self.name = ""

    def request(self, method, path, *args, xsrf_path: str | None = None, as_header: bool = False, **kwargs):  # type: ignore[override]
        url = path if path.startswith("http") else self.hub.url + path
        if xsrf_path:
            token = next((c.value for c in self.cookies if c.name == "_xsrf" and c.path.rstrip("/") == xsrf_path.rstrip("/")), None)
            if token is None:  # the page that sets it was not visited yet
                super().request("GET", self.hub.url + xsrf_path.rstrip("/") + ("/home" if xsrf_path.startswith("/hub") else "/beta"))
                token = next(c.value for c in self.cookies if c.name == "_xsrf" and c.path.rstrip("/") == xsrf_path.rstrip("/"))
            if as_header:
                kwargs["headers"] = {**(kwargs.get("headers") or {}), "X-XSRFToken": token}
            else:
                kwargs["data"] = {**(kwargs.get("data") or {}), "_xsrf": token}
        kwargs.setdefault("timeout", 60)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def start_hub(tmp_path: Path, fake_model):
    """Start a hub of one's own, with extra settings."""
    hubs: list[Hub] = []

    def start(ignore_sigint: bool = False, **env: str) -> Hub:
        hub = Hub(tmp_path, {**fake_model.client_environment(), **env}, ignore_sigint=ignore_sigint)
        hubs.append(hub)
        return hub

    yield start
    for hub in hubs:
        hub.stop()


@pytest.fixture(scope="package")
def shared_hub(tmp_path_factory, fake_model) -> Hub:
    """The hub of every module here that needs nothing of its own (a hub starts in 5-15 s)."""
    hub = Hub(tmp_path_factory.mktemp("hub"), fake_model.client_environment())
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def hub(request, tmp_path_factory, fake_model) -> Hub:
    """The hub a module's tests share. Tests use people of their own (see ``person``), so most modules
    share one hub; a module that changes what the whole hub does (an admin fuzzing every setting, say)
    sets ``OWN_HUB = "why"`` and gets a hub of its own."""
    if not getattr(request.module, "OWN_HUB", None):
        yield request.getfixturevalue("shared_hub")
        return
    hub = Hub(tmp_path_factory.mktemp("hub"), fake_model.client_environment())
    yield hub
    hub.stop()


def person(name: str) -> str:
    """A fresh e-mail address, so tests sharing a hub never meet."""
    return f"{name}-{uuid.uuid4().hex[:6]}@example.org"


# -- Google sign-in ------------------------------------------------------------------------------------
GOOGLE_CLIENT_ID = "test-client.apps.example"
GOOGLE_CLIENT_SECRET = "test-secret"
GOOGLE_ADMIN = "Boss@Example.org"  # the Google hub's admin, named with capitals as an admin might type it


def google_settings(google: FakeGoogle) -> dict[str, str]:
    """A hub's settings for signing in with Google (the local one of these tests)."""
    return {"OMA_GOOGLE_CLIENT_ID": GOOGLE_CLIENT_ID, "OMA_GOOGLE_CLIENT_SECRET": GOOGLE_CLIENT_SECRET,
            "OMA_GOOGLE_AUTHORIZE_URL": f"{google.base_url}/o/oauth2/v2/auth", "OMA_GOOGLE_API_URL": google.base_url}


@pytest.fixture(scope="package")
def google():
    provider = FakeGoogle(GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="package")
def google_hub(tmp_path_factory, fake_model, google) -> Hub:
    """A hub signing people in with Google, shared by the modules that need one (people of their own each)."""
    hub = Hub(tmp_path_factory.mktemp("google-hub"), {**fake_model.client_environment(), **google_settings(google),
                                                       "OMA_ADMIN_EMAILS": GOOGLE_ADMIN})
    yield hub
    hub.stop()

