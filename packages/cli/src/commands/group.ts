import type { GroupInfo, ResetTo } from '@runnel/client';
import { openClient } from '../client-factory.js';
import { EXIT_OK } from '../constants.js';
import type { CommandContext } from '../context.js';
import { jsonDocument, table } from '../format.js';
import type { StartPosition } from '../parse-position.js';

export interface GroupListOptions {
  readonly bootstrap: string;
  readonly json?: boolean;
}

/** `runnel group list`: every group with its state and member count. */
export async function groupList(opts: GroupListOptions, ctx: CommandContext): Promise<number> {
  const client = openClient(opts.bootstrap, ctx);
  try {
    const groups = await client.admin.listGroups();
    if (opts.json === true) ctx.output.stdout(jsonDocument(groups));
    else if (groups.length === 0) ctx.output.stdout('no groups\n');
    else ctx.output.stdout(table(['group', 'state', 'members', 'generation', 'coordinator'], groups.map((g) => [g.group, g.state, g.members, g.generation, g.coordinatorId])));
    return EXIT_OK;
  } finally {
    await client.close();
  }
}

export function formatGroupDescribe(g: GroupInfo): string {
  const head = `group ${g.group}: ${g.state}, generation ${g.generation}, ${g.members} member(s), coordinator broker ${g.coordinatorId}\n`;
  const members = g.memberList.length === 0
    ? 'members: none\n'
    : table(['member', 'client', 'topics', 'partitions', 'revoking'], g.memberList.map((m) => [
      m.memberId, m.clientId || '-', m.topics.join(','),
      m.assigned.map((tp) => `${tp.topic}/${tp.partition}`).join(',') || '-',
      m.revoking.map((tp) => `${tp.topic}/${tp.partition}`).join(',') || '-',
    ]));
  const partitions = g.partitions.length === 0
    ? 'partitions: none\n'
    : table(['topic', 'partition', 'member', 'committed', 'high watermark', 'lag'], g.partitions.map((p) => [
      p.topic, p.partition, p.memberId || '-', p.committedOffset < 0 ? '-' : p.committedOffset, p.highWatermark < 0 ? '-' : p.highWatermark, p.lag ?? '-',
    ]));
  return head + members + partitions;
}

export interface GroupDescribeOptions {
  readonly bootstrap: string;
  readonly json?: boolean;
}

/** `runnel group describe <group>`: members, assignment, committed offsets and lag per partition. */
export async function groupDescribe(group: string, opts: GroupDescribeOptions, ctx: CommandContext): Promise<number> {
  const client = openClient(opts.bootstrap, ctx);
  try {
    const g = await client.admin.describeGroup(group);
    ctx.output.stdout(opts.json === true ? jsonDocument(g) : formatGroupDescribe(g));
    return EXIT_OK;
  } finally {
    await client.close();
  }
}

export interface GroupResetOptions {
  readonly bootstrap: string;
  readonly to: StartPosition;
  readonly topic?: string[];
  readonly json?: boolean;
}

/** `runnel group reset-offsets <group> --to …`: only for a group without live members. */
export async function groupResetOffsets(group: string, opts: GroupResetOptions, ctx: CommandContext): Promise<number> {
  const client = openClient(opts.bootstrap, ctx);
  try {
    const to: ResetTo = opts.to;
    const set = await client.admin.resetGroupOffsets(group, to, opts.topic);
    if (opts.json === true) ctx.output.stdout(jsonDocument(set));
    else ctx.output.stdout(`group ${group}: offsets set\n${table(['topic', 'partition', 'offset'], set.map((o) => [o.topic, o.partition, o.offset]))}`);
    return EXIT_OK;
  } finally {
    await client.close();
  }
}
