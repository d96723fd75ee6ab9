// The data mixer: turns the spec's data block into Batches (runtime/data/batch.ts). Rows are assigned to
// sources by smooth weighted round-robin (exact proportions, no sampling noise); captions are packed several
// pairs to a row, interleaved documents fitted with at most max_images images, text split across rows.
// Everything streams from disk; state() captures the cursors so a resumed run sees the same data order.
import type { DataSpec, ResolvedSpec } from '../../compiler/semantics/spec.js';
import { trainShape } from '../../compiler/compile.js';
import type { Batch } from './batch.js';
import { BadDataLog, DataError } from './errors.js';
import { loadImage } from './image.js';
import { SourceStream, type DataRecord, type Located, type SourceState } from './sources.js';
import type { Tokenizer } from './tokenizer.js';

export interface MixerOptions {
  B: number;              // rows per batch
  T: number;              // tokens per row
  maxImages: number;      // image slots per row (NI = B · maxImages)
  tokensPerImage: number; // M: connector tokens per image
  imageSize: number;      // R: pixels per side
  seed: number;
  skipBad?: boolean;      // count and skip bad records instead of stopping
  cacheBytes?: number;    // decoded-image cache (default 256 MiB)
  prefetch?: boolean;     // build the next batch while the caller trains on this one (default true)
}

export interface MixerState {
  version: 1;
  wrr: number[];          // smooth weighted round-robin accumulators, one per source
  sources: SourceState[];
  rows: number;           // rows produced so far
  bad: number;
}

/** One row under construction. */
class Row {
  tokens: number[] = [];
  segs: number[] = [];
  isImg: boolean[] = [];
  images: { data: Float32Array; start: number }[] = [];
  seg = 0;
  constructor(readonly T: number) {}
  get room(): number { return this.T - this.tokens.length; }
  push(id: number, img = false): void { this.tokens.push(id); this.segs.push(this.seg); this.isImg.push(img); }
}

export class Mixer {
  readonly bad: BadDataLog;
  private sources: SourceStream[];
  private wrr: number[];
  private rows = 0;
  private cache = new Map<string, Float32Array>();
  private cacheUsed = 0;
  private readonly weights: number[];
  private inflight: Promise<Batch> | null = null; // the prefetched next batch
  private snapshot: MixerState | null = null;     // state before the prefetched batch

  constructor(readonly spec: DataSpec, readonly tok: Tokenizer, readonly opts: MixerOptions) {
    const { T, tokensPerImage: M } = opts;
    if (spec.sources.length === 0) throw new Error('the data block has no sources');
    if (opts.maxImages > 0 && M + 3 > T) throw new Error(`seq_len ${T} cannot hold one image (${M} tokens) with <bos>, text and <eos>`);
    if (opts.maxImages === 0 && spec.sources.some((s) => s.kind === 'captions')) throw new Error('a model without images cannot train on captions');
    this.bad = new BadDataLog();
    const log = opts.skipBad ? this.bad : null;
    this.sources = spec.sources.map((s) => new SourceStream(s, log));
    const sum = spec.sources.reduce((a, s) => a + s.weight, 0);
    this.weights = spec.sources.map((s) => s.weight / sum);
    // the seed only rotates where the round-robin starts; the proportions stay exact
    this.wrr = this.weights.map((w, i) => (((opts.seed + 1) * 2654435761 * (i + 1)) % 1000) / 1e6 * w);
  }

  /** Where the data stands after the last batch next() returned (a prefetched batch is not counted). */
  state(): MixerState {
    return this.snapshot ?? this.stateNow();
  }

  private stateNow(): MixerState {
    return { version: 1, wrr: [...this.wrr], sources: this.sources.map((s) => s.state()), rows: this.rows, bad: this.bad.count };
  }

  /** Re-opens every source at its checkpointed record. */
  async restore(st: MixerState): Promise<void> {
    if (st.version !== 1 || st.sources.length !== this.sources.length) throw new Error('mixer state does not match this data block');
    await this.close();
    this.snapshot = null;
    const log = this.opts.skipBad ? this.bad : null;
    this.sources = this.spec.sources.map((s, i) => new SourceStream(s, log, st.sources[i]));
    this.wrr = [...st.wrr];
    this.rows = st.rows;
    this.bad.count = st.bad;
  }

