"""Command-line pieces both examples share (no gRPC needed, so they work before stubs.load())."""

import os
import sys

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


def run(work, args) -> int:
    """Loads the stubs, runs work(args), and turns errors into a message on stderr and exit code 1."""
    import stubs

    try:
        stubs.load()
    except stubs.SetupError as err:
        print(f"error: SETUP: {err}", file=sys.stderr)
        return 1
    from cluster import RunnelError  # importable now that the stubs are

    try:
        return work(args)
    except RunnelError as err:
        print(f"error: {err.code}: {err.message}", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"error: INVALID_INPUT: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
