import { checkHealth } from '@runnel/testkit';
import { openClient } from '../client-factory.js';
import { EXIT_FAILURE, EXIT_OK, STATUS_PROBE_TIMEOUT_MS } from '../constants.js';
import type { CommandContext } from '../context.js';
import { formatError } from '../errors.js';
import { formatClusterStatus, jsonDocument } from '../format.js';
import type { ClusterStatusView, NodeStatusView } from '../format.js';

interface ClusterMetadataLike {
  readonly clusterId?: string;
  readonly version?: number;
  readonly brokers: readonly { id: number; address: string; alive: boolean }[];
}

/** Healthy = the coordinator and every registered broker are alive and SERVING. */
export function statusView(bootstrap: string, coordinatorHealth: string, metadata: ClusterMetadataLike | undefined, brokerHealth: readonly string[], error: string | null): ClusterStatusView {
  const coordinator: NodeStatusView = { role: 'coordinator', id: 0, address: bootstrap, alive: metadata !== undefined, health: coordinatorHealth };
  const brokers: NodeStatusView[] = (metadata?.brokers ?? []).map((b, i) => ({
    role: 'broker', id: b.id, address: b.address, alive: b.alive, health: brokerHealth[i] ?? 'UNKNOWN',
  }));
  const healthy = metadata !== undefined && coordinatorHealth === 'SERVING' && brokers.every((b) => b.alive && b.health === 'SERVING');
  return {
    healthy,
    clusterId: metadata?.clusterId ?? null,
    metadataVersion: metadata?.version === undefined ? null : Number(metadata.version),
    coordinator,
    brokers,
    error,
  };
}

/** `runnel cluster status`: exit 0 only when the whole cluster is healthy. */
export async function clusterStatus(opts: { readonly bootstrap: string; readonly json?: boolean }, ctx: CommandContext): Promise<number> {
  const client = openClient(opts.bootstrap, ctx, STATUS_PROBE_TIMEOUT_MS);
  let metadata: ClusterMetadataLike | undefined;
  let error: string | null = null;
  try {
    const [coordinatorHealth, described] = await Promise.all([
      checkHealth(opts.bootstrap, { timeoutMs: STATUS_PROBE_TIMEOUT_MS }),
      client.admin.describeCluster().then(
        (m) => m,
        (err: unknown) => {
          error = formatError(err).replace(/^error: /, '');
          return undefined;
        },
      ),
    ]);
    metadata = described;
    const brokerHealth = await Promise.all((metadata?.brokers ?? []).map((b) => checkHealth(b.address, { timeoutMs: STATUS_PROBE_TIMEOUT_MS })));
    const view = statusView(opts.bootstrap, coordinatorHealth, metadata, brokerHealth, error);
    ctx.output.stdout(opts.json === true ? jsonDocument(view) : formatClusterStatus(view));
    return view.healthy ? EXIT_OK : EXIT_FAILURE;
  } finally {
    await client.close();
  }
}
