// The cluster rule lives in @runnel/protocol (the coordinator applies it too); brokers use it from here.
export { guardCluster, wrongCluster } from '@runnel/protocol';
