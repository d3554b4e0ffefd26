"""Key -> partition, exactly as every Runnel client and the broker compute it (docs/partitioning.md).

    partition = (murmur2(key_bytes) & 0x7fffffff) % partition_count

murmur2 is Kafka's MurmurHash2 variant: 32-bit, seed 0x9747b28c, m = 0x5bd1e995, r = 24, over the
raw key bytes (a string key is its UTF-8 bytes), with 32-bit wrapping multiplication; the result is
read as a signed 32-bit integer.

Run it to print the partition of keys:  python3 partitioning.py --partitions 12 key1 key2 ...
"""

import argparse
import os
import sys

_MASK32 = 0xFFFFFFFF
_SEED = 0x9747B28C
_M = 0x5BD1E995
_R = 24

# (key, murmur2, partition of 3, partition of 12): the vectors of docs/partitioning.md.
TEST_VECTORS = (
    ("21", -973932308, 0, 0),
    ("foobar", -790332482, 0, 6),
    ("abc", 479470107, 0, 3),
    ("a-little-bit-long-string", -985981536, 2, 8),
    ("a-little-bit-longer-string", -1486304829, 2, 11),
    ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971, 2, 5),
)


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data`, as a signed 32-bit integer."""
    length = len(data)
    h = (_SEED ^ length) & _MASK32
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK32
        k ^= k >> _R
        k = (k * _M) & _MASK32
        h = (h * _M) & _MASK32
        h ^= k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK32
    h ^= h >> 13
    h = (h * _M) & _MASK32
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key: bytes, partition_count: int) -> int:
    """The partition of `key` among `partition_count` partitions."""
    if partition_count < 1:
        raise ValueError(f"partition count must be at least 1, got {partition_count}")
    return (murmur2(key) & 0x7FFFFFFF) % partition_count


def self_test() -> list:
    """Checks the documented test vectors; returns a list of failures (empty when all pass)."""
    failures = []
    for key, hashed, of3, of12 in TEST_VECTORS:
        got = (murmur2(key.encode()), partition_for_key(key.encode(), 3), partition_for_key(key.encode(), 12))
        if got != (hashed, of3, of12):
            failures.append(f"{key!r}: expected {(hashed, of3, of12)}, got {got}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description="Print the partition of each key (UTF-8) as 'partition<TAB>key'; a key is its bytes as given (UTF-8 in a UTF-8 locale).")
    parser.add_argument("--partitions", type=int, required=True, help="partition count of the topic")
    parser.add_argument("keys", nargs="+", help="keys")
    args = parser.parse_args()
    if args.partitions < 1:
        parser.error(f"--partitions must be at least 1, got {args.partitions}")
    for key in args.keys:
        print(f"{partition_for_key(os.fsencode(key), args.partitions)}\t{key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
