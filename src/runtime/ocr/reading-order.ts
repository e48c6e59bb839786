/**
 * Turns recognised boxes into text: boxes that share a line (their vertical extents overlap by
 * more than half of the shorter one) are joined left to right with a space, lines go top to
 * bottom joined with '\n'. The detector often splits a line at wide gaps, and PaddleOCR's own
 * sorted_boxes only orders boxes, so the grouping is ours.
 */
import type { Quad } from './geometry.js';

export interface RecognisedBox {
  quad: Quad;
  text: string;
}

interface Line {
  top: number;
  bottom: number;
  boxes: { left: number; text: string }[];
}

function verticalOverlap(a: { top: number; bottom: number }, b: { top: number; bottom: number }): number {
  const overlap = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
  const shorter = Math.min(a.bottom - a.top, b.bottom - b.top);
  return shorter > 0 ? overlap / shorter : overlap >= 0 ? 1 : 0;
}

/** Groups boxes into lines; each line's boxes are ordered left to right. */
export function groupLines(boxes: readonly RecognisedBox[]): string[][] {
  const items = boxes
    .filter((box) => box.text.trim() !== '')
    .map((box) => {
      const ys = box.quad.map((p) => p.y);
      return {
        top: Math.min(...ys),
        bottom: Math.max(...ys),
        left: Math.min(...box.quad.map((p) => p.x)),
        text: box.text.trim(),
      };
    })
    .sort((a, b) => a.top + a.bottom - (b.top + b.bottom) || a.left - b.left);

  const lines: Line[] = [];
  for (const item of items) {
    // Items come in order of their vertical centre, so only the latest lines can take it.
    const line = lines.findLast((candidate) => verticalOverlap(candidate, item) > 0.5);
    if (line) {
      line.top = Math.min(line.top, item.top);
      line.bottom = Math.max(line.bottom, item.bottom);
      line.boxes.push(item);
    } else {
      lines.push({ top: item.top, bottom: item.bottom, boxes: [item] });
    }
  }
  lines.sort((a, b) => a.top + a.bottom - (b.top + b.bottom));
  return lines.map((line) => line.boxes.sort((a, b) => a.left - b.left).map((box) => box.text));
}

export function joinLines(boxes: readonly RecognisedBox[]): string {
  return groupLines(boxes)
    .map((words) => words.join(' '))
    .join('\n');
}
