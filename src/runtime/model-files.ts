import { closeSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { ModelMoraError } from '../domain/errors.js';

/**
 * Checks a model folder before any loader touches it, so a bad file fails the load with
 * MODEL_LOAD_FAILED and a clear reason instead of hanging or reaching onnxruntime:
 *  - every entry is a regular file or a folder (a FIFO would block the reader forever, a device
 *    or socket is never a model), and nothing named *.onnx is a folder;
 *  - every .onnx file's external-data locations (TensorProto.external_data `location`) are
 *    relative and stay inside the model folder, so a crafted model cannot make the runtime read
 *    /etc/passwd or another model's files.
 * The ONNX files are walked field by field with positioned reads: weights (raw_data) are skipped
 * by offset, never read, so the check costs a few reads per graph node, not the file size.
 * Messages name files relative to the model folder (no absolute paths).
 */

const MAX_ENTRIES = 10_000;
const MAX_NESTING = 64;

export function checkModelFiles(folder: string): void {
  const pending: string[] = [''];
  let seen = 0;
  while (pending.length > 0) {
    const rel = pending.pop()!;
    for (const name of readdirSync(path.join(folder, rel))) {
      if (++seen > MAX_ENTRIES) throw bad(`the model folder holds more than ${MAX_ENTRIES} entries`);
      const entryRel = rel === '' ? name : `${rel}/${name}`;
      let stat: Stats;
      try {
        // stat, not lstat: cache snapshots are symlinks to blobs. stat never opens the file, so a FIFO cannot block here.
        stat = statSync(path.join(folder, entryRel));
      } catch {
        throw bad(`'${entryRel}' cannot be read (a dangling link?)`);
      }
      if (stat.isDirectory()) {
        if (name.endsWith('.onnx')) throw bad(`'${entryRel}' is a folder, not an ONNX file`);
        pending.push(entryRel);
      } else if (!stat.isFile()) {
        throw bad(`'${entryRel}' is not a regular file (${kindOf(stat)})`);
      } else if (name.endsWith('.onnx')) {
        for (const location of externalDataLocations(path.join(folder, entryRel), entryRel)) {
          checkLocation(folder, entryRel, location);
        }
      }
    }
  }
}

function checkLocation(folder: string, onnxRel: string, location: string): void {
  const shown = location.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
  if (location === '' || location.includes('\0') || path.isAbsolute(location) || /^[A-Za-z]:/.test(location)) {
    throw bad(`'${onnxRel}' refers to external data at '${shown}', which is not a path inside the model folder`);
  }
  const target = path.resolve(path.dirname(path.join(folder, onnxRel)), location);
  const back = path.relative(folder, target);
  if (back === '' || back.startsWith('..') || path.isAbsolute(back)) {
    throw bad(`'${onnxRel}' refers to external data at '${shown}', outside the model folder`);
  }
  let stat: Stats;
  try {
    stat = statSync(target);
  } catch {
    throw bad(`'${onnxRel}' refers to external data '${shown}', which is missing`);
  }
  if (!stat.isFile()) throw bad(`'${onnxRel}' refers to external data '${shown}', which is not a regular file (${kindOf(stat)})`);
}

/**
 * The external-data locations of an ONNX file. Message layout (onnx.proto3 field numbers):
 * Model{7 graph, 25 functions} Graph{1 node, 5 initializer, 15 sparse_initializer}
 * Node{5 attribute} Function{7 node} Attribute{5 t, 6 g, 10 tensors, 11 graphs, 22 sparse_tensor, 23 sparse_tensors}
 * SparseTensor{1 values, 2 indices} Tensor{13 external_data} StringStringEntry{1 key, 2 value}.
 */
export function externalDataLocations(file: string, shownName: string): string[] {
  const fd = openSync(file, 'r');
  try {
    const reader = new FileReader(fd, statSync(file).size, shownName);
    const out: string[] = [];
    const fields = new Set<number>();
    reader.walk(0, reader.size, 'model', 0, out, fields);
    // Every ONNX model states its IR version (field 1) and holds a graph (field 7); a few
    // random bytes can parse as protobuf, but not as that.
    if (!fields.has(IR_VERSION_TAG) || !fields.has(GRAPH_TAG)) throw reader.malformed();
    return out;
  } finally {
    closeSync(fd);
  }
}

/** ModelProto.ir_version (field 1, varint) and ModelProto.graph (field 7, length-delimited). */
const IR_VERSION_TAG = (1 << 3) | 0;
const GRAPH_TAG = (7 << 3) | 2;

type Kind = 'model' | 'graph' | 'node' | 'function' | 'attribute' | 'sparse' | 'tensor' | 'entry';

/** Which length-delimited fields of each message hold a message worth descending into. */
const CHILDREN: Record<Kind, Record<number, Kind>> = {
  model: { 7: 'graph', 25: 'function' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  node: { 5: 'attribute' },
  function: { 7: 'node' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  sparse: { 1: 'tensor', 2: 'tensor' },
  tensor: { 13: 'entry' },
  entry: {},
};

class FileReader {
  private window = Buffer.alloc(0);
  private windowAt = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly name: string,
  ) {}

  /** `fields` (top level only) collects the tags (field and wire type) present, empty messages left out. */
  walk(start: number, end: number, kind: Kind, depth: number, out: string[], fields?: Set<number>): void {
    if (depth > MAX_NESTING) throw bad(`'${this.name}' nests graphs deeper than ${MAX_NESTING} levels`);
    let at = start;
    let key: string | undefined;
    let value: string | undefined;
    while (at < end) {
      const [tag, afterTag] = this.varint(at, end);
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      at = afterTag;
      switch (wire) {
        case 0:
          at = this.varint(at, end)[1];
          fields?.add(tag);
          break;
        case 1:
          at += 8;
          break;
        case 5:
          at += 4;
          break;
        case 2: {
          const [length, afterLength] = this.varint(at, end);
          at = afterLength;
          if (at + length > end) throw this.malformed();
          if (length > 0) fields?.add(tag);
          const child = CHILDREN[kind][field];
          if (child) this.walk(at, at + length, child, depth + 1, out);
          else if (kind === 'entry' && (field === 1 || field === 2) && length <= 4096) {
            const text = this.read(at, length).toString('utf8');
            if (field === 1) key = text;
            else value = text;
          }
          at += length;
          break;
        }
        default:
          throw this.malformed();
      }
    }
    if (at !== end) throw this.malformed();
    if (kind === 'entry' && key === 'location' && value !== undefined) out.push(value);
  }

  private varint(at: number, end: number): [number, number] {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (at + i >= end) throw this.malformed();
      const byte = this.read(at + i, 1)[0]!;
      result += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return [result, at + i + 1];
    }
    throw this.malformed();
  }

  /** Bytes [at, at+length) through a 64 KB window, so walking a graph costs few reads. */
  private read(at: number, length: number): Buffer {
    if (at < this.windowAt || at + length > this.windowAt + this.window.length) {
      const size = Math.max(length, 64 * 1024);
      const buffer = Buffer.alloc(Math.min(size, Math.max(0, this.size - at)));
      const got = readSync(this.fd, buffer, 0, buffer.length, at);
      this.window = buffer.subarray(0, got);
      this.windowAt = at;
      if (got < length) throw this.malformed();
    }
    return this.window.subarray(at - this.windowAt, at - this.windowAt + length);
  }

  malformed(): ModelMoraError {
    return bad(`'${this.name}' is not a valid ONNX file (truncated or corrupt)`);
  }
}

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'not a file';
}

function bad(reason: string): ModelMoraError {
  return new ModelMoraError('MODEL_LOAD_FAILED', `The model files are not usable: ${reason}`);
}