  async close(): Promise<void> {
    await this.inflight?.catch(() => undefined); // let a prefetch finish before its files close
    this.inflight = null;
    await Promise.all(this.sources.map((s) => s.close()));
  }

  /** Index of the source for the next row (smooth weighted round-robin, as in nginx). */
  private pickSource(): number {
    let best = 0;
    for (let i = 0; i < this.wrr.length; i++) {
      this.wrr[i]! += this.weights[i]!;
      if (this.wrr[i]! > this.wrr[best]!) best = i;
    }
    this.wrr[best]! -= 1;
    return best;
  }

  /** The next batch. Errors of a prefetched batch (bad data) surface here, in order. */
  async next(): Promise<Batch> {
    const p = this.inflight ?? this.build();
    this.inflight = null;
    let batch: Batch;
    try {
      batch = await p;
    } finally {
      this.snapshot = null;
    }
    if (this.opts.prefetch !== false) {
      this.snapshot = this.stateNow();
      this.inflight = this.build();
      this.inflight.catch(() => undefined); // observed by the next call to next()
    }
    return batch;
  }

  private async build(): Promise<Batch> {
    const { B, T, maxImages, tokensPerImage: M, imageSize: R } = this.opts;
    const NI = B * maxImages, px = 3 * R * R;
    const batch: Batch = {
      B, T,
      tokens: new Int32Array(B * T).fill(this.tok.special.pad),
      targets: new Int32Array(B * T).fill(-1),
      segments: new Int32Array(B * T).fill(-1),
      imageMask: new Float32Array(B * T),
      images: new Float32Array(NI * px),
      imageSlots: new Int32Array(NI * M).fill(-1),
      numImages: 0,
      sources: [],
    };
    for (let b = 0; b < B; b++) {
      const si = this.pickSource();
      const src = this.sources[si]!;
      const row = await this.fillRow(src);
      this.rows++;
      batch.sources.push(src.spec.kind);
      const o = b * T;
      for (let t = 0; t < row.tokens.length; t++) {
        batch.tokens[o + t] = row.tokens[t]!;
        batch.segments[o + t] = row.segs[t]!;
        batch.imageMask[o + t] = row.isImg[t] ? 1 : 0;
      }
      // loss only where the next token is text of the same segment (LLaVA convention: the last visual
      // token predicts the first word; nothing predicts an image token, padding or across documents)
      for (let t = 0; t + 1 < row.tokens.length; t++) {
        if (row.segs[t + 1] === row.segs[t] && !row.isImg[t + 1]) batch.targets[o + t] = row.tokens[t + 1]!;
      }
      for (const img of row.images) {
        const slot = batch.numImages++;
        batch.images.set(img.data, slot * px);
        for (let j = 0; j < M; j++) batch.imageSlots[slot * M + j] = o + img.start + j;
      }
    }
    return batch;
  }

  private async fillRow(src: SourceStream): Promise<Row> {
    const row = new Row(this.opts.T);
    // no image slots (a text-only model): interleaved documents keep their text only
    const cap = this.opts.maxImages === 0 ? 0 : Math.max(1, Math.min(this.opts.maxImages, src.spec.maxImages || this.opts.maxImages));
    for (;;) {
      const loc = await src.peek();
      let placed: boolean;
      try {
        placed = await this.place(row, src, loc, cap);
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        src.reject(e); // throws unless --skip-bad
        continue;
      }
      if (!placed || row.room < 2) return row;
    }
  }

