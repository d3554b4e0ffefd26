import protobuf from 'protobufjs';

/**
 * Unknown enum values in a decoded request. With LOADER_OPTIONS (`enums: String`) a known value
 * decodes to its name and an unknown one (99, or -1 sent as a raw varint) stays a number; proto3
 * keeps it rather than failing, so a handler would otherwise act on a value it has no case for.
 * The walk follows only the fields through which an enum is reachable (precomputed per message
 * type from the protobufjs reflection types), so a 10,000-record produce costs one field check.
 */

interface PlanField {
  /** Key in the decoded object (camelCase, as LOADER_OPTIONS decode). */
  readonly key: string;
  /** Name as written in the .proto file (what a client author knows). */
  readonly protoName: string;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly enumType: protobuf.Enum | undefined;
  readonly message: Plan | undefined;
}

type Plan = PlanField[];

const plans = new Map<protobuf.Type, Plan>();

const snakeCase = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Whether an enum field is reachable from `type` (a back edge of a recursive type adds nothing). */
function reachesEnum(type: protobuf.Type, visiting: Set<protobuf.Type>): boolean {
  visiting.add(type);
  for (const field of type.fieldsArray) {
    field.resolve();
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum) return true;
    if (resolved instanceof protobuf.Type && !visiting.has(resolved) && reachesEnum(resolved, visiting)) return true;
  }
  return false;
}

/** The fields of `type` through which an enum can be reached; built once per type. */
function planFor(type: protobuf.Type): Plan {
  const known = plans.get(type);
  if (known !== undefined) return known;
  const plan: Plan = [];
  // Registered before the fields are visited, so a recursive type refers to its own plan.
  plans.set(type, plan);
  for (const field of type.fieldsArray) {
    field.resolve();
    const resolved = field.resolvedType;
    const common = { key: field.name, protoName: snakeCase(field.name), repeated: field.repeated, map: field.map };
    if (resolved instanceof protobuf.Enum) plan.push({ ...common, enumType: resolved, message: undefined });
    else if (resolved instanceof protobuf.Type && reachesEnum(resolved, new Set())) plan.push({ ...common, enumType: undefined, message: planFor(resolved) });
  }
  return plan;
}

function describeEnum(e: protobuf.Enum): string {
  return Object.entries(e.values).map(([name, n]) => `${name} (${n})`).join(', ');
}

function check(plan: Plan, value: Record<string, unknown>, path: string, depth: number): string | undefined {
  if (depth > 32) return undefined;
  for (const f of plan) {
    const v = value[f.key];
    if (v === undefined || v === null) continue;
    const here = path === '' ? f.protoName : `${path}.${f.protoName}`;
    const items: Array<[string, unknown]> = f.map
      ? Object.entries(v as Record<string, unknown>).map(([k, item]) => [`${here}[${JSON.stringify(k.slice(0, 50))}]`, item])
      : f.repeated
        ? (v as unknown[]).map((item, i) => [`${here}[${i}]`, item])
        : [[here, v]];
    for (const [where, item] of items) {
      if (f.enumType !== undefined) {
        if (typeof item !== 'string' || !Object.hasOwn(f.enumType.values, item)) {
          return `${where} is ${typeof item === 'number' ? item : JSON.stringify(item)}, which is not a value of enum ${f.enumType.name} (a client newer than this server?); allowed: ${describeEnum(f.enumType)}`;
        }
      } else if (f.message !== undefined && typeof item === 'object' && item !== null) {
        const problem = check(f.message, item as Record<string, unknown>, where, depth + 1);
        if (problem !== undefined) return problem;
      }
    }
  }
  return undefined;
}

/** Returns a checker for decoded messages of `type`: the first unknown enum value, described, or undefined. */
export function enumChecker(type: protobuf.Type): ((message: unknown) => string | undefined) | undefined {
  const plan = planFor(type);
  if (plan.length === 0) return undefined;
  return (message) => (typeof message === 'object' && message !== null ? check(plan, message as Record<string, unknown>, '', 0) : undefined);
}
