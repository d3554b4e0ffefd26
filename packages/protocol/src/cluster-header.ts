/**
 * Request header naming the cluster a client believes it talks to (the `cluster_id` of its
 * metadata). A broker of another cluster refuses the call with WRONG_CLUSTER instead of serving it:
 * an address a client learned can since have been taken by another cluster's process. Optional:
 * calls without it are served.
 */
export const CLUSTER_ID_HEADER = 'runnel-cluster-id';
