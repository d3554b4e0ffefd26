import { Command, InvalidArgumentError, Option } from 'commander';
import { registerBench } from './commands/bench.js';
import { chaos, parseDuration, parseFaults } from './commands/chaos.js';
import { clusterStatus } from './commands/cluster-status.js';
import { clusterUp } from './commands/cluster-up.js';
import { consume } from './commands/consume.js';
import { groupDescribe, groupList, groupResetOffsets } from './commands/group.js';
import { produce } from './commands/produce.js';
import { topicCreate, topicDelete, topicDescribe, topicList } from './commands/topic.js';
import {
  BASE_PORT_DEFAULT, BROKERS_DEFAULT, BROKERS_MAX, DATA_DIR_DEFAULT, LOG_LEVEL_DEFAULT, SYNTHETIC_RECORD_BYTES_MAX,
} from './constants.js';
import type { CommandContext } from './context.js';
import { integerIn, parseAcks, parseAddress, parseFrom, parseFsync, parseLogLevel } from './options.js';

export interface ProgramDefaults {
  /** --bootstrap when not given (main.ts passes RUNNEL_BOOTSTRAP or 127.0.0.1:7400). */
  readonly bootstrap: string;
}

/**
 * Runs a command and records its exit code. `command` ('topic create', …) and its parsed `options`
 * are passed along so tests can check parsing without running anything.
 */
export type Runner = (command: string, options: Readonly<Record<string, unknown>>, run: () => Promise<number>) => Promise<void>;

const INT32_MAX = 2_147_483_647;

/** A parser whose RangeError becomes a commander usage error. */
function wrapRange<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}
const MS_MAX = 2 ** 52;

/**
 * The `runnel` command tree. Parsing (and usage errors, via commander's exitOverride) is
 * separate from running, so tests can parse without side effects: `ctx` is only used inside
 * actions, and every action goes through `runner`.
 */
