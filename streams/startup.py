"""Checks the worker makes before Faust starts, so that a user's mistake is one line
(contract section 6) instead of a traceback from deep inside Faust or RocksDB."""

from __future__ import annotations

import errno
import socket

from streams.errors import StartError
from streams.settings import Settings


def ensure_data_dir(settings: Settings) -> None:
    """Create LEADFLOW_DATA_DIR when its parent exists; refuse a path that cannot be one."""
    path = settings.data_dir
    if path.is_dir():
        return
    if path.exists():
        raise StartError(f"LEADFLOW_DATA_DIR={path} is not a folder")
    if not path.parent.is_dir():
        raise StartError(f"LEADFLOW_DATA_DIR={path}: no folder {path.parent} to create it in "
                         "(create it, or point LEADFLOW_DATA_DIR elsewhere)")
    try:
        path.mkdir()
    except FileExistsError:  # a sibling process made it meanwhile
        pass
    except OSError as exc:
        raise StartError(f"LEADFLOW_DATA_DIR={path}: cannot create it ({exc.strerror})") from None


def check_web_port(settings: Settings) -> None:
    """Bind the web address once, as aiohttp will (SO_REUSEADDR), to fail early and clearly
    when another process holds it."""
    where = f"{settings.web_host}:{settings.web_port}"
    try:
        infos = socket.getaddrinfo(settings.web_host, settings.web_port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartError(f"LEADFLOW_WEB_HOST={settings.web_host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
            sock.listen(1)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartError(f"web port {where} is already in use (another worker? set "
                                 "LEADFLOW_WEB_PORT)") from None
            raise StartError(f"cannot listen on {where}: {exc.strerror} "
                             "(check LEADFLOW_WEB_HOST and LEADFLOW_WEB_PORT)") from None
