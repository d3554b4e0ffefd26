"""Makes the generated gRPC stubs importable, running generate.sh when they are missing or older
than proto/. Call load() before importing `runnel.v1.*_pb2` (cluster.py does).

Needs grpcio and protobuf in this interpreter, and a compiler for generate.sh (grpcio-tools, or
Debian's protobuf-compiler-grpc).
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "proto", "runnel", "v1"))
GENERATED_DIR = os.path.join(HERE, "generated")

INSTALL_HINT = (
    "install grpcio and protobuf for this Python ({python}):\n"
    "  Debian/Ubuntu: sudo apt-get install python3-grpcio python3-protobuf protobuf-compiler-grpc\n"
    "                 (these are for the system /usr/bin/python3)\n"
    "  pip:           {python} -m pip install grpcio protobuf grpcio-tools"
)


class SetupError(Exception):
    """The example cannot run on this machine (a missing package); the message says what to install."""


def _newest_mtime(folder: str, suffix: str) -> float:
    times = [os.path.getmtime(os.path.join(root, name)) for root, _, names in os.walk(folder) for name in names if name.endswith(suffix)]
    return max(times, default=0.0)


def _stale() -> bool:
    if not os.path.isdir(os.path.join(GENERATED_DIR, "runnel", "v1")):
        return True
    return _newest_mtime(GENERATED_DIR, "_pb2.py") < _newest_mtime(PROTO_DIR, ".proto")


def _generate() -> None:
    env = dict(os.environ, PYTHON=sys.executable)
    result = subprocess.run(["bash", os.path.join(HERE, "generate.sh")], env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SetupError(f"generating the gRPC stubs failed:\n{result.stderr.strip()}")


def load() -> None:
    """Checks grpcio and protobuf, generates the stubs if needed and makes them importable as
    `runnel.v1.*_pb2`. Raises SetupError, naming what to install, when something is missing."""
    try:
        import grpc  # noqa: F401
        import google.protobuf  # noqa: F401
    except ImportError as missing:
        raise SetupError(f"{missing}; " + INSTALL_HINT.format(python=sys.executable)) from None
    if _stale():
        _generate()
    if GENERATED_DIR not in sys.path:
        sys.path.insert(0, GENERATED_DIR)
