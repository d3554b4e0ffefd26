/**
 * Address rewrites applied when a process dials a peer: `RUNNEL_DIAL_MAP` is a JSON object
 * `{"host:port": "host:port", …}`. The chaos testkit routes every link through a fault-injecting
 * proxy this way; it also fits deployments where an advertised address is not reachable as-is.
 */
export const DIAL_MAP_ENV = 'RUNNEL_DIAL_MAP';

const HOST_PORT = /^[^\s]+:\d{1,5}$/;

let cached: { text: string | undefined; map: ReadonlyMap<string, string> } | undefined;

/** Parses a dial map; throws an Error naming the problem. */
export function parseDialMap(text: string | undefined): ReadonlyMap<string, string> {
  if (text === undefined || text.trim() === '') return new Map();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${DIAL_MAP_ENV} must be a JSON object {"host:port": "host:port", ...}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${DIAL_MAP_ENV} must be a JSON object {"host:port": "host:port", ...}`);
  const map = new Map<string, string>();
  for (const [from, to] of Object.entries(value)) {
    if (!HOST_PORT.test(from) || typeof to !== 'string' || !HOST_PORT.test(to)) throw new Error(`${DIAL_MAP_ENV}: "${from}" -> ${JSON.stringify(to)} is not host:port -> host:port`);
    map.set(from, to);
  }
  return map;
}

/** The address to dial for `address`, after this process's RUNNEL_DIAL_MAP. */
export function dialAddress(address: string, env: NodeJS.ProcessEnv = process.env): string {
  const text = env[DIAL_MAP_ENV];
  if (cached === undefined || cached.text !== text) cached = { text, map: parseDialMap(text) };
  return cached.map.get(address) ?? address;
}
