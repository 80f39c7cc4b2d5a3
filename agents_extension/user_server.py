"""Starts a person's server: jupyterhub-singleuser (JupyterLab under the hub), faster.

jsonschema, imported by jupyter_server's event system, compiles a Lark grammar
for RFC 3987 IRIs at import whenever ``rfc3987_syntax`` is installed (it is, as
a dependency of jupyter_events): about 3 s of every server start on a 2-core
machine, for an IRI format check that no event schema of ours uses. Without
the module, jsonschema leaves that one format unchecked.
"""

from __future__ import annotations

import sys

from oma_contract.process_exit import end_without_final_collection


def main() -> None:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    end_without_final_collection()
    from jupyterhub.singleuser import main as singleuser_main

    singleuser_main()


if __name__ == "__main__":
    main()
