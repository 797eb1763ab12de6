// Bounded polling: wait for a condition instead of sleeping for a guess.

/**
 * Resolve once `condition()` is truthy (its value is returned); reject with
 * `message` after `timeoutMs`.
 */
export async function waitFor(condition, { timeoutMs = 5000, intervalMs = 5, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A quiet period, used only to prove that something does NOT happen. */
export function quiet(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolve/reject exposed. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
