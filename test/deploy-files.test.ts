// Deployment files and docs/configuration.md, held to the real config parsers.
//
// Every way deploy/ starts a process (the Dockerfile's ENTRYPOINT + CMD, each compose service, each
// pod of each Kubernetes StatefulSet, each systemd unit) is turned into the argv and environment the
// process would get, and fed to what main.ts does with them: envOptions (@runnel/protocol) for the
// RUNNEL_* variables, the flags over them, then parseCoordinatorConfig / parseBrokerConfig. The
// container command lines really run: /bin/sh and deploy/runnel-entrypoint.sh execute, and a stand-in
// `node` first on PATH records the arguments it was exec'd with, so shell expansion (the broker id
// from the pod ordinal) is exercised as in the container.
//
// Values the test supplies because the deploy files leave them to the runtime (documented here):
//   - Kubernetes downward API: metadata.name = `<statefulset>-<ordinal>` for every ordinal below
//     `replicas`, metadata.namespace = `runnel`; HOSTNAME = the pod name. `$(VAR)` references in env
//     values and command / args are expanded as the kubelet does (earlier env entries only; `$$` -> `$`;
//     unknown references stay as written).
//   - systemd: the template instance `%i` = `1`; `/etc/runnel/NAME` (EnvironmentFile=) is read from
//     `deploy/systemd/NAME.example`.
//   - Compose: `${VAR}` interpolation uses COMPOSE_VARIABLES below (the file uses none today).
//   - Containers get the image's ENV (the Dockerfile's last stage), then their own variables; PATH is
//     replaced by the stand-in directory and the system's.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { envOptions } from '@runnel/protocol';
import { formatFsyncPolicy } from '@runnel/storage';
import type { FsyncPolicy } from '@runnel/storage';
// The integration-test package does not depend on the process packages; their public index, by path.
import { CONFIG_FLAGS as BROKER_FLAGS, LOG_LEVELS, parseBrokerConfig } from '../packages/broker/src/index.js';
import { CONFIG_FLAGS as COORDINATOR_FLAGS, parseCoordinatorConfig } from '../packages/coordinator/src/index.js';
import type { BrokerConfig } from '../packages/broker/src/index.js';
import type { CoordinatorConfig } from '../packages/coordinator/src/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEPLOY = path.join(ROOT, 'deploy');
const K8S_NAMESPACE = 'runnel';
const SYSTEMD_INSTANCE = '1';
const COMPOSE_VARIABLES: Readonly<Record<string, string>> = {};
/** Where the image installs deploy/runnel-entrypoint.sh (checked against the Dockerfile's COPY). */
const ENTRYPOINT_SOURCE = 'deploy/runnel-entrypoint.sh';

type Role = 'coordinator' | 'broker';
type Env = Record<string, string>;
type AnyConfig = CoordinatorConfig | BrokerConfig;

const PROCESSES = {
  coordinator: { flags: COORDINATOR_FLAGS as Readonly<Record<string, string>>, parse: parseCoordinatorConfig as (raw: Record<string, unknown>) => AnyConfig },
  broker: { flags: BROKER_FLAGS as Readonly<Record<string, string>>, parse: parseBrokerConfig as (raw: Record<string, unknown>) => AnyConfig },
} as const;

const camel = (name: string): string => name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
const flagNames = (role: Role): string[] => Object.values(PROCESSES[role].flags).map((f) => f.slice(2));

/**
 * What the process's main.ts does with its argv and environment: RUNNEL_* variables through
 * envOptions, flags over them (`--flag value` or `--flag=value`, as commander reads them; an unknown
 * flag reaches the parser as a key it rejects), then the real parser. Throws the parser's ConfigError.
 */
function readConfig(role: Role, argv: readonly string[], env: Readonly<Env>): AnyConfig {
  const { flags, parse } = PROCESSES[role];
  const keyOfFlag = new Map(Object.entries(flags).map(([key, flag]) => [flag, key]));
  const raw: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(envOptions(flagNames(role), env))) raw[camel(name)] = value;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new Error(`${arg}: unexpected argument`);
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new Error(`${flag}: missing value`);
    raw[keyOfFlag.get(flag) ?? camel(flag.slice(2))] = value;
  }
  return parse(raw);
}

/** RUNNEL_* variables the process would silently ignore (envOptions reads only its own names). */
function ignoredRunnelVariables(role: Role, env: Readonly<Env>): string[] {
  return Object.keys(env).filter((k) => k.startsWith('RUNNEL_') && Object.keys(envOptions(flagNames(role), { [k]: 'x' })).length === 0);
}

