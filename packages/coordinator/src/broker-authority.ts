import type * as grpc from '@grpc/grpc-js';
import { BROKER_ID_HEADER, BROKER_INCARNATION_HEADER, RunnelError } from '@runnel/protocol';
import type { MetadataState } from './metadata-state.js';

function header(metadata: grpc.Metadata, name: string): string | undefined {
  const v = metadata.get(name)[0];
  return v === undefined ? undefined : String(v);
}

/**
 * Checks that a call needing a broker's authority (CreateTopic with `internal = true`) comes from a
 * live registered broker: its BROKER_ID_HEADER and BROKER_INCARNATION_HEADER must match a current
 * registration. Without the headers: INVALID_TOPIC_NAME (a client asked for an internal topic);
 * with headers that match no live registration: UNKNOWN_BROKER (retriable: a broker re-registers
 * after a coordinator restart). The incarnation is never published, so a client cannot forge it.
 */
export function assertBrokerCaller(state: MetadataState, metadata: grpc.Metadata): void {
  const id = header(metadata, BROKER_ID_HEADER);
  const incarnation = header(metadata, BROKER_INCARNATION_HEADER);
  if (id === undefined && incarnation === undefined) {
    throw new RunnelError(
      'INVALID_TOPIC_NAME',
      'CreateTopic with internal = true is for brokers only: internal topics ("__" names such as __offsets) are created by brokers when first needed; create your topic with internal unset and a name that does not start with "__"',
    );
  }
  const brokerId = Number(id);
  const broker = Number.isSafeInteger(brokerId) ? state.brokers.get(brokerId) : undefined;
  if (broker === undefined || !broker.alive || broker.incarnation !== incarnation) {
    throw new RunnelError('UNKNOWN_BROKER', `broker ${JSON.stringify((id ?? '').slice(0, 20))} with that incarnation is not registered: only a registered broker may create internal topics; register first`);
  }
}
