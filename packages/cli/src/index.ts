export { buildProgram } from './program.js';
export type { ProgramDefaults, Runner } from './program.js';
export type { CommandContext, ShutdownSignal } from './context.js';
export { parsePosition } from './parse-position.js';
export type { StartPosition } from './parse-position.js';
export { processOutput, memoryOutput } from './output.js';
export type { Output } from './output.js';
export { UsageError, formatError } from './errors.js';
