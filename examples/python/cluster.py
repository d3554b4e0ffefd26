"""What producer.py and consumer.py share: addresses, metadata, Runnel errors, leader following.

Import it only after stubs.load() succeeded (it imports grpc and the generated stubs).
"""

import random
import sys
import threading
import time

import grpc

from runnel.v1 import broker_pb2, broker_pb2_grpc, coordinator_pb2, coordinator_pb2_grpc

# Limits: every call has a deadline, every retry loop a bound.
CALL_TIMEOUT_S = 10.0
ATTEMPTS_MAX = 6
BACKOFF_BASE_S = 0.1
BACKOFF_MAX_S = 2.0

# Request header of a client that follows leaders itself: without it a broker that does not lead
# the partition forwards the request to the leader (one hop) instead of answering NOT_LEADER.
NO_FORWARDING = (("runnel-forward", "false"),)


class RunnelError(Exception):
    """A failed call, by its Runnel error code (docs/errors.md); match on `code`, never on the text."""

    def __init__(self, code: str, message: str, retriable: bool = False, leader_id: int = -1, leader_address: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retriable = retriable
        self.leader_id = leader_id
        self.leader_address = leader_address


def error_from_rpc(err: grpc.RpcError, address: str) -> RunnelError:
    """Reads the `runnel-*` trailers of a failed call. A status without them comes from the
    transport: UNAVAILABLE and DEADLINE_EXCEEDED are then retriable (UNREACHABLE, TIMEOUT)."""
    trailers = dict(err.trailing_metadata() or ())
    status = err.code()
    details = err.details() or status.name
    code = trailers.get("runnel-error-code")
    if code is None:
        if status == grpc.StatusCode.UNAVAILABLE:
            return RunnelError("UNREACHABLE", f"cannot reach {address}: {details}", retriable=True)
        if status == grpc.StatusCode.DEADLINE_EXCEEDED:
            return RunnelError("TIMEOUT", f"{address} did not answer in time", retriable=True)
        return RunnelError(status.name, f"{address}: {details}")
    leader_id = trailers.get("runnel-leader-id")
    return RunnelError(
        code,
        details,
        retriable=trailers.get("runnel-retriable") == "true",
        leader_id=int(leader_id) if leader_id not in (None, "") else -1,
        leader_address=trailers.get("runnel-leader-address", ""),
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Cluster:
    """Channels by address and one topic's metadata: partition count and leaders. Thread-safe
    (the consumer's partition threads share one)."""

    def __init__(self, bootstrap: str, topic: str):
        self.bootstrap = bootstrap
        self.topic = topic
        self.partition_count = 0
        self._leaders = {}  # partition -> broker id (-1: none)
        self._brokers = {}  # broker id -> address
        self._channels = {}
        self._lock = threading.Lock()

    def broker(self, address: str) -> broker_pb2_grpc.BrokerStub:
        return broker_pb2_grpc.BrokerStub(self._channel(address))

    def _channel(self, address: str) -> grpc.Channel:
        with self._lock:
            if address not in self._channels:
                self._channels[address] = grpc.insecure_channel(address)
            return self._channels[address]

    def refresh(self) -> None:
        """Reads metadata from the bootstrap address: Coordinator.DescribeCluster, or
        Broker.GetMetadata when the bootstrap address is a broker (UNIMPLEMENTED)."""
        channel = self._channel(self.bootstrap)
        try:
            meta = coordinator_pb2_grpc.CoordinatorStub(channel).DescribeCluster(
                coordinator_pb2.DescribeClusterRequest(), timeout=CALL_TIMEOUT_S
            )
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise error_from_rpc(err, self.bootstrap) from None
            try:
                meta = broker_pb2_grpc.BrokerStub(channel).GetMetadata(
                    broker_pb2.GetMetadataRequest(topics=[self.topic]), timeout=CALL_TIMEOUT_S
                )
            except grpc.RpcError as err2:
                raise error_from_rpc(err2, self.bootstrap) from None
        topic = next((t for t in meta.topics if t.name == self.topic), None)
        if topic is None:
            raise RunnelError("UNKNOWN_TOPIC", f"no topic named {self.topic!r} (create it first, e.g. `npx runnel topic create {self.topic} --partitions 3`)")
        with self._lock:
            self._brokers = {b.id: b.address for b in meta.brokers if b.alive}
            self.partition_count = len(topic.partitions)
            self._leaders = {p.partition: p.leader for p in topic.partitions}

    def leader_address(self, partition: int):
        """The leader's address in the metadata, or None (no leader, or a broker not known alive)."""
        with self._lock:
            return self._brokers.get(self._leaders.get(partition, -1))

    def remember_leader(self, partition: int, leader_id: int, address: str) -> None:
        """Records the leader a NOT_LEADER answer named, so later requests go there directly."""
        if leader_id >= 0:
            with self._lock:
                self._leaders[partition] = leader_id
                self._brokers[leader_id] = address

    def close(self) -> None:
        with self._lock:
            channels = list(self._channels.values())
            self._channels.clear()
        for channel in channels:
            channel.close()


class LeaderRetry:
    """Where to send the next attempt for one partition. After a retriable failure: the leader a
    NOT_LEADER or LEADERSHIP_LOST names (at once), else the leader in refreshed metadata after a backoff with jitter.
    At most ATTEMPTS_MAX failures in a row; succeeded() resets the count."""

    def __init__(self, cluster: Cluster, partition: int, first_address=None):
        self.cluster = cluster
        self.partition = partition
        self.address = first_address or cluster.leader_address(partition)
        self.failures = 0

    def target(self) -> str:
        """The address for the next attempt (refreshing metadata while there is no leader)."""
        while self.address is None:
            self._fail(RunnelError("PARTITION_OFFLINE", f"{self.cluster.topic}/{self.partition} has no leader", retriable=True))
        return self.address

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self, err: grpc.RpcError) -> None:
        """Raises RunnelError unless the call should be tried again (at self.target())."""
        self._fail(error_from_rpc(err, self.address))

    def _fail(self, error: RunnelError) -> None:
        self.failures += 1
        if not error.retriable:
            raise error
        if self.failures >= ATTEMPTS_MAX:
            raise RunnelError(error.code, f"{error.message} (gave up after {self.failures} attempts)", retriable=True)
        # NOT_LEADER: refused, not written. LEADERSHIP_LOST: appended, then the leadership moved, so
        # it may still commit and a retry may write it twice. Both name the new leader: go there.
        if error.code in ("NOT_LEADER", "LEADERSHIP_LOST") and error.leader_address:
            log(f"{error.code} from {self.address} for {self.cluster.topic}/{self.partition}: "
                f"following the leader, broker {error.leader_id} at {error.leader_address}")
            self.cluster.remember_leader(self.partition, error.leader_id, error.leader_address)
            self.address = error.leader_address
            return
        delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (self.failures - 1))
        log(f"{error.code} from {self.address}: retrying in {delay:.1f}s with fresh metadata")
        time.sleep(delay * random.uniform(0.5, 1.0))
        try:
            self.cluster.refresh()
        except RunnelError as refresh_error:
            if not refresh_error.retriable:
                raise
        self.address = self.cluster.leader_address(self.partition)
