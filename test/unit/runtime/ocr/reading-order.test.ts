import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Quad } from '../../../../src/runtime/ocr/geometry.js';
import { groupLines, joinLines, type RecognisedBox } from '../../../../src/runtime/ocr/reading-order.js';

function box(left: number, top: number, right: number, bottom: number, text: string): RecognisedBox {
  const quad: Quad = [
    { x: left, y: top },
    { x: right, y: top },
    { x: right, y: bottom },
    { x: left, y: bottom },
  ];
  return { quad, text };
}

test('lines go top to bottom, boxes of a line left to right, whatever the input order', () => {
  const boxes = [
    box(300, 105, 420, 135, 'line'),
    box(10, 10, 200, 40, 'first'),
    box(10, 100, 280, 130, 'second'),
    box(220, 12, 400, 42, 'line'),
    box(10, 200, 100, 230, 'third'),
  ];
  assert.deepEqual(groupLines(boxes), [['first', 'line'], ['second', 'line'], ['third']]);
  assert.equal(joinLines(boxes), 'first line\nsecond line\nthird');
});

test('a box a little higher or lower still joins its line; half a line apart does not', () => {
  // 8 px of 30 off: overlap 22/30 > 0.5, same line. 20 px off: overlap 10/30, a new line.
  assert.equal(joinLines([box(200, 18, 300, 48, 'b'), box(0, 10, 100, 40, 'a')]), 'a b');
  assert.equal(joinLines([box(200, 30, 300, 60, 'b'), box(0, 10, 100, 40, 'a')]), 'a\nb');
});

test('empty or blank texts are left out, and no boxes give an empty string', () => {
  assert.equal(joinLines([box(0, 0, 50, 20, ' '), box(60, 0, 100, 20, ' x '), box(0, 50, 40, 70, '')]), 'x');
  assert.equal(joinLines([]), '');
});
