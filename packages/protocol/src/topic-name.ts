import { RunnelError } from './errors.js';
import { quoteUserText } from './user-text.js';

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,200}$/;

/** Why a topic name is invalid, or undefined when it is valid. `internal` allows "__" names. */
export function topicNameProblem(name: string, internal = false): string | undefined {
  if (!TOPIC_NAME.test(name)) return `topic name ${quoteUserText(name)} must be 1-200 characters of A-Z a-z 0-9 . _ -`;
  if (name === '.' || name === '..') return `topic name ${quoteUserText(name)} is not allowed`;
  if (!internal && name.startsWith('__')) return `topic name ${quoteUserText(name)} starts with "__", which is reserved for internal topics`;
  return undefined;
}

export function assertValidTopicName(name: string, internal = false): void {
  const problem = topicNameProblem(name, internal);
  if (problem !== undefined) throw new RunnelError('INVALID_TOPIC_NAME', problem);
}
