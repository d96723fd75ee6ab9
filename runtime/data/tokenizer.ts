// Byte-level BPE: ids 0..255 are the raw UTF-8 bytes (so any text encodes and decodes back exactly), 256..259
// the specials <image> <bos> <eos> <pad>, then one id per learned merge. Text is first split GPT-2 style
// (words with their leading space, numbers, punctuation runs, whitespace) so merges never cross word edges.
import { readFileSync, writeFileSync } from 'node:fs';

export interface SpecialIds { image: number; bos: number; eos: number; pad: number }
export const SPECIAL_NAMES = ['<image>', '<bos>', '<eos>', '<pad>'] as const;
const FIRST_MERGE = 256 + SPECIAL_NAMES.length;

/** GPT-2's pre-tokenizer; its alternatives cover every character, so the chunks concatenate to the input. */
const SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const KEY = 2 ** 21; // pair key a·KEY + b; ids stay below 2^21

export interface TokenizerJSON {
  format: 'mm-bpe';
  version: 1;
  vocabSize: number;
  specials: SpecialIds;
  merges: [number, number][];
}

const utf8 = new TextEncoder();
// ignoreBOM: keep a leading U+FEFF as text (the default decoder drops it, so "\uFEFFa" decoded to "a").
const utf8dec = new TextDecoder('utf-8', { ignoreBOM: true });

export class Tokenizer {
  readonly special: SpecialIds = { image: 256, bos: 257, eos: 258, pad: 259 };
  private readonly rank = new Map<number, number>(); // pair key → merged id (lower id = earlier merge)
  private readonly bytesOf: Uint8Array[] = [];       // id → the bytes it stands for
  private readonly cache = new Map<string, number[]>();

  constructor(readonly merges: readonly [number, number][], readonly vocabSize = FIRST_MERGE + merges.length) {
    for (let b = 0; b < 256; b++) this.bytesOf.push(Uint8Array.of(b));
    for (const name of SPECIAL_NAMES) this.bytesOf.push(utf8.encode(name));
    merges.forEach(([a, b], i) => {
      const id = FIRST_MERGE + i;
      if (a >= id || b >= id || a < 0 || b < 0) throw new Error(`bad merge ${i}: [${a}, ${b}]`);
      this.rank.set(a * KEY + b, id);
      const x = this.bytesOf[a]!, y = this.bytesOf[b]!;
      const m = new Uint8Array(x.length + y.length);
      m.set(x); m.set(y, x.length);
      this.bytesOf.push(m);
    });
    if (vocabSize < FIRST_MERGE + merges.length) throw new Error(`vocabSize ${vocabSize} < ${FIRST_MERGE + merges.length}`);
  }

  /** Text → ids. Special-token spellings in the text are ordinary text; specials come only from the API. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const m of text.matchAll(SPLIT)) {
      const chunk = m[0];
      let ids = this.cache.get(chunk);
      if (!ids) {
        ids = this.encodeChunk(utf8.encode(chunk));
        if (this.cache.size > 50_000) this.cache.clear(); // bounded: streams of unique words must not grow memory
        this.cache.set(chunk, ids);
      }
      for (const id of ids) out.push(id);
    }
    return out;
  }

  private encodeChunk(bytes: Uint8Array): number[] {
    let ids = Array.from(bytes);
    for (;;) {
      // the earliest-learned merge present anywhere in the chunk goes first, as in training
      let best = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.rank.get(ids[i]! * KEY + ids[i + 1]!);
        if (r !== undefined && r < best) best = r;
      }
      if (best === Infinity) return ids;
      const [a, b] = this.merges[best - FIRST_MERGE]!;
      const next: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) { next.push(best); i++; } else next.push(ids[i]!);
      }
      ids = next;
    }
  }

  /** Ids → text. Specials print as their names unless skipped; a cut inside a UTF-8 sequence gives U+FFFD. */
  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (const id of ids) {
      if (id >= 256 && id < FIRST_MERGE && opts.skipSpecial) continue;
      const b = this.bytesOf[id];
      if (!b) throw new Error(`token id ${id} outside the vocabulary (${this.bytesOf.length})`);
      parts.push(b);
      n += b.length;
    }
    const all = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { all.set(p, o); o += p.length; }
    return utf8dec.decode(all);
  }

  /** A readable form of one token (for debugging and `mm tokenizer train --json`). */
  tokenString(id: number): string {
    return this.decode([id]);
  }

  toJSON(): TokenizerJSON {
    return { format: 'mm-bpe', version: 1, vocabSize: this.vocabSize, specials: { ...this.special }, merges: this.merges.map(([a, b]) => [a, b]) };
  }

  static fromJSON(j: TokenizerJSON): Tokenizer {
    if (j?.format !== 'mm-bpe' || !Array.isArray(j.merges)) throw new Error('not an mm-bpe tokenizer file');
    return new Tokenizer(j.merges, j.vocabSize);
  }

  save(path: string): void {
    writeFileSync(path, JSON.stringify(this.toJSON()) + '\n');
  }

  static load(path: string): Tokenizer {
    return Tokenizer.fromJSON(JSON.parse(readFileSync(path, 'utf8')) as TokenizerJSON);
  }
}

/**
 * Learns vocabSize − 260 merges from the texts. Words are counted once, then pair counts are updated
 * incrementally for the words a merge touches only, so 512 merges over a few MB take seconds.
 */
export function trainBpe(texts: Iterable<string>, vocabSize: number): Tokenizer {
  if (!Number.isInteger(vocabSize) || vocabSize < FIRST_MERGE) throw new Error(`vocab size must be an integer ≥ ${FIRST_MERGE}`);
  const wordCount = new Map<string, number>();
  for (const t of texts) for (const m of t.matchAll(SPLIT)) wordCount.set(m[0], (wordCount.get(m[0]) ?? 0) + 1);

  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of wordCount) { words.push(Array.from(utf8.encode(w))); counts.push(c); }

  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addWord = (wi: number, sign: 1 | -1) => {
    const w = words[wi]!, c = counts[wi]! * sign;
    for (let i = 0; i + 1 < w.length; i++) {
      const k = w[i]! * KEY + w[i + 1]!;
      const n = (pairCount.get(k) ?? 0) + c;
      if (n === 0) pairCount.delete(k); else pairCount.set(k, n);
      if (sign > 0) {
        let s = where.get(k);
        if (!s) where.set(k, (s = new Set()));
        s.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addWord(wi, 1);

  const merges: [number, number][] = [];
  while (FIRST_MERGE + merges.length < vocabSize) {
    let best = -1, bestN = 0;
    for (const [k, n] of pairCount) if (n > bestN || (n === bestN && k < best)) { best = k; bestN = n; }
    if (best < 0 || bestN < 2) break; // nothing left worth merging: a smaller vocabulary is still valid
    const a = Math.floor(best / KEY), b = best % KEY, id = FIRST_MERGE + merges.length;
    merges.push([a, b]);
    const touched = where.get(best)!;
    where.delete(best);
    for (const wi of touched) {
      addWord(wi, -1);
      const w = words[wi]!, out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) { out.push(id); i++; } else out.push(w[i]!);
      }
      words[wi] = out;
      addWord(wi, 1);
    }
  }
  // stale entries in `where` (words that no longer hold a pair) are harmless: touched words are re-counted
  return new Tokenizer(merges, vocabSize);
}