const broker = (c: AnyConfig): BrokerConfig => c as BrokerConfig;
const hostPort = (address: string | undefined): { host: string; port: number } => {
  const m = /^(.*):(\d+)$/.exec(address ?? '');
  expect(m, `HOST:PORT: ${String(address)}`).not.toBeNull();
  return { host: m?.[1] ?? '', port: Number(m?.[2]) };
};

/** Splits a command line into words: whitespace, '…', "…" and backslash escapes (shell / systemd alike). */
function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? '';
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i] ?? '';
      else word += c;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + (line[++i] ?? '');
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote !== undefined) throw new Error(`unbalanced quote in: ${line}`);
  if (word !== undefined) words.push(word);
  return words;
}

// ---- the image --------------------------------------------------------------------------------

interface Image {
  readonly stages: readonly string[];
  readonly env: Env;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly volumes: readonly string[];
  readonly exposed: readonly number[];
  readonly user: string;
  /** [sources..., destination] of every COPY in the last stage. */
  readonly copies: readonly (readonly string[])[];
  readonly text: string;
}

function readDockerfile(): Image {
  const text = fs.readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8');
  const instructions = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const stages: string[] = [];
  let last: string[] = [];
  for (const ins of instructions) {
    if (/^FROM\s/i.test(ins)) {
      stages.push(ins.split(/\s+/)[1] ?? '');
      last = [];
    } else {
      last.push(ins);
    }
  }
  const env: Env = {};
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  const volumes: string[] = [];
  const exposed: number[] = [];
  const copies: string[][] = [];
  let user = 'root';
  const jsonOrWords = (s: string): string[] => (s.startsWith('[') ? (JSON.parse(s) as string[]) : splitWords(s));
  for (const ins of last) {
    const [, op = '', rest = ''] = /^(\S+)\s+(.*)$/.exec(ins) ?? [];
    switch (op.toUpperCase()) {
      case 'ENV':
        for (const w of splitWords(rest)) {
          const eq = w.indexOf('=');
          expect(eq, `ENV ${w}: use KEY=VALUE`).toBeGreaterThan(0);
          env[w.slice(0, eq)] = w.slice(eq + 1);
        }
        break;
      case 'ENTRYPOINT': entrypoint = jsonOrWords(rest); break;
      case 'CMD': cmd = jsonOrWords(rest); break;
      case 'VOLUME': volumes.push(...jsonOrWords(rest)); break;
      case 'EXPOSE': exposed.push(...splitWords(rest).map((p) => Number.parseInt(p, 10))); break;
      case 'USER': user = rest.split(':')[0] ?? ''; break;
      case 'COPY': copies.push(splitWords(rest).filter((w) => !w.startsWith('--'))); break;
      default: break;
    }
  }
  return { stages, env, entrypoint, cmd, volumes, exposed, user, copies, text };
}

// ---- running a container's command line ---------------------------------------------------------

interface Launch {
  /** Where it comes from, for messages. */
  readonly source: string;
  readonly role: Role | 'cli';
  /** The process's own arguments (after the main script). */
  readonly argv: readonly string[];
  /** Its environment as written in the deploy files (image ENV included), without PATH. */
  readonly env: Env;
}

let sandbox = '';
let capturePath = '';

/** Runs argv as the container would (real sh, real entrypoint, stand-in node) and returns the launch. */
function runContainer(source: string, argv: readonly string[], env: Readonly<Env>): Launch {
  fs.rmSync(capturePath, { force: true });
  const [file, ...args] = argv;
  expect(file, `${source}: empty command`).toBeDefined();
  const run = spawnSync(file ?? '', args, {
    env: { ...env, PATH: `${path.join(sandbox, 'bin')}:/usr/local/bin:/usr/bin:/bin` },
    encoding: 'utf8',
    timeout: 10_000,
  });
  expect(run.error, `${source}: ${String(run.error)}`).toBeUndefined();
  expect(run.status, `${source}: ${run.stderr}`).toBe(0);
  const [main = '', ...rest] = JSON.parse(fs.readFileSync(capturePath, 'utf8')) as string[];
  const m = /^\/app\/packages\/(coordinator|broker|cli)\/dist\/main\.js$/.exec(main);
  expect(m, `${source}: node was started with ${main}`).not.toBeNull();
  return { source, role: (m?.[1] ?? 'cli') as Launch['role'], argv: rest, env: { ...env } };
}

