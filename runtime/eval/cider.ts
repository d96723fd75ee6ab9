// CIDEr-D exactly as pycocoevalcap's cider_scorer.py computes it (the COCO caption evaluation code that
// papers, MM1 included, report): PTB tokenisation, n-grams 1..4, document frequency over the reference sets of
// the scored images, ref_len = log(#images), tf·(ref_len − log(max(1, df))) vectors, clipped cosine, Gaussian
// length penalty (σ = 6) on the *bigram* count difference (the toolkit's quirk, kept), mean over refs, ×10.

import { cocoTokenize } from './ptb-tokenize.js';

export interface CiderResult<Id> { score: number; perImage: Map<Id, number> }
export interface CiderOptions { n?: number; sigma?: number; tokenize?: boolean }

type Counts = Map<string, number>;

/** precook(): counts of every n-gram (1..n) of a whitespace-split sentence; n-gram key = words joined by ' '. */
export function ngramCounts(sentence: string, n = 4): Counts {
  const words = sentence.split(/\s+/).filter((w) => w.length > 0);
  const counts: Counts = new Map();
  for (let k = 1; k <= n; k++) {
    for (let i = 0; i + k <= words.length; i++) {
      const g = words.slice(i, i + k).join(' ');
      counts.set(g, (counts.get(g) ?? 0) + 1);
    }
  }
  return counts;
}

const order = (gram: string): number => gram.split(' ').length - 1; // 0-based n-gram order

interface Vec { vec: Map<string, number>[]; norm: number[]; length: number }

/**
 * CIDEr-D over the images that have a prediction (COCOEvalCap scores `cocoRes.getImgIds()`).
 * Captions are PTB-tokenised unless `tokenize: false` (then they must already be space-separated tokens).
 */
export function ciderD<Id>(refs: Map<Id, string[]>, preds: Map<Id, string>, options: CiderOptions = {}): CiderResult<Id> {
  const n = options.n ?? 4;
  const sigma = options.sigma ?? 6.0;
  const tok = options.tokenize === false ? (s: string) => s : cocoTokenize;

  const ids = [...preds.keys()];
  const crefs: Counts[][] = [];
  const ctest: Counts[] = [];
  for (const id of ids) {
    const r = refs.get(id);
    if (!r || r.length === 0) throw new Error(`no reference captions for image ${String(id)}`);
    crefs.push(r.map((s) => ngramCounts(tok(s), n)));
    ctest.push(ngramCounts(tok(preds.get(id)!), n));
  }

  // compute_doc_freq(): in how many images' reference sets each n-gram occurs.
  const df = new Map<string, number>();
  for (const rs of crefs) {
    const seen = new Set<string>();
    for (const r of rs) for (const g of r.keys()) seen.add(g);
    for (const g of seen) df.set(g, (df.get(g) ?? 0) + 1);
  }
  const refLen = Math.log(crefs.length);

  const counts2vec = (cnts: Counts): Vec => {
    const vec = Array.from({ length: n }, () => new Map<string, number>());
    const norm = new Array<number>(n).fill(0);
    let length = 0;
    for (const [g, tf] of cnts) {
      const idf = Math.log(Math.max(1, df.get(g) ?? 0));
      const k = order(g);
      const w = tf * (refLen - idf);
      vec[k]!.set(g, w);
      norm[k]! += w * w;
      if (k === 1) length += tf; // sic: the toolkit counts bigrams as the "length"
    }
    return { vec, norm: norm.map(Math.sqrt), length };
  };

  const sim = (h: Vec, r: Vec): number[] => {
    const delta = h.length - r.length;
    const val = new Array<number>(n).fill(0);
    for (let k = 0; k < n; k++) {
      for (const [g, wh] of h.vec[k]!) {
        const wr = r.vec[k]!.get(g) ?? 0;
        val[k]! += Math.min(wh, wr) * wr; // clipping (the "-D")
      }
      if (h.norm[k] !== 0 && r.norm[k] !== 0) val[k]! /= h.norm[k]! * r.norm[k]!;
      val[k]! *= Math.exp(-(delta * delta) / (2 * sigma * sigma));
    }
    return val;
  };

  const perImage = new Map<Id, number>();
  let total = 0;
  ids.forEach((id, i) => {
    const h = counts2vec(ctest[i]!);
    const score = new Array<number>(n).fill(0);
    for (const r of crefs[i]!) {
      const s = sim(h, counts2vec(r));
      for (let k = 0; k < n; k++) score[k]! += s[k]!;
    }
    const avg = (score.reduce((a, b) => a + b, 0) / n / crefs[i]!.length) * 10;
    perImage.set(id, avg);
    total += avg;
  });
  return { score: ids.length ? total / ids.length : 0, perImage };
}
