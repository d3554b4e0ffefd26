/**
 * Request header naming the cluster a client believes it talks to (the `cluster_id` of its
 * metadata). A broker of another cluster refuses the call with WRONG_CLUSTER instead of serving it:
 * an address a client learned can since have been taken by another cluster's process. Optional:
 * calls without it are served.
 */
export const CLUSTER_ID_HEADER = 'runnel-cluster-id';

/**
 * Request headers a broker sends with its own coordinator calls that need a broker's authority
 * (CreateTopic with `internal = true`): its id and the incarnation it registered with. The
 * incarnation is random per broker process and never published in metadata, so a client cannot
 * name a live one; the coordinator refuses internal topic creation without a matching pair.
 */
export const BROKER_ID_HEADER = 'runnel-broker-id';
export const BROKER_INCARNATION_HEADER = 'runnel-broker-incarnation';
