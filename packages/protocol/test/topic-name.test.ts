import { describe, expect, it } from 'vitest';
import { assertValidTopicName, topicNameProblem } from '@runnel/protocol';

describe('topic names', () => {
  it.each(['orders', 'a', 'A.b-c_9', 'x'.repeat(200)])('accepts %s', (n) => expect(topicNameProblem(n)).toBeUndefined());
  it.each(['', 'x'.repeat(201), 'a b', 'ü', 'a/b', '.', '..', '__offsets'])('rejects %j', (n) => {
    expect(topicNameProblem(n)).toBeTypeOf('string');
    expect(() => assertValidTopicName(n)).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC_NAME' }));
  });
  it('allows reserved names for internal topics', () => expect(topicNameProblem('__offsets', true)).toBeUndefined());
});
