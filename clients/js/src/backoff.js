// Capped exponential backoff with full jitter: the delay before reconnect
// attempt n (n = 0 for the first reconnect) is uniform in
// [0, min(maxDelayMs, baseDelayMs * 2^n)).

/**
 * @param {number} attempt zero-based reconnect attempt number
 * @param {number} baseDelayMs
 * @param {number} maxDelayMs
 * @param {() => number} [random] returns a number in [0, 1)
 * @returns {number} delay in milliseconds, always < maxDelayMs (or 0)
 */
export function backoffDelay(attempt, baseDelayMs, maxDelayMs, random = Math.random) {
  const exp = Math.min(Math.max(attempt, 0), 52); // 2^52 keeps the product finite
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** exp);
  return Math.floor(random() * ceiling);
}
