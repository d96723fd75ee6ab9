// Checkpoints: tensors in safetensors files and the trainer's state (step, RNG, sampler...) as JSON, written so
// that a crash at any instant leaves the previous checkpoint intact: everything goes to a temporary directory,
// is fsynced, renamed into `step-000123/` in one step, and only then is the `latest` pointer swapped (temp file
// + rename). A manifest of sizes and SHA-256 sums lets `loadCheckpoint` name the file that is damaged.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { endianness } from 'node:os';
import { Float16Array, isFloat16Array } from '@petamoriken/float16';

export type Dtype = 'F32' | 'F16' | 'I32';
/** F16 data travels as its raw bits in a Uint16Array (Node 20 has no Float16Array). */
export interface Tensor { dtype: Dtype; shape: number[]; data: Float32Array | Int32Array | Uint16Array }
/** What callers may hand in: a Tensor, or a flat array (shape [length]); F16 as @petamoriken/float16's Float16Array. */
export type TensorLike = Tensor | Float32Array | Int32Array | Float16Array;

export class CheckpointError extends Error {
  constructor(message: string) { super(message); this.name = 'CheckpointError'; }
}

const BYTES: Record<Dtype, number> = { F32: 4, F16: 2, I32: 4 };
const MAX_HEADER = 100 * 1024 * 1024;
if (endianness() !== 'LE') throw new Error('checkpoint.ts assumes a little-endian host (safetensors data is little-endian)');

export function toTensor(t: TensorLike): Tensor {
  if (isFloat16Array(t)) return { dtype: 'F16', shape: [t.length], data: new Uint16Array(t.buffer, t.byteOffset, t.length) };
  if (t instanceof Float32Array) return { dtype: 'F32', shape: [t.length], data: t };
  if (t instanceof Int32Array) return { dtype: 'I32', shape: [t.length], data: t };
  return t;
}

/** Values of any tensor as float32 (F16 bits decoded), for code that computes in f32. */
export function tensorToFloat32(t: Tensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof Uint16Array) return Float32Array.from(new Float16Array(t.data.buffer, t.data.byteOffset, t.data.length));
  return Float32Array.from(t.data);
}

