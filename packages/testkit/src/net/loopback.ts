import { isIPv6 } from 'node:net';

/** The only hosts a fault proxy listens on or connects to. */
export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', '::1', 'localhost'];

/** Throws unless `host` is 127.0.0.1, ::1 or localhost; `role` names it in the message. */
export function assertLoopbackHost(host: string, role: string): void {
  if (!LOOPBACK_HOSTS.includes(host)) {
    throw new Error(`fault proxy is loopback-only: ${role} host "${host}" is not one of ${LOOPBACK_HOSTS.join(', ')}`);
  }
}

/** Throws unless `port` is an integer in [min, 65535]. */
export function assertPort(port: number, min: 0 | 1, role: string): void {
  if (!Number.isInteger(port) || port < min || port > 65_535) {
    throw new RangeError(`fault proxy ${role} port must be an integer in ${min}..65535, got ${port}`);
  }
}

/** host:port, with an IPv6 host in brackets. */
export function formatAddress(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