  /** Tries to add one record to the row; false (record left pending) when it must wait for a fresh row. */
  private async place(row: Row, src: SourceStream, loc: Located<DataRecord>, cap: number): Promise<boolean> {
    const { bos, eos, image } = this.tok.special;
    const M = this.opts.tokensPerImage;
    const rec = loc.rec, where = { file: src.file, line: loc.line };
    const empty = row.tokens.length === 0;

    if (rec.kind === 'text') {
      // a document is one token stream <bos> text <eos>, cut into pieces over as many rows as it needs
      const ids = [bos, ...this.tok.encode(rec.text), eos];
      const take = Math.min(row.room, ids.length - src.skip);
      for (let k = 0; k < take; k++) row.push(ids[src.skip + k]!);
      row.seg++;
      if (src.skip + take >= ids.length) src.consume(); else src.skip += take;
      return true;
    }

    if (rec.kind === 'captions') {
      if (row.images.length >= cap) return false;
      const text = this.tok.encode(rec.caption);
      const need = 1 + M + text.length + 1;
      if (need > row.room && !empty) return false;
      const img = await this.image(rec.image, where);
      const start = row.tokens.length + 1;
      row.push(bos);
      for (let j = 0; j < M; j++) row.push(image, true);
      row.images.push({ data: img, start });
      for (const id of text.slice(0, row.room)) row.push(id); // truncated only when alone in the row
      if (row.room > 0) row.push(eos);
      row.seg++;
      src.consume();
      return true;
    }

    // interleaved: cut at the first image over the cap (later text may refer to it), then fit to the row
    const parts: ({ text: number[] } | { image: string })[] = [];
    let nImg = 0, complete = true;
    for (const it of rec.items) {
      if ('image' in it && cap === 0) continue;
      if ('image' in it) {
        if (row.images.length + nImg >= cap) { complete = false; break; }
        nImg++;
        parts.push({ image: it.image });
      } else parts.push({ text: this.tok.encode(it.text) });
    }
    const len = 2 + parts.reduce((a, p) => a + ('text' in p ? p.text.length : M), 0);
    if (!empty && (!complete || len > row.room)) return false; // only whole documents join a started row
    const imgs = await Promise.all(parts.map((p) => ('image' in p ? this.image(p.image, where) : null)));
    row.push(bos);
    for (let k = 0; k < parts.length && row.room > 0; k++) {
      const p = parts[k]!;
      if ('text' in p) { for (const id of p.text.slice(0, row.room)) row.push(id); continue; }
      if (row.room < M + 1) break; // never a partial image, and never an image with no text after it
      row.images.push({ data: imgs[k]!, start: row.tokens.length });
      for (let j = 0; j < M; j++) row.push(image, true);
    }
    // a document that ends on an image teaches nothing about it: drop the trailing image
    while (row.isImg[row.tokens.length - 1]) {
      for (let j = 0; j < M; j++) { row.tokens.pop(); row.segs.pop(); row.isImg.pop(); }
      row.images.pop();
    }
    if (complete && len <= this.opts.T && row.room > 0) row.push(eos);
    row.seg++;
    src.consume();
    return true;
  }

  /** A decoded, resized, normalised image, from the byte-bounded cache when possible. */
  private async image(file: string, where: { file: string; line: number }): Promise<Float32Array> {
    const hit = this.cache.get(file);
    if (hit) { this.cache.delete(file); this.cache.set(file, hit); return hit; } // LRU: move to the end
    const img = await loadImage(file, this.opts.imageSize, where);
    const limit = this.opts.cacheBytes ?? 256 * 2 ** 20;
    this.cache.set(file, img);
    this.cacheUsed += img.byteLength;
    while (this.cacheUsed > limit && this.cache.size > 1) {
      const [k, v] = this.cache.entries().next().value as [string, Float32Array];
      this.cache.delete(k);
      this.cacheUsed -= v.byteLength;
    }
    return img;
  }
}

/** Mixer options for a checked spec's training run (micro-batch rows, seq_len, images, visual tokens, px). */
export function mixerOptionsFor(spec: ResolvedSpec, extra: Partial<MixerOptions> = {}): MixerOptions {
  if (!spec.data) throw new Error('the spec has no data block');
  const { B, T, maxImages } = trainShape(spec);     // the same batch shape the training graph is lowered for
  return {
    B, T, maxImages,
    tokensPerImage: spec.model.connector?.tokens ?? 0,
    imageSize: spec.model.encoder?.image ?? 0,
    seed: spec.train?.seed ?? 0,
    ...extra,
  };
}

/** A generation prompt: <bos>, text tokens, M <image> ids per image (no <eos>: the model continues it). */
export function encodePrompt(tok: Tokenizer, items: ({ text: string } | { image: Float32Array })[], M: number): {
  tokens: number[]; images: Float32Array[]; imagePositions: number[][];
} {
  const tokens = [tok.special.bos], images: Float32Array[] = [], imagePositions: number[][] = [];
  for (const it of items) {
    if ('text' in it) { tokens.push(...tok.encode(it.text)); continue; }
    images.push(it.image);
    imagePositions.push(Array.from({ length: M }, (_, j) => tokens.length + j));
    for (let j = 0; j < M; j++) tokens.push(tok.special.image);
  }
  return { tokens, images, imagePositions };
}
