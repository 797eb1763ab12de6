import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeartbeatMonitor, heartbeatTimeoutFor, HEARTBEAT_MARGIN_MS } from '../../src/index.js';
import { waitFor, quiet } from '../helpers/wait.mjs';

test('timeout is twice the heartbeat plus a margin', () => {
  assert.equal(heartbeatTimeoutFor(15000), 30000 + HEARTBEAT_MARGIN_MS);
  assert.ok(HEARTBEAT_MARGIN_MS > 0);
});

test('fires after the timeout and stops itself before calling onTimeout', async (t) => {
  let fired = 0;
  let runningDuringCallback;
  const monitor = new HeartbeatMonitor({
    timeoutMs: 30,
    isConnecting: () => false,
    onTimeout: () => {
      fired++;
      runningDuringCallback = monitor.running;
    },
  });
  t.after(() => monitor.stop());
  monitor.touch();
  assert.equal(monitor.running, true);
  await waitFor(() => fired === 1, { message: 'monitor fired' });
  assert.equal(runningDuringCallback, false);
  await quiet(120);
  assert.equal(fired, 1, 'fires once per silent period, not repeatedly');
});

test('touch postpones the timeout', async (t) => {
  let fired = 0;
  const monitor = new HeartbeatMonitor({ timeoutMs: 80, isConnecting: () => false, onTimeout: () => fired++ });
  t.after(() => monitor.stop());
  monitor.touch();
  const until = Date.now() + 300;
  while (Date.now() < until) {
    monitor.touch();
    await quiet(10);
  }
  assert.equal(fired, 0);
  await waitFor(() => fired === 1, { message: 'monitor fired after touches stopped' });
});

test('does nothing when it fires while a connection attempt is under way', async (t) => {
  let fired = 0;
  let checked = 0;
  const monitor = new HeartbeatMonitor({
    timeoutMs: 20,
    isConnecting: () => {
      checked++;
      return true;
    },
    onTimeout: () => fired++,
  });
  t.after(() => monitor.stop());
  monitor.touch();
  await waitFor(() => checked === 1, { message: 'monitor checked isConnecting' });
  assert.equal(fired, 0);
  assert.equal(monitor.running, false, 'the attempt under way re-arms it once connected');
});

test('stop cancels; setTimeoutMs re-arms a running monitor', async (t) => {
  let fired = 0;
  const monitor = new HeartbeatMonitor({ timeoutMs: 20, isConnecting: () => false, onTimeout: () => fired++ });
  t.after(() => monitor.stop());
  monitor.touch();
  monitor.stop();
  await quiet(60);
  assert.equal(fired, 0);
  monitor.setTimeoutMs(10000);
  assert.equal(monitor.running, false, 'setTimeoutMs does not start a stopped monitor');
  monitor.touch();
  monitor.setTimeoutMs(15);
  await waitFor(() => fired === 1, { message: 'fired with the new timeout' });
});
