"""Running the web app in-process, for the browser test and the load check (``jssp serve`` uses uvicorn.run)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


@contextlib.contextmanager
def background_server(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 120.0
) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread and yield its base URL (``http://127.0.0.1:PORT``).

    Port 0 lets the system pick a free port, so parallel runs never collide. The server (and with
    it the app's solver processes) is stopped when the block exits.

    Raises:
        RuntimeError: if the server does not start within ``startup_timeout`` seconds.
    """
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="jssp-web-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the web server stopped while starting (see its log above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the web server did not start within {startup_timeout:g} s")
            time.sleep(0.05)
        bound_port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