/** A process launch, parsed: asserts the parser accepts it and no RUNNEL_* variable is ignored. */
function accept(launch: Launch): AnyConfig {
  expect(launch.role, launch.source).not.toBe('cli');
  const role = launch.role as Role;
  expect(ignoredRunnelVariables(role, launch.env), `${launch.source}: RUNNEL_* variables the ${role} ignores`).toEqual([]);
  const testOnly = [...launch.argv.filter((a) => a.startsWith('--test-')), ...Object.keys(launch.env).filter((k) => k.startsWith('RUNNEL_TEST_'))];
  expect(testOnly, `${launch.source}: sets test-only flags`).toEqual([]);
  try {
    return readConfig(role, launch.argv, launch.env);
  } catch (err) {
    throw new Error(`${launch.source}: the ${role} rejects ${JSON.stringify(launch.argv)} / ${JSON.stringify(launch.env)}: ${String(err)}`);
  }
}

// ---- compose ----------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: { dockerfile?: string };
  entrypoint?: string | string[];
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test?: string[] };
  profiles?: string[];
}

function interpolateCompose(value: string, where: string): string {
  const out = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced?: string, fallback?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    const v = COMPOSE_VARIABLES[name] ?? fallback;
    if (v === undefined) throw new Error(`${where}: \${${name}} needs a value in COMPOSE_VARIABLES`);
    return v;
  });
  return out.replace(/\$\$/g, '$');
}

function composeEnv(service: ComposeService, where: string): Env {
  const env: Env = {};
  const raw = service.environment ?? {};
  const pairs: [string, unknown][] = Array.isArray(raw) ? raw.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]) : Object.entries(raw);
  for (const [k, v] of pairs) {
    if (v === null || v === undefined) throw new Error(`${where}: ${k} has no value (would come from the host)`);
    env[k] = interpolateCompose(String(v), `${where} ${k}`);
  }
  return env;
}

// ---- Kubernetes -------------------------------------------------------------------------------

interface K8sEnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }
interface K8sProbe { grpc?: { port?: number; service?: string } }
interface K8sContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: K8sEnvVar[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: K8sProbe;
  livenessProbe?: K8sProbe;
  startupProbe?: K8sProbe;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface K8sObject {
  kind: string;
  metadata: { name: string };
  spec: {
    replicas?: number;
    serviceName?: string;
    clusterIP?: string;
    maxUnavailable?: number | string;
    selector?: Record<string, unknown> & { matchLabels?: Record<string, string> };
    ports?: { name?: string; port: number; targetPort?: number | string }[];
    template?: { metadata: { labels: Record<string, string> }; spec: { containers: K8sContainer[]; securityContext?: { runAsNonRoot?: boolean } } };
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
}

/** The kubelet's $(VAR) expansion (k8s.io/kubernetes third_party/forked/golang/expansion). */
function kubeExpand(input: string, vars: Readonly<Env>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i] ?? '';
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 1;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close === -1) {
        out += '$(';
        i += 1;
      } else {
        const name = input.slice(i + 2, close);
        out += Object.hasOwn(vars, name) ? vars[name] : `$(${name})`;
        i = close;
      }
    } else {
      out += c;
    }
  }
  return out;
}

const DOWNWARD_API: Readonly<Record<string, (pod: string) => string>> = {
  'metadata.name': (pod) => pod,
  'metadata.namespace': () => K8S_NAMESPACE,
};

function podEnv(container: K8sContainer, image: Image, pod: string): Env {
  const own: Env = {};
  for (const v of container.env ?? []) {
    if (v.value !== undefined) {
      own[v.name] = kubeExpand(v.value, own);
    } else {
      const field = v.valueFrom?.fieldRef?.fieldPath ?? '';
      const value = DOWNWARD_API[field];
      if (value === undefined) throw new Error(`${pod}: ${v.name} comes from ${JSON.stringify(v.valueFrom)}; give it a plausible value in DOWNWARD_API`);
      own[v.name] = value(pod);
    }
  }
  return { ...image.env, HOSTNAME: pod, ...own };
}

function readK8s(): K8sObject[] {
  const dir = path.join(DEPLOY, 'k8s');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort()
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as K8sObject));
}

// ---- systemd ----------------------------------------------------------------------------------

interface Unit { readonly name: string; readonly service: readonly [string, string][] }

