// Streaming readers for the three source kinds. Files are read in 64 KiB chunks and split on bytes, so every
// record knows its byte offset and 1-based line: the mixer's checkpoint stores (offset, line, epoch) per
// source and a resumed run re-opens at the same record. Files never have to fit in memory.
import { open, type FileHandle } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import type { DataSourceSpec } from '../../compiler/semantics/spec.js';
import { DataError, type BadDataLog } from './errors.js';
import { resolveDataPath } from './image.js';

export type Item = { image: string } | { text: string }; // image: absolute path after resolution

export type DataRecord =
  | { kind: 'captions'; image: string; caption: string }
  | { kind: 'interleaved'; items: Item[] }
  | { kind: 'text'; text: string };

export interface Located<R> { rec: R; line: number; offset: number; next: number; nextLine: number }
export interface SourceState { offset: number; line: number; epoch: number; skip: number }

const CHUNK = 64 * 1024;
const MAX_TEXT_DOC = 256 * 1024; // a .txt paragraph longer than this is cut into several documents

/** Reads lines with their byte offsets. */
export class LineReader {
  private fh: FileHandle | null = null;
  private buf = Buffer.alloc(0);
  private bufStart: number; // file offset of buf[0]
  private eof = false;
  private dec = new TextDecoder('utf-8', { fatal: true });

  constructor(readonly file: string, private offset = 0, private line = 1) { this.bufStart = offset; }

  /** The next line (without its newline), or null at the end of the file. */
  async next(): Promise<{ text: string; line: number; offset: number; next: number } | null> {
    for (;;) {
      const nl = this.buf.indexOf(10, this.offset - this.bufStart);
      if (nl >= 0 || (this.eof && this.offset - this.bufStart < this.buf.length)) {
        const end = nl >= 0 ? nl : this.buf.length;
        const bytes = this.buf.subarray(this.offset - this.bufStart, end);
        const rec = { line: this.line, offset: this.offset, next: this.bufStart + end + (nl >= 0 ? 1 : 0), text: '' };
        this.offset = rec.next;
        this.line++;
        try {
          rec.text = this.dec.decode(bytes).replace(/\r$/, '');
        } catch {
          throw new DataError(this.file, rec.line, 'not valid UTF-8');
        }
        return rec;
      }
      if (this.eof) return null;
      await this.fill();
    }
  }

  private async fill(): Promise<void> {
    this.fh ??= await open(this.file, 'r');
    const keep = this.buf.subarray(this.offset - this.bufStart);
    const chunk = Buffer.alloc(CHUNK);
    const { bytesRead } = await this.fh.read(chunk, 0, CHUNK, this.bufStart + this.buf.length);
    if (bytesRead === 0) { this.eof = true; }
    this.bufStart = this.offset;
    this.buf = Buffer.concat([keep, chunk.subarray(0, bytesRead)]);
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
  }
}

/** One source of the spec's data block: yields parsed records forever (wrapping round at the end). */
export class SourceStream {
  private reader: LineReader;
  private pending: Located<DataRecord> | null = null;
  private st: SourceState;
  private goodThisEpoch = 0;
  readonly isJsonl: boolean;

  constructor(readonly spec: DataSourceSpec, private log: BadDataLog | null, state?: SourceState) {
    let ok = false;
    try { ok = statSync(spec.path).isFile(); } catch { /* reported below */ }
    if (!ok) throw new DataError(spec.path, 0, `${spec.kind} data file not found`);
    this.st = state ? { ...state } : { offset: 0, line: 1, epoch: 0, skip: 0 };
    this.reader = new LineReader(spec.path, this.st.offset, this.st.line);
    this.isJsonl = spec.kind !== 'text' || ['.jsonl', '.json', '.ndjson'].includes(extname(spec.path).toLowerCase());
  }

  get file(): string { return this.spec.path; }

  /** Tokens of the current record already placed (a long text document split over several rows). */
  get skip(): number { return this.st.skip; }
  set skip(n: number) { this.st.skip = n; }

  state(): SourceState { return { ...this.st }; }

