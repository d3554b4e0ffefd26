"""Command-line pieces both examples share (no gRPC needed, so they work before stubs.load())."""

import os

DEFAULT_BOOTSTRAP = os.environ.get("RUNNEL_BOOTSTRAP", "127.0.0.1:7400")


def is_address(value: str) -> bool:
    """True for host:port with a port from 1 to 65535."""
    host, _, port = value.rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


def check_addresses(parser, args, *names) -> None:
    """Exits with a usage error (code 2) for an option that is not host:port."""
    for name in names:
        value = getattr(args, name)
        if value is not None and not is_address(value):
            parser.error(f"--{name}: expected host:port, got {value!r}")
