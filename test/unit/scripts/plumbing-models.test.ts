import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PLUMBING_MODELS } from '../../../scripts/build-plumbing-models.js';

const ROOT = fileURLToPath(new URL('../../../../test/fixtures/models/', import.meta.url));

test('the committed plumbing fixtures are exactly what the build script writes, each under 1 MB and saying it is plumbing', () => {
  for (const [name, build] of Object.entries(PLUMBING_MODELS)) {
    const files = build();
    let bytes = 0;
    for (const [relative, content] of files) {
      bytes += content.length;
      assert.ok(Buffer.from(content).equals(readFileSync(`${ROOT}${name}/${relative}`)), `${name}/${relative} differs from the build; rerun build-plumbing-models`);
    }
    assert.ok(bytes < 1024 * 1024, `${name} is ${bytes} bytes`);
    assert.match(new TextDecoder().decode(files.get('README.md')), /A plumbing fixture\..*does not prove quality/s);
  }
});
