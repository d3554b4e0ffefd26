#!/usr/bin/env node
import { CommanderError } from 'commander';
import { pino } from 'pino';
import pretty from 'pino-pretty';
import { BOOTSTRAP_DEFAULT, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './constants.js';
import type { CommandContext } from './context.js';
import { UsageError, formatError } from './errors.js';
import { parseAddress, parseLogLevel } from './options.js';
import { processOutput } from './output.js';
import { buildProgram } from './program.js';
import { ProcessShutdownSignal } from './shutdown-signal.js';

/** The process edge: reads argv and env, runs one command, returns its exit code. */
async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const output = processOutput;
  let bootstrap = BOOTSTRAP_DEFAULT;
  let logLevel = 'warn';
  try {
    if (env.RUNNEL_BOOTSTRAP) bootstrap = parseAddress(env.RUNNEL_BOOTSTRAP);
    if (env.RUNNEL_CLI_LOG_LEVEL) logLevel = parseLogLevel(env.RUNNEL_CLI_LOG_LEVEL);
  } catch (err) {
    output.stderr(`error: bad environment (RUNNEL_BOOTSTRAP / RUNNEL_CLI_LOG_LEVEL): ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_USAGE;
  }
  const logger = pino({ level: logLevel }, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY }));
  const ctx: CommandContext = {
    output,
    stdin: process.stdin,
    cwd: process.cwd(),
    logger,
    shutdown: new ProcessShutdownSignal(),
  };
  let exitCode = EXIT_OK;
  const program = buildProgram({ bootstrap }, ctx, async (_command, _options, run) => {
    exitCode = await run();
  });
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    output.stderr(`${formatError(err)}\n`);
    return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

// A reader that goes away (`runnel consume | head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  process.exit(err.code === 'EPIPE' ? EXIT_OK : EXIT_FAILURE);
});

/** Exits once stdout and stderr are flushed (pipes are asynchronous: exiting earlier loses output). */
function exitAfterFlush(code: number): void {
  process.exitCode = code;
  void processOutput.flush().then(() => process.exit(code));
}

main(process.argv, process.env).then(exitAfterFlush, (err: unknown) => {
  processOutput.stderr(`${formatError(err)}\n`);
  exitAfterFlush(EXIT_FAILURE);
});
