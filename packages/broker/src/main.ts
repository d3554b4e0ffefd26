#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { pino } from 'pino';
import { announceReady, envOptions, exitOnSignals } from '@runnel/protocol';
import { startBroker } from './broker.js';
import { CONFIG_FLAGS, ConfigError, parseBrokerConfig } from './config.js';
import type { BrokerConfig } from './config.js';

const FLAG_NAMES = Object.values(CONFIG_FLAGS).map((f) => f.slice(2));

function readConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BrokerConfig {
  const program = new Command('runnel-broker')
    .description('Runnel broker: serves produce / subscribe for the partitions it leads')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .option('--id <n>', 'broker id, 1 to 2147483647, unique in the cluster (required)')
    .option('--data-dir <dir>', 'where its LevelDB (partition logs) lives (required)')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option('--port <n>', 'gRPC port; 0 picks a free one (default 7401)')
    .option('--advertised-address <host:port>', 'address registered with the coordinator (default host:bound port)')
    .option('--coordinator <host:port>', 'the coordinator (default 127.0.0.1:7400)')
    .option('--fsync <policy>', 'always, never or interval:MS (default always)')
    .option('--rack <name>', 'rack / zone label for replica placement')
    .option('--retention-check-interval-ms <ms>', 'how often retention runs (default 60000)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent (default info)')
    .option('--metrics-port <n>', 'Prometheus metrics HTTP port (GET /metrics, /healthz); 0 = off (default 0)')
    .option('--metrics-host <host>', 'interface the metrics endpoint listens on (default: --host)')
    .option('--subscriptions-max <n>', 'Subscribe streams open at once on this broker; the next is refused with TOO_MANY_STREAMS (default 10000)')
    .option('--produce-streams-max <n>', 'ProduceStream streams open at once on this broker; the next is refused with TOO_MANY_STREAMS (default 10000)')
    .option('--test-power-loss <mode>', 'TEST ONLY: off (default), track (keep undo records of unsynced writes) or recover (discard them at start, as a power loss would)')
    .option('--test-fault <fault>', 'TEST ONLY: none (default) or ack-before-quorum (a deliberate bug for negative controls)');
  program.parse([...argv], { from: 'node' });
  if (program.args.length > 0) throw new ConfigError(program.args[0] ?? '?', 'unexpected argument');
  const fromEnv = envOptions(FLAG_NAMES, env);
  const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  const raw: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fromEnv)) raw[camel(name)] = value;
  for (const [key, value] of Object.entries(program.opts<Record<string, string | undefined>>())) {
    if (value !== undefined) raw[key] = value;
  }
  return parseBrokerConfig(raw);
}

async function main(): Promise<void> {
  let config: BrokerConfig;
  try {
    config = readConfig(process.argv, process.env);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    process.stderr.write(`runnel-broker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const logger = pino({ level: config.logLevel, base: { role: 'broker', nodeId: config.id } });
  // Signals during startup (still registering) abort it; after, they close the broker.
  const abort = new AbortController();
  const starting = startBroker(config, logger, { signal: abort.signal });
  exitOnSignals(logger, async () => {
    abort.abort();
    const broker = await starting.catch(() => undefined);
    await broker?.close();
  });
  let broker: Awaited<typeof starting>;
  try {
    broker = await starting;
  } catch (err) {
    if (abort.signal.aborted) return; // stopped by a signal while starting: exitOnSignals exits 0
    throw err;
  }
  announceReady(logger, { role: 'broker', id: config.id, address: broker.address });
}

main().catch((err: unknown) => {
  process.stderr.write(`runnel-broker: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
