import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { withSettings } from '../../../scripts/readme-settings.js';

test('README settings table matches src/config/settings.ts (run node dist/scripts/readme-settings.js)', () => {
  const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
  assert.equal(readme, withSettings(readme));
});
