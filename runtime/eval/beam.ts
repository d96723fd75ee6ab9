// Decoding strategies over an abstract model: `step(prefixes)` returns, for each token prefix, the log-probs
// of the next token (length = vocab). Greedy, temperature + top-p sampling (seeded) and beam search; the
// generator supplies `step` (with its KV cache), the evaluator picks the strategy (MM1: greedy or beam 3).

import { Prng } from './prng.js';

/**
 * Log-probs of the next token for each prefix (prompt + generated so far). `parents[i]` is the index, in the
 * previous call's prefixes, of the prefix that prefixes[i] extends by one token (-1 on the first call), so a
 * generator can reorder its KV cache rows instead of recomputing them.
 */
export type StepFn = (prefixes: number[][], parents: number[]) => Promise<Float64Array[]>;

export interface DecodeOptions {
  maxNewTokens: number;
  /** Generation ends after emitting one of these (the stop token is included in `tokens`). */
  stopTokens?: readonly number[];
}
export interface Decoded { tokens: number[]; logProb: number }

function argmax(x: Float64Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

export async function greedy(step: StepFn, prompt: readonly number[], opts: DecodeOptions): Promise<Decoded> {
  const stops = new Set(opts.stopTokens ?? []);
  const tokens: number[] = [];
  let logProb = 0;
  for (let t = 0; t < opts.maxNewTokens; t++) {
    const [lp] = await step([[...prompt, ...tokens]], [t === 0 ? -1 : 0]);
    const next = argmax(lp!);
    tokens.push(next);
    logProb += lp![next]!;
    if (stops.has(next)) break;
  }
  return { tokens, logProb };
}

export interface SampleOptions extends DecodeOptions { temperature?: number; topP?: number; seed: number }

/** Index drawn from log-probs after temperature and nucleus (top-p) truncation. */
export function sampleToken(lp: Float64Array, temperature: number, topP: number, rng: Prng): number {
  if (temperature <= 0) return argmax(lp);
  let max = -Infinity;
  for (const v of lp) if (v > max) max = v;
  const p = Array.from(lp, (v, i) => ({ i, p: Math.exp((v - max) / temperature) }));
  const z = p.reduce((a, b) => a + b.p, 0);
  p.forEach((e) => { e.p /= z; });
  p.sort((a, b) => b.p - a.p || a.i - b.i);
  // Smallest prefix of the sorted distribution whose mass reaches topP (always at least one token).
  let keep = 0;
  let mass = 0;
  while (keep < p.length && (keep === 0 || mass < topP)) mass += p[keep++]!.p;
  let u = rng.float() * mass;
  for (let j = 0; j < keep; j++) { u -= p[j]!.p; if (u < 0) return p[j]!.i; }
  return p[keep - 1]!.i;
}

export async function sample(step: StepFn, prompt: readonly number[], opts: SampleOptions): Promise<Decoded> {
  const stops = new Set(opts.stopTokens ?? []);
  const rng = new Prng(opts.seed);
  const tokens: number[] = [];
  let logProb = 0;
  for (let t = 0; t < opts.maxNewTokens; t++) {
    const [lp] = await step([[...prompt, ...tokens]], [t === 0 ? -1 : 0]);
    const next = sampleToken(lp!, opts.temperature ?? 1, opts.topP ?? 1, rng);
    tokens.push(next);
    logProb += lp![next]!;
    if (stops.has(next)) break;
  }
  return { tokens, logProb };
}

export interface BeamOptions extends DecodeOptions {
  beamWidth: number;
  /** Score = logProb / length^lengthPenalty; 0 (the default) is no length normalisation. */
  lengthPenalty?: number;
  /** How many finished hypotheses to return (default 1, at most beamWidth). */
  numReturn?: number;
}
export interface Beam extends Decoded { score: number }

/**
 * Beam search. Hypotheses that emit a stop token (or reach maxNewTokens) are finished; the search ends when no
 * live beam remains, or — without length normalisation, where scores only fall — when the best finished score
 * beats every live one. With beamWidth ≥ vocab^(maxNewTokens−1) it is an exhaustive search.
 */
export async function beamSearch(step: StepFn, prompt: readonly number[], opts: BeamOptions): Promise<Beam[]> {
  const w = Math.max(1, opts.beamWidth);
  const alpha = opts.lengthPenalty ?? 0;
  const stops = new Set(opts.stopTokens ?? []);
  const r = Math.max(1, Math.min(w, opts.numReturn ?? 1));
  const score = (logProb: number, len: number) => (alpha === 0 ? logProb : logProb / Math.pow(Math.max(1, len), alpha));
  let live: (Decoded & { parent: number })[] = [{ tokens: [], logProb: 0, parent: -1 }];
  const finished: Beam[] = [];
  const addFinished = (d: Decoded) => {
    finished.push({ tokens: d.tokens, logProb: d.logProb, score: score(d.logProb, d.tokens.length) });
    finished.sort((a, b) => b.score - a.score);
    if (finished.length > w) finished.length = w;
  };
  for (let t = 0; t < opts.maxNewTokens && live.length > 0; t++) {
    const lps = await step(live.map((b) => [...prompt, ...b.tokens]), live.map((b) => b.parent));
    if (lps.length !== live.length || lps.some((r) => !r)) throw new Error(`step returned ${lps.length} rows for ${live.length} prefixes`);
    const last = t === opts.maxNewTokens - 1;
    // Only each beam's w best continuing tokens (and its stop tokens) can survive the step: select those in
    // O(vocab·w) instead of sorting beams × vocab candidates.
    const cands: { beam: number; tok: number; logProb: number }[] = [];
    live.forEach((b, bi) => {
      const top: { tok: number; v: number }[] = [];
      lps[bi]!.forEach((v, tok) => {
        if (!(v > -Infinity)) return;
        if (stops.has(tok) && !last) { cands.push({ beam: bi, tok, logProb: b.logProb + v }); return; }
        if (top.length === w && v <= top[w - 1]!.v) return;
        let j = Math.min(top.length, w - 1);
        while (j > 0 && top[j - 1]!.v < v) j--;
        top.splice(j, 0, { tok, v });
        if (top.length > w) top.pop();
      });
      for (const e of top) cands.push({ beam: bi, tok: e.tok, logProb: b.logProb + e.v });
    });
    // Ties broken by (beam, token) so results do not depend on sort stability.
    cands.sort((a, b) => b.logProb - a.logProb || a.beam - b.beam || a.tok - b.tok);
    const next: (Decoded & { parent: number })[] = [];
    const worst = () => (finished.length >= w ? finished[finished.length - 1]!.score : -Infinity);
    for (const c of cands) {
      const tokens = () => [...live[c.beam]!.tokens, c.tok];
      if (stops.has(c.tok) || last) {
        const len = live[c.beam]!.tokens.length + 1;
        if (score(c.logProb, len) > worst()) addFinished({ tokens: tokens(), logProb: c.logProb });
      } else if (next.length < w) next.push({ tokens: tokens(), logProb: c.logProb, parent: c.beam });
      // Sorted candidates: once both lists are full and this one cannot enter `finished`, none after it can.
      if (alpha === 0 && (next.length >= w || last) && c.logProb < worst()) break;
    }
    live = next;
    // The r-th best finished already beats every live beam: extending a beam only lowers its log-prob.
    if (alpha === 0 && finished.length >= r && live.length > 0 && finished[r - 1]!.score >= Math.max(...live.map((b) => b.logProb))) live = [];
  }
  for (const d of live) addFinished({ tokens: d.tokens, logProb: d.logProb });
  return finished.slice(0, r);
}
