/** A programmer error (an invariant of the protocol broke). Never caught and carried on from. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/** Crashes (throws {@link AssertionError}) when `condition` is false. Not for operating errors. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