function readUnit(name: string): Unit {
  const service: [string, string][] = [];
  let section = '';
  for (const raw of fs.readFileSync(path.join(DEPLOY, 'systemd', name), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      section = header[1] ?? '';
      continue;
    }
    const eq = line.indexOf('=');
    if (section === 'Service' && eq > 0) service.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return { name, service };
}

function readEnvironmentFile(file: string): Env {
  const env: Env = {};
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    expect(eq, `${file}: ${line}`).toBeGreaterThan(0);
    env[line.slice(0, eq).trim()] = splitWords(line.slice(eq + 1)).join(' ');
  }
  return env;
}

const specifiers = (s: string): string => s.replace(/%%|%i/g, (m) => (m === '%%' ? '%' : SYSTEMD_INSTANCE));

/** The unit's process: Environment=, then EnvironmentFile= (which override it), then ExecStart=. */
function unitLaunch(unit: Unit): Launch & { readonly stateDirectory: string; readonly user: string } {
  const env: Env = {};
  const values = (key: string): string[] => unit.service.filter(([k]) => k === key).map(([, v]) => specifiers(v));
  for (const v of values('Environment')) {
    for (const w of splitWords(v)) env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
  }
  for (const v of values('EnvironmentFile')) {
    const target = v.replace(/^-/, '');
    expect(path.dirname(target), `${unit.name}: EnvironmentFile ${target}`).toBe('/etc/runnel');
    const example = path.join(DEPLOY, 'systemd', `${path.basename(target)}.example`);
    expect(fs.existsSync(example), `${unit.name}: no example for ${target} (${example})`).toBe(true);
    Object.assign(env, readEnvironmentFile(example));
  }
  const exec = values('ExecStart');
  expect(exec, `${unit.name}: one ExecStart`).toHaveLength(1);
  const words = splitWords((exec[0] ?? '').replace(/^[-@:+!]+/, '')).map((w) =>
    w.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) throw new Error(`${unit.name}: ExecStart uses $${name}, which is not set`);
      return v;
    }),
  );
  expect(words[0], `${unit.name}: ExecStart runs node`).toBe('/usr/bin/node');
  const m = /^\/opt\/runnel\/packages\/(coordinator|broker)\/dist\/main\.js$/.exec(words[1] ?? '');
  expect(m, `${unit.name}: ExecStart main ${String(words[1])}`).not.toBeNull();
  return {
    source: `${unit.name} (instance ${SYSTEMD_INSTANCE})`,
    role: (m?.[1] ?? 'broker') as Role,
    argv: words.slice(2),
    env,
    stateDirectory: values('StateDirectory').join(' '),
    user: values('User').join(' '),
  };
}

// ---- docs -------------------------------------------------------------------------------------

interface DocRow { readonly flag: string; readonly variable: string; readonly defaultValue: string; readonly valid: string }

function docSection(doc: string, heading: string): string {
  const start = doc.indexOf(`\n## ${heading}\n`);
  expect(start, `docs/configuration.md: section "## ${heading}"`).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end === -1 ? undefined : end);
}

