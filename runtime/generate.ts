// Generation with a KV cache: prefill graphs (Tn = prefillChunk) run prompts chunk by chunk with their images,
// decode graphs (Tn = 1) extend them; B = 1, the beam width, or a left-padded batch of prompts. Only Engine is
// used, so the CPU oracle and the GPU run the same code. Costs paid for simplicity: caches are copied host-side
// from the prefill engine to the decode engine after each prefill, and beam search reorders cache rows by a
// read + write of every cache leaf (a gather in the decode graph would avoid both round trips).

import type { Graph } from '../compiler/ir/graph.js';
import { lowerDecode } from '../compiler/lower/index.js';
import type { ModelSpec } from '../compiler/semantics/spec.js';
import type { Engine } from './engine.js';
import { beamSearch, sampleToken, type StepFn } from './eval/beam.js';
import { Prng } from './eval/prng.js';

export type EngineFactory = (graph: Graph) => Promise<Engine>;

export interface GeneratorOptions {
  /** Cache length: prompt + generated tokens must fit. */
  Tmax: number;
  /** Prompt tokens per prefill run (the last chunk is padded; padded slots stay masked). */
  prefillChunk: number;
  /** The `<image>` token id (M consecutive ones stand for one image). */
  imageToken: number;
  /** Id fed at padded prompt positions (never attended to); default 0. */
  padToken?: number;
}

export type Strategy =
  | { kind: 'greedy' }
  | { kind: 'sample'; temperature: number; topP: number; seed: number }
  | { kind: 'beam'; width: number; lengthPenalty?: number };

export interface GenerateOptions {
  maxNewTokens: number;
  strategy?: Strategy;
  /** Generation ends after one of these ids (included in the result). */
  stopTokens?: readonly number[];
  /** Generation ends once the decoded text contains one of these (needs `decode`); `text` is cut before it. */
  stopStrings?: readonly string[];
  decode?: (ids: number[]) => string;
  /** Ids never generated (e.g. `<image>`, `<pad>`, `<bos>`). */
  banTokens?: readonly number[];
  /** Each generated token, as soon as it is chosen (beam search: the winner's tokens at the end). */
  onToken?: (id: number) => void;
}

export interface Generation {
  tokens: number[];
  /** Decoded and cut at the first stop string (only when `decode` was given). */
  text?: string;
  logProb: number;
  finish: 'stop' | 'length';
}

/**
 * A prefill chunk length for a model: every chunk re-runs the image encoder on its image slots (images touching
 * the chunk, at most ceil((C − 1) / M) + 1 per row), so chunks of about two images' tokens keep that waste small.
 */
export function defaultPrefillChunk(model: ModelSpec): number {
  return Math.max(32, 2 * (model.connector?.tokens ?? 0));
}

export class GenerateError extends Error {
  constructor(message: string) { super(message); this.name = 'GenerateError'; }
}

/** Sets every param leaf of `engine` from checkpoint tensors (other tensors, e.g. optimizer state, are ignored). */
export function loadWeights(engine: Engine, tensors: ReadonlyMap<string, Float32Array>): { loaded: number } {
  const names = engine.leafNames('param');
  const missing = names.filter((n) => !tensors.has(n));
  if (missing.length) {
    throw new GenerateError(`the checkpoint lacks ${missing.length} of the model's ${names.length} parameters (e.g. ${missing.slice(0, 3).join(', ')}): was it trained from this spec?`);
  }
  for (const n of names) engine.setLeaf(n, tensors.get(n)!);
  return { loaded: names.length };
}

/** Log-softmax of one row, in f64. */
export function logSoftmax(x: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - m);
  const lse = m + Math.log(s);
  return Float64Array.from(x, (v) => v - lse);
}

