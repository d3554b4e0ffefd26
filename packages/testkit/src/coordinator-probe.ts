import * as grpc from '@grpc/grpc-js';
import { GRPC_CHANNEL_OPTIONS, fromServiceError, runnelGrpc } from '@runnel/protocol';
import type { ClusterMetadata__Output } from '@runnel/protocol';
import { PROBE_TIMEOUT_MS } from './constants.js';

/** A small raw gRPC view of the coordinator, independent of the client library's retries. */
export class CoordinatorProbe {
  readonly #client;

  constructor(address: string) {
    const Coordinator = runnelGrpc().runnel.v1.Coordinator;
    this.#client = new Coordinator(address, grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS);
  }

  /** DescribeCluster with a short deadline; rejects with a RunnelError. */
  describeCluster(timeoutMs: number = PROBE_TIMEOUT_MS): Promise<ClusterMetadata__Output> {
    return new Promise((resolve, reject) => {
      this.#client.describeCluster({}, { deadline: Date.now() + timeoutMs }, (err, metadata) => {
        if (err || metadata === undefined) reject(fromServiceError(err));
        else resolve(metadata);
      });
    });
  }

  close(): void {
    this.#client.close();
  }
}
