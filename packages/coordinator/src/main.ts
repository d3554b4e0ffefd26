#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { announceReady, envOptions, exitOnSignals } from '@runnel/protocol';
import { pino } from 'pino';
import { ConfigError, CONFIG_FLAGS, parseCoordinatorConfig } from './config.js';
import { startCoordinator } from './coordinator.js';

/** Usage errors: message on stderr, exit 2 (docs/processes.md). */
function usageError(message: string): never {
  process.stderr.write(`runnel-coordinator: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Record<string, unknown> {
  const program = new Command('runnel-coordinator')
    .description('The Runnel coordinator: membership, topics, assignment, leader epochs.')
    .addOption(new Option('--data-dir <dir>', 'its LevelDB (metadata) lives here (required)'))
    .addOption(new Option('--host <host>', 'interface to listen on (default 127.0.0.1)'))
    .addOption(new Option('--port <n>', 'gRPC port; 0 picks a free one (default 7400)'))
    .addOption(new Option('--session-timeout-ms <ms>', 'a broker silent this long is declared dead (default 3000)'))
    .addOption(new Option('--heartbeat-interval-ms <ms>', 'how often brokers must heartbeat (default 500)'))
    .addOption(new Option('--preferred-leader-check-interval-ms <ms>', 'how often to move leaderships back to preferred replicas; 0 disables (default 5000)'))
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error, fatal, silent (default info)'))
    .addOption(new Option('--metrics-port <n>', 'Prometheus metrics HTTP port (GET /metrics, /healthz); 0 = off (default 0)'))
    .addOption(new Option('--metrics-host <host>', 'interface the metrics endpoint listens on (default: --host)'))
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: (s) => process.stdout.write(s) });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) process.exit(0);
      usageError(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
  return program.opts();
}

async function main(): Promise<void> {
  const flags = parseArgs(process.argv.slice(2));
  const env = envOptions(Object.values(CONFIG_FLAGS).map((f) => f.slice(2)), process.env);
  const fromEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
  let config;
  try {
    config = parseCoordinatorConfig({ ...fromEnv, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) });
  } catch (err) {
    if (err instanceof ConfigError) usageError(err.message);
    throw err;
  }
  const log = pino({ level: config.logLevel, base: { role: 'coordinator', nodeId: 0, pid: process.pid } });
  let coordinator;
  try {
    coordinator = await startCoordinator(config, log);
  } catch (err) {
    log.fatal({ err }, 'coordinator failed to start');
    log.flush();
    process.exit(1);
  }
  const running = coordinator;
  exitOnSignals(log, () => running.close());
  announceReady(log, { role: 'coordinator', id: 0, address: running.address });
}

main().catch((err: unknown) => {
  process.stderr.write(`runnel-coordinator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