function argmax(x: Float64Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

/** Start positions of each image: runs of `imageToken` whose lengths are multiples of M, cut into M-blocks. */
export function imageStarts(tokens: readonly number[], imageToken: number, M: number): number[] {
  const starts: number[] = [];
  for (let i = 0; i < tokens.length;) {
    if (tokens[i] !== imageToken) { i++; continue; }
    let j = i;
    while (j < tokens.length && tokens[j] === imageToken) j++;
    if ((j - i) % M !== 0) throw new GenerateError(`a run of ${j - i} <image> tokens at position ${i} is not a multiple of ${M} (tokens per image)`);
    for (let k = i; k < j; k += M) starts.push(k);
    i = j;
  }
  return starts;
}

/** Copies row blocks: out row i = src row idx[i] (rows of `rowSize` values). */
function gatherRows(src: Float32Array, rowSize: number, idx: readonly number[]): Float32Array {
  const out = new Float32Array(idx.length * rowSize);
  idx.forEach((r, i) => out.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  return out;
}

export interface PromptRow { tokens: readonly number[]; images?: readonly Float32Array[] }

export class Generator {
  private readonly prefills = new Map<number, Engine>();   // batch width → prefill engine (Tn = prefillChunk)
  private readonly decoders = new Map<number, Engine>();   // batch width → decode engine (Tn = 1)
  private weights: ReadonlyMap<string, Float32Array> | null = null;
  private readonly cacheNames: string[];
  private readonly rowSize: number;           // values per batch row of one cache leaf: Hkv · Tmax · hd
  private readonly hasImages: boolean;
  private readonly M: number;
  private readonly perChunk: number;          // image slots per row and prefill chunk
  /**
   * Where the current prefixes' caches live: host copies after a prefill, or a decode engine's rows; `start`
   * is each row's first valid slot (rows of a batch are left-padded so that they end together).
   */
  private cache: ({ kind: 'host'; data: Map<string, Float32Array> } | { kind: 'engine'; B: number }) & { start: number[] } | null = null;

  private constructor(private readonly factory: EngineFactory, readonly model: ModelSpec, readonly opts: GeneratorOptions) {
    const d = model.decoder;
    this.cacheNames = Array.from({ length: d.depth }, (_, i) => [`cache.${i}.k`, `cache.${i}.v`]).flat();
    this.rowSize = d.kvHeads * opts.Tmax * (d.width / d.heads);
    this.hasImages = !!model.encoder && !!model.connector;
    this.M = model.connector?.tokens ?? 0;
    this.perChunk = this.hasImages ? Generator.imagesPerChunk(opts.prefillChunk, this.M) : 0;
  }

  /** The most images whose M-token runs can touch one chunk of C tokens: ceil((C − 1) / M) + 1. */
  static imagesPerChunk(C: number, M: number): number { return Math.ceil((C - 1) / M) + 1; }

  static async create(factory: EngineFactory, model: ModelSpec, opts: GeneratorOptions): Promise<Generator> {
    if (!(opts.prefillChunk >= 1) || !(opts.Tmax >= 1)) throw new GenerateError('prefillChunk and Tmax must be at least 1');
    // Engines are built on first use: a batched evaluation never needs the B = 1 ones.
    return new Generator(factory, model, opts);
  }

  /** Loads weights into every engine (now, and engines created later); checks every parameter is there. */
  loadWeights(tensors: ReadonlyMap<string, Float32Array>): void {
    const { graph } = lowerDecode(this.model, { B: 1, Tn: 1, Tmax: 1, maxImages: this.perChunk > 0 ? 1 : 0 });
    const names = graph.params().map((p) => p.name!);
    const missing = names.filter((n) => !tensors.has(n));
    if (missing.length) {
      throw new GenerateError(`the checkpoint lacks ${missing.length} of the model's ${names.length} parameters (e.g. ${missing.slice(0, 3).join(', ')}): was it trained from this spec?`);
    }
    this.weights = tensors;
    for (const e of [...this.prefills.values(), ...this.decoders.values()]) loadWeights(e, tensors);
  }

  private async engine(kind: 'prefill' | 'decode', B: number): Promise<Engine> {
    const pool = kind === 'prefill' ? this.prefills : this.decoders;
    let e = pool.get(B);
    if (!e) {
      // capacityFactor = experts: at inference no MoE token is ever dropped, so batch rows stay independent.
      const { graph } = lowerDecode(this.model, {
        B, Tn: kind === 'prefill' ? this.opts.prefillChunk : 1, Tmax: this.opts.Tmax,
        maxImages: kind === 'prefill' ? this.perChunk : 0, capacityFactor: this.model.decoder.moe?.experts,
      });
      e = await this.factory(graph);
      if (this.weights) loadWeights(e, this.weights);
      pool.set(B, e);
    }
    return e;
  }

  /**
   * Builds the prefill engine for B rows and the decode engine for decodeB (0: none) at once, so their
   * pipelines compile together rather than the decode program's after the first token.
   */
  private async ready(B: number, decodeB: number): Promise<void> {
    await Promise.all([this.engine('prefill', B), ...(decodeB > 0 ? [this.engine('decode', decodeB)] : [])]);
  }

  /**
   * Runs the prompt through the prefill graph; returns the next-token log-probs after every prompt position
   * (`all`) or only the last. Images are matched in order to the M-blocks of `<image>` tokens.
   */
  async prefill(tokens: readonly number[], images: readonly Float32Array[] = [], all = false): Promise<Float64Array[]> {
    return (await this.prefillBatch([{ tokens, images }], all))[0]!;
  }

  /**
   * Prefill of several prompts at once (B = rows): each row is left-padded to the longest, its padding slots
   * masked. RoPE makes attention depend only on relative positions, so a padded row computes what it would
   * alone. Returns per row its log-probs after every prompt position (`all`) or only after the last.
   */
  async prefillBatch(rows: readonly PromptRow[], all = false): Promise<Float64Array[][]> {
    const { Tmax, prefillChunk: C } = this.opts;
    const B = rows.length, V = this.model.decoder.vocab;
    if (B < 1) throw new GenerateError('prefillBatch: no rows');
    const Lmax = Math.max(...rows.map((r) => r.tokens.length));
    if (Lmax > Tmax) throw new GenerateError(`the prompt has ${Lmax} tokens but the cache holds ${Tmax}`);
    const enc = this.model.encoder, imgSize = enc ? enc.channels * enc.image * enc.image : 0;
    const start = rows.map((r) => Lmax - r.tokens.length);
    const starts = rows.map((r) => {
      const images = r.images ?? [];
      if (r.tokens.length < 1) throw new GenerateError('empty prompt');
      for (const t of r.tokens) if (!(t >= 0 && t < V)) throw new GenerateError(`token id ${t} is outside the vocabulary (${V})`);
      const st = this.M > 0 ? imageStarts(r.tokens, this.opts.imageToken, this.M) : [];
      if (!this.hasImages && (images.length || st.length)) throw new GenerateError(`the prompt has ${Math.max(images.length, st.length)} image(s) but model '${this.model.name}' has no image encoder`);
      if (st.length !== images.length) throw new GenerateError(`the prompt has ${st.length} image placeholder(s) but ${images.length} image(s) were given`);
      images.forEach((im, i) => { if (im.length !== imgSize) throw new GenerateError(`image ${i + 1} has ${im.length} values; the encoder needs ${imgSize} ([${enc!.channels}, ${enc!.image}, ${enc!.image}])`); });
      return st;
    });
    const e = await this.engine('prefill', B);
    const out: Float64Array[][] = rows.map(() => []);
    for (let c0 = 0; c0 < Lmax; c0 += C) {
      const n = Math.min(C, Lmax - c0);
      const tok = new Int32Array(B * C).fill(this.opts.padToken ?? 0);                        // [B, C]
      rows.forEach((r, b) => { for (let i = Math.max(0, start[b]! - c0); i < n; i++) tok[b * C + i] = r.tokens[c0 + i - start[b]!]!; });
      e.setInput('tokens', tok);
      e.setInput('positions', Int32Array.from({ length: C }, (_, i) => c0 + i));              // [C]
      e.setInput('cache_pos', Int32Array.of(c0));
      e.setInput('cache_seg', Int32Array.from({ length: B * Tmax }, (_, i) => {              // [B, Tmax]
        const j = i % Tmax;
        return j >= start[Math.floor(i / Tmax)]! && j < c0 + n ? 0 : -1;
      }));
      e.setInput('query_seg', new Int32Array(B * C));
      if (this.hasImages) {
        const M = this.M, NI = B * this.perChunk;
        const imgs = new Float32Array(NI * imgSize);                                         // [NI, 3, R, R]
        const slots = new Int32Array(NI * M).fill(-1);                                       // [NI, M]
        const mask = new Float32Array(B * C);                                                // [B, C]
        let k = 0;
        rows.forEach((r, b) => starts[b]!.forEach((s0, i) => {
          const s = s0 + start[b]!;
          if (s + M <= c0 || s >= c0 + n) return;                                            // no token of it in this chunk
          // An image cut by a chunk boundary is encoded in both chunks, each placing only its own tokens.
          imgs.set(r.images![i]!, k * imgSize);
          for (let j = 0; j < M; j++) if (s + j >= c0 && s + j < c0 + n) { slots[k * M + j] = b * C + s + j - c0; mask[b * C + s + j - c0] = 1; }
          k++;
        }));
        e.setInput('images', imgs);
        e.setInput('image_slots', slots);
        e.setInput('image_mask', mask);
      }
      await e.run();
      if (!all && c0 + n < Lmax) continue;
      const logits = await e.readOutput('logits');                                           // [B, C, V]
      for (let b = 0; b < B; b++) {
        for (let i = all ? Math.max(0, start[b]! - c0) : n - 1; i < n; i++) {
          const o = (b * C + i) * V;
          out[b]!.push(logSoftmax(logits.subarray(o, o + V)));
        }
      }
    }
    const data = new Map<string, Float32Array>();
    for (const name of this.cacheNames) data.set(name, await e.readLeaf(name));
    this.cache = { kind: 'host', data, start };
    return out;
  }

  /**
   * One decode step for up to B prefixes: row i continues the prefix in row parents[i] of the previous step
   * (of the prefill when it came last) with token tokens[i] at position `pos`. Returns log-probs per row.
   */
  async decodeStep(B: number, parents: readonly number[], tokens: readonly number[], pos: number): Promise<Float64Array[]> {
    const { Tmax } = this.opts, V = this.model.decoder.vocab, n = parents.length;
    if (!this.cache) throw new GenerateError('decodeStep before prefill');
    if (n < 1 || n > B) throw new GenerateError(`decodeStep: ${n} rows for a batch of ${B}`);
    if (pos >= Tmax) throw new GenerateError(`position ${pos} is past the cache (${Tmax} slots)`);
    const e = await this.engine('decode', B);
    // Unused rows copy row 0's prefix so every row stays finite.
    const idx = Array.from({ length: B }, (_, i) => (i < n ? parents[i]! : parents[0]!));
    const tok = Int32Array.from({ length: B }, (_, i) => (i < n ? tokens[i]! : tokens[0]!));
    const start = idx.map((r) => this.cache!.start[r]!);
    if (this.cache.kind === 'host') {
      for (const [name, d] of this.cache.data) e.setLeaf(name, gatherRows(d, this.rowSize, idx));
    } else {
      if (this.cache.B !== B) throw new GenerateError('decodeStep: batch width changed without a new prefill');
      if (idx.some((r, i) => r !== i)) {
        for (const name of this.cacheNames) e.setLeaf(name, gatherRows(await e.readLeaf(name), this.rowSize, idx));
      }
    }
    e.setInput('tokens', tok);                                                               // [B, 1]
    e.setInput('positions', Int32Array.of(pos));
    e.setInput('cache_pos', Int32Array.of(pos));
    e.setInput('cache_seg', Int32Array.from({ length: B * Tmax }, (_, i) => {               // [B, Tmax]
      const j = i % Tmax;
      return j >= start[Math.floor(i / Tmax)]! && j <= pos ? 0 : -1;
    }));
    e.setInput('query_seg', new Int32Array(B));
    await e.run();
    this.cache = { kind: 'engine', B, start };
    const logits = await e.readOutput('logits');                                             // [B, 1, V]
    return Array.from({ length: n }, (_, i) => logSoftmax(logits.subarray(i * V, (i + 1) * V)));
  }

  /** Generates a continuation of `prompt` (ids with M `<image>` ids per image) under `opts.strategy`. */
  async generate(prompt: readonly number[], images: readonly Float32Array[], opts: GenerateOptions): Promise<Generation> {
    const strategy = opts.strategy ?? { kind: 'greedy' };
    const L = prompt.length;
    if (L + opts.maxNewTokens - 1 > this.opts.Tmax) {
      throw new GenerateError(`the prompt (${L} tokens) plus ${opts.maxNewTokens} new tokens does not fit the cache (${this.opts.Tmax})`);
    }
    const ban = (lp: Float64Array): Float64Array => { for (const t of opts.banTokens ?? []) if (t >= 0 && t < lp.length) lp[t] = -Infinity; return lp; };
    const stops = new Set(opts.stopTokens ?? []);
    const stopStrings = (opts.stopStrings ?? []).filter((s) => s.length > 0);
    const cut = (ids: number[]): string | undefined => {
      if (!opts.decode) return undefined;
      const s = opts.decode(ids);
      let at = s.length;
      for (const st of stopStrings) { const i = s.indexOf(st); if (i >= 0 && i < at) at = i; }
      return s.slice(0, at);
    };
    if (opts.maxNewTokens <= 0) return { tokens: [], text: cut([]), logProb: 0, finish: 'length' };
    await this.ready(1, opts.maxNewTokens > 1 ? (strategy.kind === 'beam' ? Math.max(1, strategy.width) : 1) : 0);
    const first = ban((await this.prefill(prompt, images))[0]!);

    if (strategy.kind === 'beam') {
      // Stop strings become stop ids: every id whose text contains one (multi-token ones are cut afterwards).
      if (opts.decode && stopStrings.length) {
        for (let id = 0; id < first.length; id++) { const s = opts.decode([id]); if (stopStrings.some((st) => s.includes(st))) stops.add(id); }
      }
      const W = Math.max(1, strategy.width);
      const step: StepFn = async (prefixes, parents) => {
        if (parents[0] === -1) return prefixes.map(() => Float64Array.from(first));
        const rows = await this.decodeStep(W, parents, prefixes.map((p) => p[p.length - 1]!), prefixes[0]!.length - 1);
        return rows.map(ban);
      };
      const [best] = await beamSearch(step, prompt, { beamWidth: W, maxNewTokens: opts.maxNewTokens, stopTokens: [...stops], lengthPenalty: strategy.lengthPenalty });
      const tokens = best?.tokens ?? [];
      tokens.forEach((t) => opts.onToken?.(t));
      const last = tokens[tokens.length - 1];
      return { tokens, text: cut(tokens), logProb: best?.logProb ?? 0, finish: last !== undefined && stops.has(last) ? 'stop' : 'length' };
    }

    const rng = strategy.kind === 'sample' ? new Prng(strategy.seed) : null;
    const tokens: number[] = [];
    let lp = first, logProb = 0;
    for (let t = 0; t < opts.maxNewTokens; t++) {
      const next = strategy.kind === 'sample' ? sampleToken(lp, strategy.temperature, strategy.topP, rng!) : argmax(lp);
      tokens.push(next);
      logProb += lp[next]!;
      opts.onToken?.(next);
      if (stops.has(next)) return { tokens, text: cut(tokens), logProb, finish: 'stop' };
      if (stopStrings.length && opts.decode) {
        const s = opts.decode(tokens);
        if (stopStrings.some((st) => s.includes(st))) return { tokens, text: cut(tokens), logProb, finish: 'stop' };
      }
      if (t === opts.maxNewTokens - 1) break;
      lp = ban((await this.decodeStep(1, [0], [next], L + t))[0]!);
    }
    return { tokens, text: cut(tokens), logProb, finish: 'length' };
  }

  /**
   * Greedy continuations of several prompts in one batch (B = rows): batched prefill, then one decode step
   * per new token for every row until all have stopped. Each row equals its own `generate` (up to rounding).
   */
  async generateBatch(rows: readonly PromptRow[], opts: Omit<GenerateOptions, 'strategy' | 'onToken'>): Promise<Generation[]> {
    const B = rows.length, Lmax = Math.max(...rows.map((r) => r.tokens.length));
    if (Lmax + opts.maxNewTokens - 1 > this.opts.Tmax) {
      throw new GenerateError(`the prompt (${Lmax} tokens) plus ${opts.maxNewTokens} new tokens does not fit the cache (${this.opts.Tmax})`);
    }
    const stops = new Set(opts.stopTokens ?? []);
    const stopStrings = (opts.stopStrings ?? []).filter((x) => x.length > 0);
    const ban = (lp: Float64Array): Float64Array => { for (const t of opts.banTokens ?? []) if (t >= 0 && t < lp.length) lp[t] = -Infinity; return lp; };
    const res: Generation[] = rows.map(() => ({ tokens: [], logProb: 0, finish: 'length' }));
    const done = rows.map(() => opts.maxNewTokens <= 0);
    if (opts.maxNewTokens > 0) await this.ready(B, opts.maxNewTokens > 1 ? B : 0);
    let lps = opts.maxNewTokens > 0 ? (await this.prefillBatch(rows)).map((r) => r[0]!) : [];
    const ids = Array.from({ length: B }, (_, i) => i);
    for (let t = 0; t < opts.maxNewTokens; t++) {
      const next = lps.map((lp, b) => {
        if (done[b]) return res[b]!.tokens[res[b]!.tokens.length - 1] ?? 0;
        const l = ban(lp), tok = argmax(l), r = res[b]!;
        r.tokens.push(tok);
        r.logProb += l[tok]!;
        const s = stopStrings.length && opts.decode ? opts.decode(r.tokens) : '';
        if (stops.has(tok) || stopStrings.some((x) => s.includes(x))) { r.finish = 'stop'; done[b] = true; }
        return tok;
      });
      if (done.every(Boolean) || t === opts.maxNewTokens - 1) break;
      lps = await this.decodeStep(B, ids, next, Lmax + t);
    }
    for (const r of res) {
      if (!opts.decode) continue;
      const s = opts.decode(r.tokens);
      let at = s.length;
      for (const x of stopStrings) { const i = s.indexOf(x); if (i >= 0 && i < at) at = i; }
      r.text = s.slice(0, at);
    }
    return res;
  }

  /**
   * Sum of log p(tokens[i+1] | tokens[..i]) over the positions `counted(i+1)` allows (default: every
   * non-image target), from one chunked prefill: held-out text perplexity.
   */
  async scoreTokens(tokens: readonly number[], images: readonly Float32Array[] = []): Promise<{ logProb: number; count: number }> {
    const lps = await this.prefill(tokens, images, true);
    let logProb = 0, count = 0;
    for (let i = 0; i + 1 < tokens.length; i++) {
      if (tokens[i + 1] === this.opts.imageToken) continue;
      logProb += lps[i]![tokens[i + 1]!]!;
      count++;
    }
    return { logProb, count };
  }

  dispose(): void {
    for (const e of [...this.prefills.values(), ...this.decoders.values()]) e.dispose();
    this.prefills.clear();
    this.decoders.clear();
  }
}

/** Engine factories: the CPU oracle (f64 or f32-rounded), or the GPU (Dawn loaded only when asked for). */
export function cpuEngineFactory(opts: { seed?: number; precision?: 'f64' | 'f32' } = {}): EngineFactory {
  return async (graph) => {
    const { ReferenceEngine } = await import('./reference-engine.js');
    return new ReferenceEngine(graph, opts);
  };
}

/** Engines on the GPU; `outputs` are the graph outputs kept (default the decode graphs' logits). */
export function gpuEngineFactory(opts: { seed?: number; precision?: 'f32' | 'f16'; outputs?: string[] } = {}): EngineFactory {
  return async (graph) => {
    const [{ openDevice }, { GpuEngine }] = await Promise.all([import('./device.js'), import('./gpu-engine.js')]);
    return GpuEngine.create(await openDevice(), graph, { outputs: opts.outputs ?? ['logits'], precision: opts.precision ?? 'f32', seed: opts.seed });
  };
}