export function buildProgram(defaults: ProgramDefaults, ctx: CommandContext, runner: Runner): Command {
  const program = new Command('runnel')
    .description('Runnel: a replicated, partitioned event log')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.output.stdout(text),
      writeErr: (text) => ctx.output.stderr(text),
    });

  const bootstrap = (): Option =>
    new Option('--bootstrap <host:port>', 'coordinator address (env RUNNEL_BOOTSTRAP)').argParser(parseAddress).default(defaults.bootstrap);

  // ---- cluster
  const cluster = program.command('cluster').description('run or inspect a local cluster');
  cluster
    .command('up')
    .description('run a coordinator and N brokers on loopback in the foreground until Ctrl-C')
    .option('--brokers <n>', 'number of brokers', integerIn(1, BROKERS_MAX), BROKERS_DEFAULT)
    .option('--data-dir <dir>', 'data folder (relative to the current directory)', DATA_DIR_DEFAULT)
    .option('--base-port <port>', 'coordinator port; broker i listens on base-port + i', integerIn(1, 65_535 - BROKERS_MAX), BASE_PORT_DEFAULT)
    .option('--session-timeout-ms <ms>', 'a broker silent this long is declared dead', integerIn(1, INT32_MAX))
    .option('--fsync <policy>', 'broker fsync policy: always, never or interval:MS', parseFsync)
    .option('--log-level <level>', 'log level of the processes', parseLogLevel, LOG_LEVEL_DEFAULT)
    .action((opts: { brokers: number; dataDir: string; basePort: number; sessionTimeoutMs?: number; fsync?: ReturnType<typeof parseFsync>; logLevel: ReturnType<typeof parseLogLevel> }) =>
      runner('cluster up', opts, () => clusterUp(opts, ctx)));
  cluster
    .command('status')
    .description('coordinator and broker health; exit 0 only when all are healthy')
    .addOption(bootstrap())
    .option('--json', 'print JSON')
    .action((opts: { bootstrap: string; json?: boolean }) => runner('cluster status', opts, () => clusterStatus(opts, ctx)));

  // ---- topic
  const topic = program.command('topic').description('create, list, describe and delete topics');
  topic
    .command('create')
    .description('create a topic')
    .argument('<name>', 'topic name')
    .requiredOption('--partitions <p>', 'number of partitions', integerIn(1, 10_000))
    .option('--replication <r>', 'replicas per partition (default min(3, brokers))', integerIn(1, 5))
    .option('--retention-ms <ms>', 'delete data older than this; -1 keeps it forever', integerIn(-1, MS_MAX))
    .option('--retention-bytes <b>', 'delete the oldest data past this many bytes per partition; -1 = no limit', integerIn(-1, MS_MAX))
    .option('--max-message-bytes <b>', 'largest record accepted', integerIn(1, INT32_MAX))
    .option('--unclean-leader-election', 'LOSSY: when no majority of replicas answers, elect the most up-to-date one anyway')
    .option('--json', 'print the created topic as JSON')
    .addOption(bootstrap())
    .action((name: string, opts: { bootstrap: string; partitions: number; replication?: number; retentionMs?: number; retentionBytes?: number; maxMessageBytes?: number; uncleanLeaderElection?: boolean; json?: boolean }) =>
      runner('topic create', { name, ...opts }, () => topicCreate(name, opts, ctx)));
  topic
    .command('list')
    .description('list topics')
    .option('--json', 'print JSON')
    .addOption(bootstrap())
    .action((opts: { bootstrap: string; json?: boolean }) => runner('topic list', opts, () => topicList(opts, ctx)));
  topic
    .command('describe')
    .description('partitions, leaders, replicas, epochs and offsets of a topic')
    .argument('<name>', 'topic name')
    .option('--json', 'print JSON')
    .addOption(bootstrap())
    .action((name: string, opts: { bootstrap: string; json?: boolean }) => runner('topic describe', { name, ...opts }, () => topicDescribe(name, opts, ctx)));
  topic
    .command('delete')
    .description('delete a topic and its data')
    .argument('<name>', 'topic name')
    .addOption(bootstrap())
    .action((name: string, opts: { bootstrap: string }) => runner('topic delete', { name, ...opts }, () => topicDelete(name, opts, ctx)));

  // ---- produce / consume
  program
    .command('produce')
    .description('send one record per stdin line, or --count synthetic records of --size bytes')
    .requiredOption('--topic <topic>', 'topic')
    .option('--key <key>', 'key of every record')
    .option('--partition <p>', 'send every record to this partition', integerIn(0, 9_999))
    .option('--acks <acks>', 'none, leader, quorum (default) or all', parseAcks)
    .option('--json', 'print {"partition":N,"offset":N} per acknowledged record, in input order')
    .option('--count <n>', 'synthetic load: number of records', integerIn(1, Number.MAX_SAFE_INTEGER))
    .option('--size <bytes>', 'synthetic load: bytes per record', integerIn(0, SYNTHETIC_RECORD_BYTES_MAX))
    .addOption(bootstrap())
    .action((opts: { bootstrap: string; topic: string; key?: string; partition?: number; acks?: ReturnType<typeof parseAcks>; json?: boolean; count?: number; size?: number }) =>
      runner('produce', opts, () => produce(opts, ctx)));
  program
    .command('consume')
    .description('print records, one value per line')
    .requiredOption('--topic <topic>', 'topic')
    .option('--partition <p>', 'only this partition', integerIn(0, 9_999))
    .option('--from <position>', 'earliest, latest (default), an offset or an ISO-8601 time; with --group: earliest or latest for partitions without a committed offset', parseFrom)
    .option('--group <group>', 'consume as a member of this consumer group (partitions shared, offsets committed after each record is printed)')
    .option('--count <n>', 'exit after this many records', integerIn(0, Number.MAX_SAFE_INTEGER))
    .option('--timeout-ms <ms>', 'exit after this long without a new record', integerIn(1, INT32_MAX))
    .option('--json', 'print one JSON object per record')
    .addOption(bootstrap())
    .action((opts: { bootstrap: string; topic: string; partition?: number; from?: ReturnType<typeof parseFrom>; group?: string; count?: number; timeoutMs?: number; json?: boolean }) =>
      runner('consume', opts, () => consume(opts, ctx)));

  // ---- group
  const group = program.command('group').description('consumer groups: list, describe, reset offsets');
  group
    .command('list')
    .description('every consumer group, with its state and member count')
    .option('--json', 'print JSON')
    .addOption(bootstrap())
    .action((opts: { bootstrap: string; json?: boolean }) => runner('group list', opts, () => groupList(opts, ctx)));
  group
    .command('describe')
    .description('members, assignment, committed offsets and lag per partition')
    .argument('<group>', 'group name')
    .option('--json', 'print JSON')
    .addOption(bootstrap())
    .action((name: string, opts: { bootstrap: string; json?: boolean }) => runner('group describe', { group: name, ...opts }, () => groupDescribe(name, opts, ctx)));
  group
    .command('reset-offsets')
    .description("set a group's committed offsets (only while it has no live members)")
    .argument('<group>', 'group name')
    .requiredOption('--to <position>', 'earliest, latest, an offset, or an ISO-8601 time', parseFrom)
    .option('--topic <topic...>', 'topics to reset (default: the topics the group has offsets for)')
    .option('--json', 'print JSON')
    .addOption(bootstrap())
    .action((name: string, opts: { bootstrap: string; to: ReturnType<typeof parseFrom>; topic?: string[]; json?: boolean }) =>
      runner('group reset-offsets', { group: name, ...opts }, () => groupResetOffsets(name, opts, ctx)));
  // ---- chaos
  program
    .command('chaos')
    .description('run a workload against a fresh local cluster while injecting faults, then check that nothing acknowledged was lost (exit 3 on anomalies)')
    .option('--duration <time>', 'how long faults are injected: 60s, 2m, 1500ms', wrapRange(parseDuration), 60_000)
    .option('--faults <list>', `comma-separated: ${['kill', 'pause', 'partition', 'restart', 'coordinator', 'powerloss', 'delay'].join(',')}`, wrapRange(parseFaults), parseFaults('kill,pause,partition'))
    .option('--seed <n>', 'seed of the fault schedule', integerIn(0, INT32_MAX), 1)
    .option('--brokers <n>', 'brokers', integerIn(1, 9), 3)
    .option('--partitions <n>', 'partitions of the workload topic', integerIn(1, 64), 3)
    .option('--fsync <policy>', 'broker fsync policy: always, never or interval:MS', parseFsync)
    .option('--session-timeout-ms <ms>', 'broker session timeout', integerIn(300, INT32_MAX))
    .option('--report <file.html>', 'write a self-contained HTML report (timeline of faults, throughput and latency)')
    .option('--json', 'print the result as JSON')
    .option('--keep-data', 'keep the cluster data and logs even without anomalies')
    .option('--test-fault <fault>', 'negative control: run brokers with a deliberate bug (ack-before-quorum)', (v: string) => {
      if (v !== 'ack-before-quorum') throw new InvalidArgumentError('the only test fault is ack-before-quorum');
      return v;
    })
    .action((raw: Omit<Parameters<typeof chaos>[0], 'durationMs'> & { duration: number }) => {
      const { duration, ...rest } = raw;
      const opts = { ...rest, durationMs: duration };
      return runner('chaos', opts, () => chaos(opts, ctx));
    });
  registerBench(program, ctx, runner);

  return program;
}
