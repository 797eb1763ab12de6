import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../src/index.js';

test('the jitter window doubles per attempt from baseDelayMs', () => {
  const top = () => 0.999999;
  assert.equal(backoffDelay(0, 100, 100000, top), 99);
  assert.equal(backoffDelay(1, 100, 100000, top), 199);
  assert.equal(backoffDelay(4, 100, 100000, top), 1599);
});

test('full jitter: random 0 gives 0', () => {
  assert.equal(backoffDelay(10, 100, 30000, () => 0), 0);
});

test('delays stay below maxDelayMs for every attempt, including huge ones', () => {
  for (const attempt of [0, 5, 10, 30, 60, 1000, 1e9]) {
    const delay = backoffDelay(attempt, 1000, 30000, () => 0.999999);
    assert.ok(Number.isFinite(delay), `finite at ${attempt}`);
    assert.ok(delay < 30000, `attempt ${attempt}: ${delay}`);
  }
  assert.equal(backoffDelay(100, 1000, 30000, () => 0.5), 15000);
});

test('uses Math.random by default and stays within the window', () => {
  for (let i = 0; i < 200; i++) {
    const delay = backoffDelay(3, 10, 1000);
    assert.ok(delay >= 0 && delay < 80, String(delay));
  }
});
