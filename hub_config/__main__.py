"""Starts the hub on one machine: ``python -m hub_config [JupyterHub options]`` is
``jupyterhub -f hub_config/jupyterhub_config.py [options]``, a second faster, and its
``--help-all`` lists the platform's own hub settings too (``Settings``, ``LocalSpawner``,
``ClusterSettings``: each with its environment variable and default).

jsonschema, imported by JupyterHub's event logging (jupyter_events), compiles a
Lark grammar for RFC 3987 IRIs at import whenever ``rfc3987_syntax`` is
installed: about 1 s of the hub's 1.8 s of imports on a 2-core machine, for a
format no event schema of JupyterHub's uses (see agents_extension/user_server.py,
which does the same for each person's server). In the cluster z2jh starts the
hub with its own command line, once per deployment.
"""

from __future__ import annotations

import sys
from pathlib import Path

CONFIG_FILE = Path(__file__).with_name("jupyterhub_config.py")


def hub_class():
    from jupyterhub import app
    from traitlets import default

    from .kubernetes import ClusterSettings
    from .settings import Settings
    from .spawner import LocalSpawner

    # Named as JupyterHub's: the hub's logger is named after its class, and operators (and hub_config's
    # log filters, logs.py and beta_gate.py) know it as "JupyterHub".
    class JupyterHub(app.JupyterHub):
        """JupyterHub, whose --help-all and --generate-config list the platform's settings beside its own."""

        @default("classes")
        def _load_classes(self):
            return [*super()._load_classes(), Settings, LocalSpawner, ClusterSettings]

    return JupyterHub


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    named = any(a in ("-f", "--config") or a.startswith(("-f=", "--config=")) for a in args)
    hub_class().launch_instance(args if named else ["-f", str(CONFIG_FILE), *args])


if __name__ == "__main__":
    main()
