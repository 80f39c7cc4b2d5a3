"""What each image installs besides the project itself: its Python requirements.

The images install these first, in a layer of their own, and the project after
them with ``--no-deps``: a change to the sources then rebuilds only the last,
small layer instead of every download (images/*/Dockerfile). The versions come
from images/constraints.txt (images/lock.py), which covers both images.

    python3 images/requirements.py user > requirements.txt

Only the standard library: scripts/build-images runs this with the machine's python3.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# What z2jh's hub configuration uses: tornado's curl client and the idle culler of
# cull.enabled (it runs as a hub service).
HUB_EXTRAS = ["pycurl", "jupyterhub-idle-culler"]
# What only the hub and the agents service use; a user server never imports them
# (Firestore's client with gRPC and protobuf, KubeSpawner with the Kubernetes client:
# about 100 MB the user image does without).
HUB_ONLY = {"google-cloud-firestore", "jupyterhub-kubespawner"}
IMAGES = ("hub", "user")


def name_of(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group()).lower()


def for_image(image: str) -> list[str]:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    if image == "hub":
        return [*project["dependencies"], *HUB_EXTRAS]
    if image == "user":
        return [*(r for r in project["dependencies"] if name_of(r) not in HUB_ONLY),
                *project["optional-dependencies"]["lab"]]
    raise ValueError(f"no image named {image!r}: one of {', '.join(IMAGES)}")


def every_image() -> list[str]:
    """Both images' requirements: what images/constraints.txt has to resolve."""
    return sorted({requirement for image in IMAGES for requirement in for_image(image)})


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in IMAGES:
        sys.exit(f"usage: python3 {sys.argv[0]} {{{'|'.join(IMAGES)}}}")
    print("\n".join(for_image(sys.argv[1])))
