#!/usr/bin/env python3
"""Consume a Runnel topic and print one value per line (the value's bytes as they are).

    python3 consumer.py --topic demo --from earliest --count 10
    python3 consumer.py --topic demo --partition 2 --from 100 --print-offsets

One Subscribe stream per partition, on the partition's leader. Subscribe is push-based with
credit: the first message (`start`) says where to begin and how much the broker may push (bytes
and records); the broker pushes committed batches while both credits are positive and waits -
without polling - otherwise. As printed batches free room, the consumer grants their size back, so
no more than about one window per partition is ever buffered here.

A stream that fails with NOT_LEADER is reopened on the leader it names, from the next offset;
other retriable errors are retried after a backoff with fresh metadata, a bounded number of times
in a row. Exit 0 once --count records are printed, 1 on an error or when --timeout-ms passes
without a new record, 2 on bad arguments.
"""

import argparse
import queue
import sys
import threading

import cli


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Print the values of a Runnel topic's records, one per line.")
    parser.add_argument("--bootstrap", default=cli.DEFAULT_BOOTSTRAP, help="coordinator host:port (default %(default)s, env RUNNEL_BOOTSTRAP)")
    parser.add_argument("--topic", required=True, help="topic to read")
    parser.add_argument("--partition", type=int, help="read only this partition (default: all)")
    parser.add_argument("--from", dest="start", default="earliest", help="earliest, latest, or an offset (default %(default)s)")
    parser.add_argument("--count", type=int, help="exit after printing this many records")
    parser.add_argument("--timeout-ms", type=int, default=0, help="fail when no record arrives for this long (default 0: wait forever)")
    parser.add_argument("--print-offsets", action="store_true", help="print 'partition offset value' instead of the value alone")
    parser.add_argument("--broker", help="open each partition's first stream on this broker (host:port) instead of the leader, "
                        "to see NOT_LEADER followed")
    args = parser.parse_args(argv)
    cli.check_addresses(parser, args, "bootstrap", "broker")
    if args.start not in ("earliest", "latest") and not (args.start.isdigit()):
        parser.error(f"--from: expected earliest, latest or an offset (0 or more), got {args.start!r}")
    if args.count is not None and args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    if args.partition is not None and args.partition < 0:
        parser.error(f"--partition must be 0 or more, got {args.partition}")
    if args.timeout_ms < 0:
        parser.error(f"--timeout-ms must be 0 or more, got {args.timeout_ms}")
    return args


def consume(args) -> int:
    # Imported here, not at the top: they need grpcio and the stubs that stubs.load() provides.
    from cluster import Cluster, RunnelError
    from subscription import Subscription, start_position

    cluster = Cluster(args.bootstrap, args.topic)
    stopping = threading.Event()
    subscriptions = []
    try:
        cluster.refresh()
        if args.partition is not None and args.partition >= cluster.partition_count:
            raise ValueError(f"--partition {args.partition}: {args.topic} has partitions 0 to {cluster.partition_count - 1}")
        partitions = [args.partition] if args.partition is not None else range(cluster.partition_count)
        # Bounded by the credit: at most about one window per partition is ever queued.
        out = queue.Queue()
        position = start_position(args.start)
        subscriptions = [Subscription(cluster, p, position, args.broker, out, stopping) for p in partitions]
        for subscription in subscriptions:
            subscription.start()
        printed = 0
        while args.count is None or printed < args.count:
            try:
                item = out.get(timeout=args.timeout_ms / 1000 if args.timeout_ms else None)
            except queue.Empty:
                wanted = f" of {args.count}" if args.count is not None else ""
                raise RunnelError("TIMEOUT", f"no new record for {args.timeout_ms} ms ({printed}{wanted} records printed)") from None
            if isinstance(item, RunnelError):
                raise item
            subscription, batch, first_offset = item
            for index, record in enumerate(batch.records.records):
                offset = batch.base_offset + index
                if offset < first_offset:
                    continue
                prefix = f"{subscription.partition} {offset} ".encode() if args.print_offsets else b""
                sys.stdout.buffer.write(prefix + record.value + b"\n")
                printed += 1
                if printed == args.count:
                    break
            sys.stdout.flush()
            subscription.grant(batch.ByteSize(), batch.record_count)
        return 0
    finally:
        stopping.set()
        for subscription in subscriptions:
            subscription.cancel()
        cluster.close()


def main(argv) -> int:
    args = parse_args(argv)
    return cli.run(consume, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
