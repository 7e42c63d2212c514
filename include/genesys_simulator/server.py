"""Run the simulator in-process: uvicorn in a background thread on a free 127.0.0.1 port."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime
from types import TracebackType
from typing import Any

import uvicorn

from include.genesys_simulator.app import SimulatorState, create_app
from include.genesys_simulator.config import SimulatorConfig
from include.genesys_simulator.dataset import Dataset
from include.genesys_simulator.faults_profile import FaultProfile


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class SimulatorServer:
    """A running simulator; use as a context manager or call start()/stop()."""

    def __init__(self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or SimulatorConfig()
        self.host = host
        self.port = port or free_port(host)
        self.state = SimulatorState(self.config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """Return the URL serving both /oauth/token and /api/v2."""
        return f"http://{self.host}:{self.port}"

    @property
    def dataset(self) -> Dataset:
        """Return the ground-truth dataset (same clock as the server)."""
        return self.state.dataset

    def start(self, timeout: float = 15.0) -> SimulatorServer:
        """Start serving and wait until the port accepts connections."""
        config = uvicorn.Config(
            create_app(self.state),
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"genesys-sim-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"simulator did not start on {self.base_url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- same operations as the admin endpoints ----------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Return the counters (GET /_sim/stats)."""
        return self.state.stats.snapshot()

    def reset(self) -> None:
        """Forget tokens, rate-limit windows, jobs and counters (POST /_sim/reset)."""
        self.state.reset()

    def set_faults(self, profile: FaultProfile | str | dict[str, Any] | None) -> FaultProfile:
        """Replace the fault profile (POST /_sim/faults)."""
        return self.state.set_faults(profile)

    def set_clock(self, now: datetime | None = None, advance_seconds: float | None = None) -> datetime:
        """Freeze the simulated now (None = real clock) and/or advance it (POST /_sim/clock)."""
        return self.state.set_clock(now, advance_seconds)

    def revoke_tokens(self) -> int:
        """Revoke every token now (POST /_sim/tokens/revoke)."""
        return self.state.revoke_tokens()