  /** The next usable record, without consuming it. Bad lines are skipped (and counted) only with a log. */
  async peek(): Promise<Located<DataRecord>> {
    while (!this.pending) {
      let got: Located<DataRecord> | null;
      try {
        got = this.isJsonl ? await this.readJsonl() : await this.readParagraph();
      } catch (e) {
        if (!(e instanceof DataError) || !this.log) throw e;
        this.log.add(e);
        continue; // readJsonl already moved past the bad line
      }
      if (got) { this.pending = got; this.goodThisEpoch++; break; }
      // end of file: wrap round, unless the whole pass found nothing to train on
      if (this.goodThisEpoch === 0) throw new DataError(this.file, 0, `no usable ${this.spec.kind} records`);
      await this.reader.close();
      this.st = { offset: 0, line: 1, epoch: this.st.epoch + 1, skip: 0 };
      this.goodThisEpoch = 0;
      this.reader = new LineReader(this.file);
    }
    return this.pending;
  }

  /** Marks the peeked record as used: the checkpointed cursor moves past it. */
  consume(): void {
    if (!this.pending) return;
    this.st.offset = this.pending.next;
    this.st.line = this.pending.nextLine;
    this.st.skip = 0;
    this.pending = null;
  }

  /** Counts a record the mixer could not use (e.g. an unreadable image) and moves past it, or rethrows. */
  reject(err: DataError): void {
    if (!this.log) throw err;
    this.log.add(err);
    this.consume();
  }

  private async readJsonl(): Promise<Located<DataRecord> | null> {
    for (;;) {
      const l = await this.reader.next();
      if (!l) return null;
      if (l.text.trim() === '') { this.st.offset = l.next; this.st.line = l.line + 1; continue; }
      const loc = { line: l.line, offset: l.offset, next: l.next, nextLine: l.line + 1 };
      try {
        return { ...loc, rec: parseRecord(this.spec.kind, l.text, this.file, l.line) };
      } catch (e) {
        this.st.offset = l.next; this.st.line = l.line + 1; // a skipped bad line stays skipped after resume
        throw e;
      }
    }
  }

  /** Plain text: documents are separated by blank lines. */
  private async readParagraph(): Promise<Located<DataRecord> | null> {
    let first: { line: number; offset: number } | null = null;
    const lines: string[] = [];
    let size = 0, next = 0, nextLine = 0;
    for (;;) {
      const l = await this.reader.next();
      if (!l) break;
      if (l.text.trim() === '') {
        if (first) { next = l.next; nextLine = l.line + 1; break; }
        this.st.offset = l.next; this.st.line = l.line + 1;
        continue;
      }
      first ??= { line: l.line, offset: l.offset };
      lines.push(l.text);
      size += l.text.length + 1;
      next = l.next; nextLine = l.line + 1;
      if (size > MAX_TEXT_DOC) break;
    }
    if (!first) return null;
    return { rec: { kind: 'text', text: lines.join('\n') }, line: first.line, offset: first.offset, next, nextLine };
  }

  async close(): Promise<void> { await this.reader.close(); }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and validates one JSONL record; image paths come back absolute (and inside the data folder). */
export function parseRecord(kind: DataSourceSpec['kind'], line: string, file: string, lineNo: number): DataRecord {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new DataError(file, lineNo, `bad JSON (${(e as Error).message})`);
  }
  if (!isObj(v)) throw new DataError(file, lineNo, 'expected a JSON object');
  const bad = (why: string) => new DataError(file, lineNo, why);
  switch (kind) {
    case 'captions':
      if (typeof v.caption !== 'string') throw bad('expected "caption": a string');
      return { kind, image: resolveDataPath(file, v.image, lineNo), caption: v.caption };
    case 'text':
      if (typeof v.text !== 'string') throw bad('expected "text": a string');
      return { kind, text: v.text };
    case 'interleaved': {
      if (!Array.isArray(v.items)) throw bad('expected "items": an array of {"image"} or {"text"}');
      const items: Item[] = v.items.map((it, i) => {
        if (isObj(it) && typeof it.text === 'string') return { text: it.text };
        if (isObj(it) && 'image' in it) return { image: resolveDataPath(file, it.image, lineNo) };
        throw bad(`items[${i}] must be {"image": path} or {"text": string}`);
      });
      return { kind, items };
    }
  }
}
