#!/usr/bin/env python3
"""Produce one record per stdin line to a Runnel topic; print `partition offset` per record.

    seq 1 10 | python3 producer.py --topic demo
    printf 'customer-1:paid\\ncustomer-2:shipped\\n' | python3 producer.py --topic orders --key-separator :
    python3 producer.py --self-test        # checks the key hash against docs/partitioning.md

Metadata comes from the bootstrap address (the coordinator); each record goes to the leader of its
partition (murmur2 of the key, as in docs/partitioning.md; records without a key are spread round
robin). A NOT_LEADER answer is followed to the leader it names; other retriable errors are retried
after a backoff with fresh metadata, a bounded number of times. Exit 1 on the first record that
fails (`error: CODE: message` on stderr), 2 on bad arguments.

One Produce call per record keeps the example short; a real producer puts many records in one
ProduceRequest (they get consecutive offsets) or pipelines requests with ProduceStream.
"""

import argparse
import itertools
import os
import sys

import cli
import partitioning

ACKS = ("none", "leader", "quorum", "all")


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Produce stdin lines to a Runnel topic; prints 'partition offset' per record.")
    parser.add_argument("--bootstrap", default=cli.DEFAULT_BOOTSTRAP, help="coordinator host:port (default %(default)s, env RUNNEL_BOOTSTRAP)")
    parser.add_argument("--topic", help="topic to write to")
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--key", help="the same key for every record")
    key.add_argument("--key-separator", help="each line is KEY<SEP>VALUE (split at the first SEP)")
    parser.add_argument("--partition", type=int, help="write to this partition instead of the key's")
    parser.add_argument("--acks", choices=ACKS, default="quorum", help="ack level (default %(default)s)")
    parser.add_argument("--broker", help="send the first request for each partition to this broker (host:port) instead of the "
                        "leader, to see NOT_LEADER followed")
    parser.add_argument("--self-test", action="store_true", help="check the key hash against the documented test vectors and exit")
    args = parser.parse_args(argv)
    if args.self_test:
        return args
    cli.check_addresses(parser, args, "bootstrap", "broker")
    if not args.topic:
        parser.error("--topic is required")
    if args.partition is not None and args.partition < 0:
        parser.error(f"--partition must be 0 or more, got {args.partition}")
    if args.key_separator == "":
        parser.error("--key-separator must not be empty")
    return args


def self_test() -> int:
    failures = partitioning.self_test()
    for failure in failures:
        print(f"self-test: {failure}", file=sys.stderr)
    if failures:
        return 1
    print(f"self-test: {len(partitioning.TEST_VECTORS)} key hash vectors OK")
    return 0


def records_from(lines, args):
    """(key bytes, value bytes) per input line; lines are bytes, kept as they are (no decoding)."""
    separator = args.key_separator.encode("utf-8") if args.key_separator is not None else None
    key = os.fsencode(args.key) if args.key is not None else b""
    for number, line in enumerate(lines, 1):
        line = line.rstrip(b"\r\n")
        if separator is None:
            yield key, line
            continue
        record_key, found, value = line.partition(separator)
        if not found:
            raise ValueError(f"line {number} has no key separator {args.key_separator!r}: {line[:80]!r}")
        yield record_key, value


def produce(args) -> int:
    # Imported here, not at the top: they need grpcio and the stubs that stubs.load() provides.
    import grpc

    from cluster import NO_FORWARDING, Cluster, LeaderRetry
    from runnel.v1 import broker_pb2, records_pb2

    acks = broker_pb2.Acks.Value(f"ACKS_{args.acks.upper()}")
    cluster = Cluster(args.bootstrap, args.topic)
    try:
        cluster.refresh()
        if args.partition is not None and args.partition >= cluster.partition_count:
            raise ValueError(f"--partition {args.partition}: {args.topic} has partitions 0 to {cluster.partition_count - 1}")
        round_robin = itertools.cycle(range(cluster.partition_count))
        routed = set()  # partitions whose first request was sent (so --broker no longer applies)
        for key, value in records_from(sys.stdin.buffer, args):
            if args.partition is not None:
                partition = args.partition
            elif key:
                partition = partitioning.partition_for_key(key, cluster.partition_count)
            else:
                partition = next(round_robin)
            request = broker_pb2.ProduceRequest(
                topic=args.topic, partition=partition, records=[records_pb2.Record(key=key, value=value)], acks=acks
            )
            retry = LeaderRetry(cluster, partition, args.broker if partition not in routed else None)
            routed.add(partition)
            while True:
                try:
                    answer = cluster.broker(retry.target()).Produce(request, timeout=30.0, metadata=NO_FORWARDING)
                    break
                except grpc.RpcError as err:
                    retry.failed(err)
            print(f"{answer.partition} {answer.base_offset}", flush=True)
        return 0
    finally:
        cluster.close()


def main(argv) -> int:
    args = parse_args(argv)
    if args.self_test:
        return self_test()
    return cli.run(produce, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
