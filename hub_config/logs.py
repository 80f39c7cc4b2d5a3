"""The hub's log at the level an operator wants: routine traffic at DEBUG, problems above it.

JupyterHub logs every request at INFO; the agents service reads the beta group every few seconds
(its group sync), which would fill the log with one line per read. Those reads, when they succeed,
go to DEBUG; everything else is logged as JupyterHub logs it.
"""

from __future__ import annotations

from jupyterhub.log import access_log, log_request as jupyterhub_log_request


def group_sync(beta_group: str):
    """Whether a request is the agents service's periodic successful read of ``beta_group``."""
    path = f"/hub/api/groups/{beta_group}"

    def is_sync(handler) -> bool:
        request = handler.request
        return request.method == "GET" and request.path.rstrip("/").endswith(path) and handler.get_status() == 200

    return is_sync


def log_request(is_routine):
    """A tornado ``log_function``: ``is_routine`` requests at DEBUG, the rest as JupyterHub logs them."""

    def log(handler) -> None:
        if is_routine(handler):
            request = handler.request
            access_log.debug("%s %s %s %.2fms", handler.get_status(), request.method, request.path,
                             1000.0 * request.request_time())
            return
        jupyterhub_log_request(handler)

    return log
