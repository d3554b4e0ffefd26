// Health probe for the Runnel image: calls grpc.health.v1.Health/Check on HOST:PORT and exits 0
// when the answer is SERVING, 1 otherwise (NOT_SERVING, unreachable, timeout).
//   node /app/deploy/grpc-health-probe.mjs HOST:PORT [SERVICE]
// SERVICE "" (the default) is the process as a whole; runnel.v1.Broker / runnel.v1.Coordinator also
// answer. A broker reports NOT_SERVING until it has registered with the coordinator, and both
// processes switch to NOT_SERVING when they start stopping. Kubernetes does not need this script:
// its `grpc:` probe calls the same service (deploy/k8s).
import { createRequire } from 'node:module';

const PROBE_TIMEOUT_MS = 3000;
const SERVING = 1;

// @grpc/grpc-js is a dependency of @runnel/protocol; resolve it from there (pnpm: not hoisted).
const require = createRequire(new URL('../packages/protocol/package.json', import.meta.url));
const grpc = require('@grpc/grpc-js');

const [address, service = ''] = process.argv.slice(2);
if (address === undefined || !/^\S+:\d{1,5}$/.test(address)) {
  process.stderr.write('usage: grpc-health-probe.mjs HOST:PORT [SERVICE]\n');
  process.exit(2);
}

/** HealthCheckRequest { string service = 1; } */
function encodeRequest(name) {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0) return Buffer.alloc(0);
  if (bytes.length > 127) throw new RangeError('service name longer than 127 bytes');
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

/** HealthCheckResponse { ServingStatus status = 1; }: field 1, varint; statuses fit in one byte. */
function decodeStatus(bytes) {
  return bytes.length >= 2 && bytes[0] === 0x08 ? bytes[1] : 0;
}

const client = new grpc.Client(address, grpc.credentials.createInsecure());
client.makeUnaryRequest(
  '/grpc.health.v1.Health/Check',
  (b) => b,
  (b) => b,
  encodeRequest(service),
  { deadline: Date.now() + PROBE_TIMEOUT_MS },
  (err, response) => {
    client.close();
    if (err) {
      process.stderr.write(`${address}: ${err.message}\n`);
      process.exit(1);
    }
    const status = decodeStatus(response);
    if (status !== SERVING) process.stderr.write(`${address}: status ${status} (1 = SERVING)\n`);
    process.exit(status === SERVING ? 0 : 1);
  },
);
