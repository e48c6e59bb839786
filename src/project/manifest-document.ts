import { isMap, isSeq, YAMLSeq, type Document, type YAMLMap } from 'yaml';
import { ModelMoraError } from '../domain/errors.js';
import { ModelRef } from '../domain/model-ref.js';
import { manifestFromDocument, MANIFEST_FILE, type Manifest } from './manifest.js';

/**
 * Edits modelmora.yaml the way npm edits package.json: through yaml's Document API, so the
 * user's comments, key order and formatting survive `add` and `rm`.
 */

/** The fields `add` may set; undefined leaves the field as it is. */
export interface ModelFields {
  id: string;
  task?: string;
  revision?: string;
  source?: string;
  files?: string[];
}

export type AddOutcome = 'added' | 'updated';

/**
 * Adds the model, or updates the fields given when it is already declared. Re-adding with
 * nothing to change is MODEL_ALREADY_EXISTS. The result is validated as a whole before the
 * caller writes it, so a bad flag never reaches the file.
 */
export function addModel(doc: Document, fields: ModelFields, label = MANIFEST_FILE): { outcome: AddOutcome; manifest: Manifest } {
  const id = ModelRef.parse(fields.id).id;
  const seq = modelsSeq(doc);
  const index = findModelIndex(seq, id);
  if (index < 0) {
    const entry: Record<string, unknown> = { id };
    if (fields.task !== undefined) entry.task = fields.task;
    if (fields.revision !== undefined) entry.revision = fields.revision;
    if (fields.source !== undefined) entry.source = fields.source;
    if (fields.files !== undefined) entry.files = fields.files;
    // A fresh `models: []` is flow style; a block list reads better once it has entries.
    seq.flow = false;
    seq.add(doc.createNode(entry));
    return { outcome: 'added', manifest: manifestFromDocument(doc, label) };
  }
  const item = seq.items[index] as YAMLMap;
  let changed = false;
  for (const key of ['task', 'revision', 'source', 'files'] as const) {
    const value = fields[key];
    if (value === undefined) continue;
    const current: unknown = item.get(key, true);
    const currentJs = current && typeof current === 'object' && 'toJSON' in current ? (current as { toJSON(): unknown }).toJSON() : current;
    if (JSON.stringify(currentJs) === JSON.stringify(value)) continue;
    if (key === 'revision' && value === 'main' && currentJs === undefined) continue;
    item.set(key, doc.createNode(value));
    changed = true;
  }
  if (!changed) {
    throw new ModelMoraError('MODEL_ALREADY_EXISTS', `${id} is already in ${label} (pass --task, --revision, --source or --files to change it)`);
  }
  return { outcome: 'updated', manifest: manifestFromDocument(doc, label) };
}

/** Removes the model; MODEL_NOT_FOUND when it is not declared. */
export function removeModel(doc: Document, rawId: string, label = MANIFEST_FILE): Manifest {
  const id = ModelRef.parse(rawId).id;
  const seq = modelsSeq(doc);
  const index = findModelIndex(seq, id);
  if (index < 0) throw new ModelMoraError('MODEL_NOT_FOUND', `${id} is not in ${label}`);
  seq.delete(index);
  return manifestFromDocument(doc, label);
}

function modelsSeq(doc: Document): YAMLSeq {
  const node = doc.get('models', true);
  if (isSeq(node)) return node;
  if (node === undefined || node === null || (typeof node === 'object' && 'value' in node && node.value === null)) {
    const seq = new YAMLSeq();
    doc.set('models', seq);
    return seq;
  }
  throw new ModelMoraError('VALIDATION_ERROR', `${MANIFEST_FILE}: models must be a list`);
}

function findModelIndex(seq: YAMLSeq, id: string): number {
  return seq.items.findIndex((item) => isMap(item) && String(item.get('id')) === id);
}

/** What `modelmora init` writes: valid as it stands, and every field explained once. */
export const MANIFEST_TEMPLATE = `# modelmora.yaml: the models this project serves.
# \`modelmora add <id> --task <task>\` edits this file; \`modelmora lock\` pins every file to a
# commit, size and sha256 in modelmora.lock (commit both); \`modelmora pull --frozen\` fetches
# exactly the lock (use it in CI and Dockerfiles).
#
# Each model:
#   id:            Hugging Face repo id, org/name
#   task:          txt2embed | img2embed | txt2img | img2txt | txt2txt
#   revision:      branch, tag or commit (default main)
#   source:        leave out for Hugging Face; ./folder or /folder for a local folder;
#                  https://... for a direct URL
#   files:         glob patterns of the files to fetch (default: all), e.g. ["*.json", "onnx/model.onnx"]
#   display_name, description
#   config:        passed to the task handler, e.g. {pooling: mean, normalize: true}
#   resources:     {memory_mb, gpu_vram_mb, cpu_threads}
#   keep_alive:    idle time before unloading: 30s, 5m, 1h; -1 keeps it loaded
#   preload:       load when the server starts (default false)
models: []

# Settings of \`modelmora serve\` (flags and MODELMORA_* variables override them).
server:
  host: 127.0.0.1
  port: 8000
  grpc_port: 50051
`;
