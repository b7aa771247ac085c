"""Ports for the acceptance scripts' servers: a free one on the loopback, and waiting until a
started server listens on it (imported by the scripts from this folder)."""

import socket
import time


def free_port():
    """A port nothing listens on at this moment, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    """Return once something listens on `port`; stop the script when `proc` (the server, named
    `what`) exits first or nothing listens within 30 s."""
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not listen on {port}")
