import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as direct from '../../src/index.js';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('the package name resolves through its exports to the module', async () => {
  const pkg = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8'));
  assert.equal(pkg.type, 'module');
  assert.deepEqual(pkg.dependencies ?? {}, {}, 'no runtime dependencies');
  const viaName = await import(pkg.name); // self-reference through "exports"
  assert.equal(viaName.EventStreamClient, direct.EventStreamClient);
  assert.equal(viaName.EventStreamParser, direct.EventStreamParser);
  await access(path.join(packageDir, pkg.exports['.'].types));
});
