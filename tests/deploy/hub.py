"""The hub's configuration as the cluster loads it, with no cluster.

The hub pod of the chart runs z2jh's jupyterhub_config.py from
/usr/local/etc/jupyterhub, next to z2jh.py, the hub ConfigMap (config/), the
hub Secret (secret/) and what oh-my-agent mounts (jupyterhub_config.d/,
oh-my-agent/). ``mount`` lays the rendered objects out the same way in a
folder, with that path rewritten to the folder's; ``container_environment``
is a container's environment as the kubelet would set it.
"""

from __future__ import annotations

import base64
from pathlib import Path

from tests.deploy.chart import NAMESPACE, find

POD_ROOT = "/usr/local/etc/jupyterhub"


def _write(folder: Path, files: dict[str, str], root: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text.replace(POD_ROOT, str(root)), encoding="utf-8")


def secret_data(secret: dict) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}


def mount(objects: list[dict], root: Path) -> Path:
    """The hub pod's /usr/local/etc/jupyterhub, in ``root``; returns the config file's folder."""
    hub_config = find(objects, "ConfigMap", "hub")["data"]
    _write(root, {name: hub_config[name] for name in ("jupyterhub_config.py", "z2jh.py")}, root)
    _write(root / "config", hub_config, root)
    _write(root / "secret", secret_data(find(objects, "Secret", "hub")), root)
    _write(root / "jupyterhub_config.d", find(objects, "ConfigMap", "oh-my-agent-hub-config")["data"], root)
    _write(root / "oh-my-agent", find(objects, "ConfigMap", "oh-my-agent-settings")["data"], root)
    return root


def container_environment(objects: list[dict], container: dict, secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """A container's environment as the kubelet sets it: its envFrom ConfigMaps, then its
    env entries resolved (``secrets``: the Secrets an admin created, by name; z2jh's ``hub``
    Secret from the render)."""
    rendered_secrets = {o["metadata"]["name"]: secret_data(o) for o in objects if o["kind"] == "Secret"}
    env = {}
    for source in container.get("envFrom", []):
        env.update(find(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
            continue
        source = entry["valueFrom"]
        if "fieldRef" in source:
            env[entry["name"]] = {"metadata.namespace": NAMESPACE}[source["fieldRef"]["fieldPath"]]
        else:
            ref = source["secretKeyRef"]
            env[entry["name"]] = {**rendered_secrets, **secrets}[ref["name"]][ref["key"]]
    return env


def hub_environment(objects: list[dict], secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """The hub container's environment, with the variables Kubernetes sets for Services."""
    container = find(objects, "Deployment", "hub")["spec"]["template"]["spec"]["containers"][0]
    env = container_environment(objects, container, secrets)
    for number, service in enumerate(o for o in objects if o["kind"] == "Service"):
        prefix = service["metadata"]["name"].upper().replace("-", "_")
        env[f"{prefix}_SERVICE_HOST"] = f"10.96.0.{number + 10}"
        env[f"{prefix}_SERVICE_PORT"] = str(service["spec"]["ports"][0]["port"])
    return env