function docTable(doc: string, heading: string): DocRow[] {
  const cells = (line: string): string[] => line.split('|').slice(1, -1).map((c) => c.trim());
  return docSection(doc, heading)
    .split('\n')
    .filter((l) => l.startsWith('| `--'))
    .map((l) => {
      const [flag = '', variable = '', defaultValue = '', valid = ''] = cells(l);
      return { flag: /^`(--[a-z-]+)/.exec(flag)?.[1] ?? flag, variable: variable.replace(/`/g, ''), defaultValue: defaultValue.replace(/`/g, ''), valid };
    });
}

/** The minimal valid configuration of each process (the required keys), plus keys another key's range depends on. */
const REQUIRED: Readonly<Record<Role, Record<string, string>>> = {
  coordinator: { dataDir: '/var/lib/runnel' },
  broker: { id: '1', dataDir: '/var/lib/runnel' },
};
const RANGE_CONTEXT: Readonly<Record<string, Record<string, string>>> = {
  // heartbeat < session / 2: test the heartbeat range with the longest session, the session range with the shortest heartbeat.
  heartbeatIntervalMs: { sessionTimeoutMs: '600000' },
  sessionTimeoutMs: { heartbeatIntervalMs: '5' },
};

function formatDefault(value: unknown): string {
  if (value === undefined) return 'none';
  if (typeof value === 'object' && value !== null && 'kind' in value) return formatFsyncPolicy(value as FsyncPolicy);
  return String(value);
}

// ---- the tests --------------------------------------------------------------------------------

let image: Image;

beforeAll(() => {
  sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'runnel-deploy-test-'));
  capturePath = path.join(sandbox, 'node-argv.json');
  const bin = path.join(sandbox, 'bin');
  fs.mkdirSync(bin);
  image = readDockerfile();
  // The entrypoint under the name the image installs it as; `node` records its argv instead of running.
  const copy = image.copies.find((c) => c.includes(ENTRYPOINT_SOURCE));
  const installed = path.basename(copy?.at(-1) ?? 'runnel-entrypoint');
  fs.copyFileSync(path.join(ROOT, ENTRYPOINT_SOURCE), path.join(bin, installed));
  fs.chmodSync(path.join(bin, installed), 0o755);
  const recorder = `require('fs').writeFileSync(${JSON.stringify(capturePath)}, JSON.stringify(process.argv.slice(1)))`;
  fs.writeFileSync(path.join(bin, 'node'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} -e ${JSON.stringify(recorder)} -- "$@"\n`, { mode: 0o755 });
});

afterAll(() => {
  if (sandbox !== '') fs.rmSync(sandbox, { recursive: true, force: true });
});

describe('deploy/Dockerfile', () => {
  it('is multi-stage (node:20 build with pnpm, gen-proto-types and tsc -b; node:20-slim runtime), non-root, with a volume and the ports', () => {
    expect(image.stages).toEqual([expect.stringMatching(/^node:20(\b|$)/), expect.stringMatching(/^node:20-slim/)]);
    for (const step of ['pnpm@9.15.9 install --frozen-lockfile', 'node scripts/gen-proto-types.mjs', 'tsc -b', '--prod']) expect(image.text).toContain(step);
    expect(image.user).not.toMatch(/^(root|0)?$/);
    const copy = image.copies.find((c) => c.includes(ENTRYPOINT_SOURCE));
    expect(copy?.at(-1), 'the entrypoint is installed on PATH under the name ENTRYPOINT uses').toBe(`/usr/local/bin/${image.entrypoint[0] ?? ''}`);
  });

  it('ENTRYPOINT + CMD start a coordinator the parser accepts, with its data on the VOLUME and its port EXPOSEd', () => {
    const launch = runContainer('Dockerfile ENTRYPOINT + CMD', [...image.entrypoint, ...image.cmd], image.env);
    expect(launch.role).toBe('coordinator');
    const config = accept(launch);
    expect(image.volumes).toContain(config.dataDir);
    expect(image.exposed).toContain(config.port);
    expect(config.host).toBe('0.0.0.0');
  });

  it('its ENV suits both processes: a broker started with only --id listens on an EXPOSEd port', () => {
    const config = accept(runContainer('Dockerfile ENTRYPOINT broker --id 1', [...image.entrypoint, 'broker', '--id', '1'], image.env));
    expect(image.exposed).toContain(config.port);
    expect(image.volumes).toContain(config.dataDir);
  });

  it('the entrypoint refuses an unknown role (exit 2)', () => {
    const run = spawnSync('sh', [path.join(ROOT, ENTRYPOINT_SOURCE), 'borker'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('coordinator, broker or cli');
  });
});

describe('deploy/compose.yaml', () => {
  const compose = (): { services: Record<string, ComposeService>; volumes?: Record<string, unknown> } =>
    parseYaml(fs.readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };

  function launches(): { name: string; service: ComposeService; launch: Launch }[] {
    return Object.entries(compose().services).map(([name, service]) => {
      const where = `compose.yaml ${name}`;
      expect(service.image, `${where}: runs the image`).toMatch(/^runnel:/);
      if (service.build !== undefined) expect(service.build.dockerfile).toBe('deploy/Dockerfile');
      const words = (v: string | string[] | undefined): string[] | undefined =>
        v === undefined ? undefined : (Array.isArray(v) ? v : splitWords(v)).map((w) => interpolateCompose(w, where));
      const entrypoint = words(service.entrypoint);
      const argv = [...(entrypoint ?? image.entrypoint), ...(words(service.command) ?? (entrypoint === undefined ? image.cmd : []))];
      return { name, service, launch: runContainer(where, argv, { ...image.env, ...composeEnv(service, where) }) };
    });
  }

  it('every command line and variable is accepted by the process it starts, and a coordinator and 3 brokers hang together', () => {
    const all = launches();
    const coordinators = all.filter((l) => l.launch.role === 'coordinator');
    const brokers = all.filter((l) => l.launch.role === 'broker');
    expect(coordinators).toHaveLength(1);
    expect(brokers).toHaveLength(3);
    const coordinator = coordinators[0];
    if (coordinator === undefined) return;
    const coordinatorConfig = accept(coordinator.launch);
    const ids = new Set<number>();
    const dataVolumes = new Set<string>();
    for (const { name, service, launch } of [coordinator, ...brokers]) {
      const config = launch === coordinator.launch ? coordinatorConfig : accept(launch);
      // Its data directory is a volume of its own; its port is published and health-checked.
      const volume = (service.volumes ?? []).find((v) => v.split(':')[1] === config.dataDir)?.split(':')[0];
      expect(volume, `${name}: a volume at ${config.dataDir}`).toBeDefined();
      expect(dataVolumes.has(volume ?? ''), `${name}: volume ${String(volume)} shared`).toBe(false);
      dataVolumes.add(volume ?? '');
      expect((service.ports ?? []).map((p) => Number(p.split(':').at(-1)))).toContain(config.port);
      expect(service.healthcheck?.test?.slice(1)).toEqual(['node', '/app/deploy/grpc-health-probe.mjs', `127.0.0.1:${config.port}`]);
      if (launch.role !== 'broker') continue;
      const b = broker(config);
      expect(ids.has(b.id), `${name}: broker id ${b.id} used twice`).toBe(false);
      ids.add(b.id);
      expect(hostPort(b.advertisedAddress), `${name}: advertises its service name and port`).toEqual({ host: name, port: b.port });
      expect(hostPort(b.coordinator)).toEqual({ host: coordinator.name, port: coordinatorConfig.port });
    }
    expect([...ids].sort()).toEqual([1, 2, 3]);
  });

  it('the cli service runs the CLI against the coordinator, with only the CLI variables', () => {
    const cli = launches().find((l) => l.launch.role === 'cli');
    expect(cli).toBeDefined();
    const own = composeEnv(cli?.service ?? {}, 'cli');
    expect(Object.keys(own).filter((k) => k.startsWith('RUNNEL_')).sort()).toEqual(['RUNNEL_BOOTSTRAP']);
    expect(hostPort(own.RUNNEL_BOOTSTRAP).host).toBe('coordinator');
  });
});

describe('deploy/k8s', () => {
  function statefulSet(objects: K8sObject[], component: string): K8sObject {
    const sts = objects.find((o) => o.kind === 'StatefulSet' && o.spec.template?.metadata.labels['app.kubernetes.io/component'] === component);
    expect(sts, `a StatefulSet for the ${component}`).toBeDefined();
    return sts as K8sObject;
  }

  /** One launch per pod ordinal, with the checks every Runnel container must pass. */
  function pods(sts: K8sObject): { pod: string; launch: Launch; config: AnyConfig }[] {
    const container = sts.spec.template?.spec.containers[0];
    expect(container, `${sts.metadata.name}: a container`).toBeDefined();
    const c = container as K8sContainer;
    expect(c.image).toMatch(/^runnel[:@]/);
    expect(sts.spec.template?.spec.securityContext?.runAsNonRoot).toBe(true);
    const claims = new Set((sts.spec.volumeClaimTemplates ?? []).map((v) => v.metadata.name));
    const out: { pod: string; launch: Launch; config: AnyConfig }[] = [];
    for (let ordinal = 0; ordinal < (sts.spec.replicas ?? 1); ordinal++) {
      const pod = `${sts.metadata.name}-${ordinal}`;
      const env = podEnv(c, image, pod);
      const expand = (words: string[] | undefined): string[] | undefined => words?.map((w) => kubeExpand(w, env));
      const command = expand(c.command);
      const argv = [...(command ?? image.entrypoint), ...(expand(c.args) ?? (command === undefined ? image.cmd : []))];
      const launch = runContainer(`k8s ${pod}`, argv, env);
      const config = accept(launch);
      // Data on a per-pod claim; probes are gRPC health checks on the port it listens on.
      const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === config.dataDir);
      expect(claims.has(mount?.name ?? ''), `${pod}: ${config.dataDir} on a volumeClaimTemplate`).toBe(true);
      expect((c.ports ?? []).map((p) => p.containerPort)).toContain(config.port);
      for (const probe of [c.readinessProbe, c.livenessProbe]) expect(probe?.grpc?.port, `${pod}: grpc probe`).toBe(config.port);
      if (c.startupProbe !== undefined) expect(c.startupProbe.grpc?.port).toBe(config.port);
      out.push({ pod, launch, config });
    }
    return out;
  }

  function service(objects: K8sObject[], name: string | undefined): K8sObject {
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === name);
    expect(svc, `Service ${String(name)}`).toBeDefined();
    return svc as K8sObject;
  }

  it('the coordinator: one replica the parser accepts, behind a Service on its port', () => {
    const objects = readK8s();
    const sts = statefulSet(objects, 'coordinator');
    expect(sts.spec.replicas).toBe(1);
    const [only] = pods(sts);
    expect(only?.launch.role).toBe('coordinator');
    const svc = service(objects, sts.spec.serviceName);
    expect(svc.spec.ports?.[0]?.targetPort).toBe(sts.spec.template?.spec.containers[0]?.ports?.find((p) => p.containerPort === only?.config.port)?.name);
  });

  it('the brokers: every pod is accepted, with id = ordinal + 1, its own advertised name, and the coordinator Service', () => {
    const objects = readK8s();
    const sts = statefulSet(objects, 'broker');
    const coordinatorSts = statefulSet(objects, 'coordinator');
    const coordinatorService = service(objects, coordinatorSts.spec.serviceName);
    const headless = service(objects, sts.spec.serviceName);
    expect(headless.spec.clusterIP).toBe('None');
    const all = pods(sts);
    expect(all.length).toBeGreaterThanOrEqual(3);
    all.forEach(({ pod, launch, config }, ordinal) => {
      expect(launch.role).toBe('broker');
      const b = broker(config);
      expect(b.id, pod).toBe(ordinal + 1);
      expect(hostPort(b.advertisedAddress)).toEqual({ host: `${pod}.${headless.metadata.name}.${K8S_NAMESPACE}.svc.cluster.local`, port: b.port });
      expect(hostPort(b.coordinator)).toEqual({ host: coordinatorService.metadata.name, port: coordinatorService.spec.ports?.[0]?.port });
    });
  });

  it('a PodDisruptionBudget lets one broker go at a time', () => {
    const objects = readK8s();
    const labels = statefulSet(objects, 'broker').spec.template?.metadata.labels ?? {};
    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget');
    expect(pdb?.spec.maxUnavailable).toBe(1);
    for (const [k, v] of Object.entries(pdb?.spec.selector?.matchLabels ?? { missing: 'selector' })) expect(labels[k]).toBe(v);
  });
});

describe('deploy/systemd', () => {
  const units = (): Unit[] => fs.readdirSync(path.join(DEPLOY, 'systemd')).filter((f) => f.endsWith('.service')).sort().map(readUnit);

  it('every unit, with its EnvironmentFile examples, starts a process the parser accepts', () => {
    const all = units().map(unitLaunch);
    expect(all.map((u) => u.role).sort()).toEqual(['broker', 'coordinator']);
    for (const u of all) {
      const config = accept(u);
      expect(config.dataDir, `${u.source}: data in its StateDirectory`).toBe(`/var/lib/${u.stateDirectory}`);
      expect(u.user).toMatch(/^(?!root$)\S+$/);
      if (u.role === 'broker') {
        expect(broker(config).id).toBe(Number(SYSTEMD_INSTANCE));
        expect(hostPort(broker(config).advertisedAddress).port).toBe(config.port);
      }
    }
  });
});

describe('the checks can fail', () => {
  function composeBroker1(): Launch {
    const service = (parseYaml(fs.readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> }).services['broker-1'];
    const command = service?.command;
    return runContainer('compose broker-1', [...image.entrypoint, ...(Array.isArray(command) ? command : [])], { ...image.env, ...composeEnv(service ?? {}, 'broker-1') });
  }

  it('an unknown flag, a bad value in a variable and a misspelt variable are caught', () => {
    const launch = composeBroker1();
    expect(() => accept(launch)).not.toThrow();
    expect(() => readConfig('broker', [...launch.argv, '--bogus', '1'], launch.env)).toThrow('--bogus: unknown option');
    expect(() => readConfig('broker', launch.argv, { ...launch.env, RUNNEL_PORT: '70000' })).toThrow('--port: must be at most 65535');
    expect(() => readConfig('coordinator', [], { RUNNEL_DATA_DIR: '/d', RUNNEL_HEARTBEAT_INTERVAL_MS: '2000' })).toThrow('--heartbeat-interval-ms');
    expect(() => accept({ ...launch, env: { ...launch.env, RUNNEL_ADVERTISED_ADRESS: 'x:1' } })).toThrow(/RUNNEL_ADVERTISED_ADRESS/);
    expect(() => readConfig('coordinator', launch.argv, { RUNNEL_DATA_DIR: '/d' }), 'a broker command line given to the coordinator').toThrow('--id: unknown option');
    expect(() => accept({ ...launch, argv: [...launch.argv, '--test-fault', 'none'] })).toThrow(/test-only/);
  });

  it('a broken id expression in the broker StatefulSet is caught', () => {
    const pod = 'runnel-broker-0';
    const run = runContainer('k8s broken id', ['/bin/sh', '-c', 'exec runnel-entrypoint broker --id "$(( ${POD_NAME##*-} - 1 ))"'], { ...image.env, POD_NAME: pod });
    expect(run.argv).toEqual(['--id', '-1']);
    expect(() => readConfig('broker', run.argv, run.env)).toThrow('--id: must be at least 1');
  });
});

describe('docs/configuration.md', () => {
  const doc = (): string => fs.readFileSync(path.join(ROOT, 'docs', 'configuration.md'), 'utf8');
  const sections: readonly [Role, string][] = [['coordinator', 'Coordinator'], ['broker', 'Broker']];

  it.each(sections)('lists exactly the flags the %s parser accepts, each with its RUNNEL_* variable', (role, heading) => {
    const rows = docTable(doc(), heading);
    expect(rows.map((r) => r.flag).sort()).toEqual(Object.values(PROCESSES[role].flags).sort());
    for (const row of rows) {
      const name = row.flag.slice(2);
      expect(envOptions([name], { [row.variable]: 'x' }), `${row.flag}: variable ${row.variable}`).toEqual({ [name]: 'x' });
    }
  });

  it.each(sections)('the built %s main registers every parser flag as a command-line option (its --help)', (role) => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'packages', role, 'dist', 'main.js'), '--help'], { encoding: 'utf8', timeout: 15_000 });
    expect(run.status).toBe(0);
    const options = [...run.stdout.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]).filter((f) => f !== '--help');
    expect(options.sort(), 'rebuild with `tsc -b` if dist/ is stale').toEqual(Object.values(PROCESSES[role].flags).sort());
  });

  it.each(sections)('gives the %s defaults and integer ranges the parser has', (role, heading) => {
    const { flags, parse } = PROCESSES[role];
    const keyOfFlag = new Map(Object.entries(flags).map(([key, flag]) => [flag, key]));
    const defaults = parse(REQUIRED[role]) as unknown as Record<string, unknown>;
    for (const row of docTable(doc(), heading)) {
      const key = keyOfFlag.get(row.flag) ?? '';
      if (row.defaultValue === 'required') {
        const { [key]: _omitted, ...rest } = REQUIRED[role];
        expect(Object.hasOwn(REQUIRED[role], key), `${row.flag} is documented as required`).toBe(true);
        expect(() => parse(rest), `${row.flag} is required`).toThrow(`${row.flag}: is required`);
      } else {
        expect(row.defaultValue, `${row.flag} default`).toBe(formatDefault(defaults[key]));
      }
      const range = /^integer, (-?\d+) to (\d+)/.exec(row.valid);
      if (range !== null) {
        const [min, max] = [Number(range[1]), Number(range[2])];
        const at = (v: number): AnyConfig => parse({ ...REQUIRED[role], ...RANGE_CONTEXT[key], [key]: String(v) });
        expect(() => at(min), `${row.flag} ${min}`).not.toThrow();
        expect(() => at(max), `${row.flag} ${max}`).not.toThrow();
        expect(() => at(min - 1), `${row.flag} ${min - 1}`).toThrow(row.flag);
        expect(() => at(max + 1), `${row.flag} ${max + 1}`).toThrow(row.flag);
      }
      if (key === 'logLevel') for (const level of LOG_LEVELS) expect(row.valid).toContain(`\`${level}\``);
    }
  });

  it('quotes what the built processes really print for bad values (exit code 2)', () => {
    const block = /```console\n([\s\S]*?)```/.exec(docSection(doc(), 'Validation at start'))?.[1] ?? '';
    const examples = block.split(/^\$ /m).filter((e) => e.trim() !== '');
    expect(examples.length).toBeGreaterThan(3);
    for (const example of examples) {
      const [command = '', ...output] = example.trimEnd().split('\n');
      const words = splitWords(command);
      const env: Env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      while (/^[A-Z_]+=/.test(words[0] ?? '')) {
        const w = words.shift() ?? '';
        env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
      }
      expect(words[0]).toBe('node');
      expect(words[1], 'examples only run the built processes').toMatch(/^packages\/(coordinator|broker)\/dist\/main\.js$/);
      const run = spawnSync(process.execPath, words.slice(1), { cwd: ROOT, env, encoding: 'utf8', timeout: 15_000 });
      expect({ command, status: run.status, stderr: run.stderr.trim() }).toEqual({ command, status: 2, stderr: output.join('\n') });
    }
  });
});