/** A float32 array rounded to F16 (round to nearest even), as a Tensor of raw bits. */
export function f16Tensor(values: ArrayLike<number>, shape: number[] = [values.length]): Tensor {
  const h = Float16Array.from(values as ArrayLike<number>);
  return { dtype: 'F16', shape, data: new Uint16Array(h.buffer, h.byteOffset, h.length) };
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------------------------------------- safetensors

/** Serialises tensors (sorted by name) + string metadata into one safetensors buffer list. */
export function encodeSafetensors(tensors: Map<string, TensorLike>, metadata: Record<string, string> = {}): Buffer[] {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new CheckpointError('a tensor may not be named __metadata__');
    const t = toTensor(tensors.get(name)!);
    const expected = numel(t.shape);
    if (t.data.length !== expected) throw new CheckpointError(`tensor '${name}': shape [${t.shape}] needs ${expected} values, data has ${t.data.length}`);
    const bytes = expected * BYTES[t.dtype];
    if (t.data.byteLength !== bytes) throw new CheckpointError(`tensor '${name}': dtype ${t.dtype} does not match its ${t.data.constructor.name}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    chunks.push(Buffer.from(t.data.buffer, t.data.byteOffset, bytes));
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned (as the reference implementation does).
  const len = Buffer.byteLength(json);
  json += ' '.repeat((8 - ((8 + len) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8, 'utf8');
  return [head, ...chunks];
}

export interface Safetensors { tensors: Map<string, Tensor>; metadata: Record<string, string> }

/** Parses and validates a safetensors buffer; `file` names the source in every error. */
export function decodeSafetensors(buf: Buffer, file: string): Safetensors {
  const bad = (msg: string) => new CheckpointError(`${file}: ${msg}`);
  if (buf.length < 8) throw bad(`truncated: ${buf.length} bytes, a safetensors file starts with an 8-byte header length`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n > MAX_HEADER) throw bad(`corrupt: header length ${n} is implausible`);
  if (8 + n > buf.length) throw bad(`truncated: header of ${n} bytes but the file has ${buf.length} bytes`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw bad(`corrupt header JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('corrupt: header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, s] of Object.entries((v ?? {}) as Record<string, unknown>)) {
        if (typeof s !== 'string') throw bad(`__metadata__.${k} is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'I32') throw bad(`tensor '${name}': unsupported dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor '${name}': bad shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0]) throw bad(`tensor '${name}': bad data_offsets`);
    const [begin, end] = off as [number, number];
    if (end - begin !== numel(shape as number[]) * BYTES[e.dtype]) throw bad(`tensor '${name}': data_offsets span ${end - begin} bytes, shape [${shape}] ${e.dtype} needs ${numel(shape as number[]) * BYTES[e.dtype]}`);
    if (end > dataLen) throw bad(`truncated: tensor '${name}' ends at data byte ${end} but the file holds ${dataLen} data bytes`);
    entries.push({ name, dtype: e.dtype, shape: shape as number[], begin, end });
  }
  // The format requires the tensors to tile the data section exactly: no gaps, no overlaps, nothing after.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of entries) {
    if (e.begin !== pos) throw bad(`corrupt: tensor '${e.name}' starts at data byte ${e.begin}, expected ${pos}`);
    pos = e.end;
  }
  if (pos !== dataLen) throw bad(`corrupt: ${dataLen - pos} trailing bytes after the last tensor`);
  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    // Copy: tensors after an odd-length F16 one are not 4-byte aligned inside the file buffer.
    const bytes = buf.buffer.slice(buf.byteOffset + dataStart + e.begin, buf.byteOffset + dataStart + e.end);
    const data = e.dtype === 'F32' ? new Float32Array(bytes) : e.dtype === 'I32' ? new Int32Array(bytes) : new Uint16Array(bytes);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

export function writeSafetensorsSync(file: string, tensors: Map<string, TensorLike>, metadata: Record<string, string> = {}): void {
  writeFileDurable(file, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(file: string): Safetensors {
  let buf: Buffer;
  try { buf = fs.readFileSync(file); } catch (e) { throw new CheckpointError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  return decodeSafetensors(buf, file);
}

// -------------------------------------------------------------------------------------------- durable writes

/** Writes the chunks, fsyncs the file. Returns size and SHA-256 (for the manifest). */
function writeFileDurable(file: string, chunks: readonly Buffer[]): { bytes: number; sha256: string } {
  const fd = fs.openSync(file, 'w');
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for (const c of chunks) {
      // Large tensors go out in slices so a kill lands mid-file, as it would on a real crash.
      for (let o = 0; o < c.length; o += 1 << 24) {
        const part = c.subarray(o, Math.min(c.length, o + (1 << 24)));
        let done = 0;
        while (done < part.length) done += fs.writeSync(fd, part, done);
        hash.update(part);
      }
      bytes += c.length;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** fsync a directory so the renames inside it survive a power loss (a no-op where directories cannot be opened). */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try { fd = fs.openSync(dir, 'r'); fs.fsyncSync(fd); } catch { /* e.g. Windows: directories cannot be fsynced */ } finally { if (fd !== undefined) fs.closeSync(fd); }
}

// ------------------------------------------------------------------------------------------------ checkpoints

export interface CheckpointData {
  tensors: Map<string, TensorLike>;
  /** JSON-serialisable trainer state; must hold `step` (a non-negative integer). */
  state: { step: number; [k: string]: unknown };
}
export interface LoadedCheckpoint { dir: string; step: number; tensors: Map<string, Tensor>; state: { step: number; [k: string]: unknown } }
export interface SaveOptions {
  /** Keep this many most recent step directories (default 3; 0 keeps all). */
  keep?: number;
  /** Test hooks, called at the two crash-sensitive moments (before the step rename, before the pointer swap). */
  hooks?: { beforeRename?: () => void; beforePointer?: () => void };
}

const MANIFEST = 'manifest.json';
const TENSORS = 'model.safetensors';
const STATE = 'state.json';
const LATEST = 'latest';
const stepName = (step: number) => `step-${String(step).padStart(6, '0')}`;
const STEP_RE = /^step-(\d+)$/;

/** Atomically writes `runDir/step-NNNNNN/` and points `runDir/latest` at it; returns the step directory. */
export function saveCheckpoint(runDir: string, data: CheckpointData, opts: SaveOptions = {}): string {
  const step = data.state.step;
  if (!Number.isInteger(step) || step < 0) throw new CheckpointError(`state.step must be a non-negative integer, got ${String(step)}`);
  fs.mkdirSync(runDir, { recursive: true });
  // Leftovers of a crashed save (a single trainer writes a run directory, so no one else owns them).
  for (const e of fs.readdirSync(runDir)) if (e.startsWith('.tmp-')) fs.rmSync(path.join(runDir, e), { recursive: true, force: true });

  const name = stepName(step);
  const tmp = path.join(runDir, `.tmp-${name}-${process.pid}`);
  fs.mkdirSync(tmp);
  const files: Record<string, { bytes: number; sha256: string }> = {};
  files[TENSORS] = writeFileDurable(path.join(tmp, TENSORS), encodeSafetensors(data.tensors, { format: 'mm', step: String(step) }));
  files[STATE] = writeFileDurable(path.join(tmp, STATE), [Buffer.from(JSON.stringify(data.state, null, 1) + '\n')]);
  writeFileDurable(path.join(tmp, MANIFEST), [Buffer.from(JSON.stringify({ format: 'mm-checkpoint', version: 1, step, files }, null, 1) + '\n')]);
  fsyncDir(tmp);

  opts.hooks?.beforeRename?.();
  const final = path.join(runDir, name);
  if (fs.existsSync(final)) {
    // Re-saving a step (after a resume): move the old one aside first, since rename cannot replace a directory.
    const old = path.join(runDir, `.tmp-old-${name}-${process.pid}`);
    fs.renameSync(final, old);
    fs.renameSync(tmp, final);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(tmp, final);
  }
  fsyncDir(runDir);

  opts.hooks?.beforePointer?.();
  const ptrTmp = path.join(runDir, `.tmp-${LATEST}-${process.pid}`);
  writeFileDurable(ptrTmp, [Buffer.from(name + '\n')]);
  fs.renameSync(ptrTmp, path.join(runDir, LATEST));
  fsyncDir(runDir);

  const keep = opts.keep ?? 3;
  if (keep > 0) {
    const all = listCheckpoints(runDir);
    for (const c of all.slice(0, Math.max(0, all.length - keep))) if (c.step !== step) fs.rmSync(c.dir, { recursive: true, force: true });
  }
  return final;
}

/** Complete step directories of a run (those with a manifest), oldest first. */
export function listCheckpoints(runDir: string): { step: number; dir: string }[] {
  if (!fs.existsSync(runDir)) return [];
  return fs.readdirSync(runDir)
    .map((e) => ({ m: STEP_RE.exec(e), e }))
    .filter((x) => x.m && fs.existsSync(path.join(runDir, x.e, MANIFEST)))
    .map((x) => ({ step: Number(x.m![1]), dir: path.join(runDir, x.e) }))
    .sort((a, b) => a.step - b.step);
}

/** The step directory `latest` points to, or null when the run has no checkpoint yet. */
export function latestCheckpoint(runDir: string): string | null {
  const ptr = path.join(runDir, LATEST);
  if (!fs.existsSync(ptr)) return null;
  const name = fs.readFileSync(ptr, 'utf8').trim();
  if (!STEP_RE.test(name)) throw new CheckpointError(`${ptr}: corrupt pointer ${JSON.stringify(name.slice(0, 40))}`);
  return path.join(runDir, name);
}

/**
 * Loads a checkpoint from a step directory, or from a run directory through its `latest` pointer. Sizes are
 * always checked against the manifest; SHA-256 sums too unless `verify: false` (they cost a pass over the data).
 */
export function loadCheckpoint(dir: string, opts: { verify?: boolean } = {}): LoadedCheckpoint {
  if (!fs.existsSync(dir)) throw new CheckpointError(`${dir}: no such checkpoint directory`);
  let stepDir = dir;
  if (!fs.existsSync(path.join(dir, MANIFEST))) {
    const latest = latestCheckpoint(dir);
    if (!latest) throw new CheckpointError(`${dir}: neither a checkpoint (no ${MANIFEST}) nor a run directory with a '${LATEST}' pointer`);
    stepDir = latest;
  }
  const manPath = path.join(stepDir, MANIFEST);
  if (!fs.existsSync(manPath)) throw new CheckpointError(`${manPath}: missing (incomplete checkpoint)`);
  let manifest: { step: number; files: Record<string, { bytes: number; sha256: string }> };
  try { manifest = JSON.parse(fs.readFileSync(manPath, 'utf8')); } catch (e) { throw new CheckpointError(`${manPath}: corrupt (${(e as Error).message})`); }
  // Each file is read once: its bytes are checked against the manifest, then parsed from the same buffer.
  const contents = new Map<string, Buffer>();
  for (const [f, info] of Object.entries(manifest.files ?? {})) {
    const p = path.join(stepDir, f);
    if (!fs.existsSync(p)) throw new CheckpointError(`${p}: missing`);
    const size = fs.statSync(p).size;
    if (size !== info.bytes) throw new CheckpointError(`${p}: ${size < info.bytes ? 'truncated' : 'corrupt'}: ${size} bytes, the manifest says ${info.bytes}`);
    const buf = fs.readFileSync(p);
    if (opts.verify !== false && createHash('sha256').update(buf).digest('hex') !== info.sha256) {
      throw new CheckpointError(`${p}: corrupt: SHA-256 does not match the manifest`);
    }
    contents.set(f, buf);
  }
  const modelPath = path.join(stepDir, TENSORS);
  const { tensors } = contents.has(TENSORS) ? decodeSafetensors(contents.get(TENSORS)!, modelPath) : readSafetensors(modelPath);
  const statePath = path.join(stepDir, STATE);
  let state: LoadedCheckpoint['state'];
  try { state = JSON.parse(fs.readFileSync(statePath, 'utf8')); } catch (e) { throw new CheckpointError(`${statePath}: corrupt (${(e as Error).message})`); }
  return { dir: stepDir, step: manifest.step, tensors, state };
}
