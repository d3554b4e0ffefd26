import { RunnelClient } from '@runnel/client';
import type { CommandContext } from './context.js';

/** One client per command run, logging through the command's logger. */
export function openClient(bootstrap: string, ctx: CommandContext, requestTimeoutMs?: number): RunnelClient {
  return new RunnelClient({ bootstrap, logger: ctx.logger, ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }) });
}
