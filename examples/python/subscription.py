"""One partition's Subscribe stream for consumer.py: credit-based, reopened on the leader after a
failure. Import after stubs.load()."""

import queue
import threading

import grpc

from cluster import NO_FORWARDING, LeaderRetry, RunnelError
from runnel.v1 import broker_pb2

# Credit window per partition: what the broker may push before the consumer grants more.
WINDOW_BYTES = 1024 * 1024
WINDOW_RECORDS = 1000


def start_position(start: str) -> broker_pb2.Position:
    """earliest, latest or an offset (already checked by the argument parser)."""
    if start == "earliest":
        return broker_pb2.Position(earliest=True)
    if start == "latest":
        return broker_pb2.Position(latest=True)
    return broker_pb2.Position(offset=int(start))


class Subscription:
    """Runs in its own thread from start(): puts each pushed batch on `out` as (subscription, batch,
    first offset wanted), or a RunnelError when it gives up. The reader calls grant() per batch."""

    def __init__(self, cluster, partition, position, first_address, out, stopping):
        self.partition = partition
        self._position = position
        self._cluster = cluster
        self._retry = LeaderRetry(cluster, partition, first_address)
        self._out = out
        self._stopping = stopping
        self._lock = threading.Lock()
        self._requests = None  # the current stream's outgoing messages
        self._call = None
        self._pending = [0, 0]  # credit consumed and not yet granted back: bytes, records
        self._thread = threading.Thread(target=self._run, name=f"subscribe-{partition}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def grant(self, size_bytes: int, records: int) -> None:
        """A batch was handled: give its credit back, once half a window has gathered."""
        with self._lock:
            self._pending[0] += size_bytes
            self._pending[1] += records
            if self._requests is None or (self._pending[0] < WINDOW_BYTES // 2 and self._pending[1] < WINDOW_RECORDS // 2):
                return
            credit = broker_pb2.Credit(bytes=self._pending[0], records=self._pending[1])
            self._pending = [0, 0]
            self._requests.put(broker_pb2.SubscribeRequest(credit=credit))

    def cancel(self) -> None:
        """Ends the stream (the thread then exits); call after setting `stopping`."""
        with self._lock:
            if self._call is not None:
                self._call.cancel()

    def _run(self) -> None:
        next_offset = None  # known once the first stream answered
        while not self._stopping.is_set():
            try:
                address = self._retry.target()
            except RunnelError as err:
                self._out.put(err)
                return
            requests = queue.Queue()
            # A new stream starts with a whole window: the old stream's credit died with it.
            position = self._position if next_offset is None else broker_pb2.Position(offset=next_offset)
            requests.put(broker_pb2.SubscribeRequest(start=broker_pb2.SubscribeStart(
                topic=self._cluster.topic, partition=self.partition, position=position,
                credit=broker_pb2.Credit(bytes=WINDOW_BYTES, records=WINDOW_RECORDS))))
            call = self._cluster.broker(address).Subscribe(iter(requests.get, None), metadata=NO_FORWARDING)
            with self._lock:
                self._requests, self._call, self._pending = requests, call, [0, 0]
            try:
                for response in call:
                    self._retry.succeeded()
                    if next_offset is None:
                        next_offset = response.start_offset
                    for batch in response.batches:
                        # The first batch may begin before the offset asked for: skip those records.
                        self._out.put((self, batch, next_offset))
                        next_offset = max(next_offset, batch.base_offset + batch.record_count)
                error = None
            except grpc.RpcError as err:
                error = err
            finally:
                with self._lock:
                    self._requests = self._call = None
                requests.put(None)  # ends the request iterator
            if self._stopping.is_set():
                return
            try:
                if error is None:
                    raise RunnelError("INTERNAL", f"{address} ended the subscription to {self._cluster.topic}/{self.partition} without an error")
                self._retry.failed(error)
            except RunnelError as err:
                self._out.put(err)
                return
