#!/usr/bin/env bash
# Generates the Python gRPC stubs for the Runnel contract (../../proto/runnel/v1/*.proto) into
# ./generated (git-ignored). Uses `python -m grpc_tools.protoc` when grpcio-tools is installed
# (pip), else Debian's `protoc` + `grpc_python_plugin` (apt-get install protobuf-compiler-grpc).
# PYTHON picks the interpreter (default python3); it must be the one that runs the examples.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
proto_dir="$(cd "$here/../../proto" && pwd)"
out="$here/generated"
python="${PYTHON:-python3}"

protos=()
for f in "$proto_dir"/runnel/v1/*.proto; do protos+=("${f#"$proto_dir"/}"); done

# Generate into a temporary folder and swap it in, so a run never sees half-written stubs.
tmp="$(mktemp -d "$here/generated.tmp.XXXXXX")"
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

if "$python" -c 'import grpc_tools.protoc' 2>/dev/null; then
  (cd "$proto_dir" && "$python" -m grpc_tools.protoc -I. --python_out="$tmp" --grpc_python_out="$tmp" "${protos[@]}")
elif command -v protoc >/dev/null && command -v grpc_python_plugin >/dev/null; then
  (cd "$proto_dir" && protoc -I. --python_out="$tmp" --grpc_python_out="$tmp" \
    --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" "${protos[@]}")
else
  echo "generate.sh: no protobuf compiler found. Install one of:" >&2
  echo "  apt-get install protobuf-compiler-grpc      (protoc + grpc_python_plugin)" >&2
  echo "  $python -m pip install grpcio-tools          (python -m grpc_tools.protoc)" >&2
  exit 1
fi

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "generate.sh: stubs for ${#protos[@]} proto files in $out" >&2
