import type { Logger } from 'pino';
import { fromServiceError } from '@runnel/protocol';
import { CONTROLLED_SHUTDOWN_MS_MAX, CONTROLLED_SHUTDOWN_RETRY_MS } from './constants.js';
import type { CoordinatorLink } from './coordinator-link.js';

/**
 * Controlled shutdown: while this broker keeps serving (leading what it still leads, following the
 * rest), asks the coordinator every CONTROLLED_SHUTDOWN_RETRY_MS to move its leaderships away,
 * until it answers `leaderships_remaining == 0`, answers UNIMPLEMENTED, or
 * CONTROLLED_SHUTDOWN_MS_MAX has passed. Never throws.
 */
export async function controlledShutdown(link: CoordinatorLink, logger: Logger, leadershipsHere: () => number): Promise<void> {
  if (!link.isRegistered) return;
  const deadline = Date.now() + CONTROLLED_SHUTDOWN_MS_MAX;
  for (;;) {
    let remaining: number | 'unsupported' | undefined;
    try {
      remaining = await link.controlledShutdown();
    } catch (err) {
      logger.warn({ code: fromServiceError(err).code }, 'controlled shutdown call failed; retrying');
    }
    if (remaining === 'unsupported') {
      logger.info('coordinator does not support controlled shutdown; stopping anyway');
      return;
    }
    if (remaining === 0) {
      logger.info('controlled shutdown: no leaderships remain');
      return;
    }
    if (Date.now() + CONTROLLED_SHUTDOWN_RETRY_MS > deadline) {
      logger.warn({ remaining, leadingHere: leadershipsHere() }, 'controlled shutdown timed out; stopping with leaderships left');
      return;
    }
    await new Promise((r) => setTimeout(r, CONTROLLED_SHUTDOWN_RETRY_MS));
  }
}
