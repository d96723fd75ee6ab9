// Decoding on a toy model (a fixed random table of next-token log-probs that depends on the last token):
// beam search wide enough to keep every prefix must equal brute-force search over all sequences; width 1
// without stop tokens is greedy; sampling is seeded, respects top-p and temperature 0.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { beamSearch, greedy, sample, sampleToken, type StepFn } from '../../runtime/eval/beam.js';
import { Prng } from '../../runtime/eval/prng.js';

/** Row-normalised log-probs: table[last][next]; `last` = -1 (the empty prefix) uses row V. */
function toyModel(V: number, seed: number): { step: StepFn; table: Float64Array[]; calls: { n: number } } {
  const rng = new Prng(seed);
  const table = Array.from({ length: V + 1 }, () => {
    const logits = Array.from({ length: V }, () => 3 * rng.float());
    const z = Math.log(logits.reduce((a, l) => a + Math.exp(l), 0));
    return Float64Array.from(logits, (l) => l - z);
  });
  const calls = { n: 0 };
  const step: StepFn = async (prefixes) => { calls.n++; return prefixes.map((p) => table[p.length ? p[p.length - 1]! : V]!); };
  return { step, table, calls };
}

/** Every sequence that ends at a stop token or at maxLen, with its total log-prob. */
function bruteForce(table: Float64Array[], V: number, maxLen: number, stops: Set<number>): { tokens: number[]; logProb: number }[] {
  const out: { tokens: number[]; logProb: number }[] = [];
  const walk = (tokens: number[], lp: number) => {
    if (tokens.length === maxLen || (tokens.length && stops.has(tokens[tokens.length - 1]!))) { out.push({ tokens, logProb: lp }); return; }
    const row = table[tokens.length ? tokens[tokens.length - 1]! : V]!;
    for (let t = 0; t < V; t++) walk([...tokens, t], lp + row[t]!);
  };
  walk([], 0);
  return out;
}

describe('beam search', () => {
  it('equals exhaustive search when the beam keeps every prefix (with and without stop tokens, length penalty)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer(), fc.boolean(), fc.constantFrom(0, 1),
      async (V, L, seed, withStop, alpha) => {
        const { step, table } = toyModel(V, seed);
        const stops = new Set(withStop ? [0] : []);
        const all = bruteForce(table, V, L, stops).map((s) => ({ ...s, score: alpha ? s.logProb / s.tokens.length : s.logProb }));
        all.sort((a, b) => b.score - a.score);
        const [best] = await beamSearch(step, [], { beamWidth: V ** Math.max(0, L - 1), maxNewTokens: L, stopTokens: [...stops], lengthPenalty: alpha });
        expect(best!.score).toBeCloseTo(all[0]!.score, 12);
        expect(best!.logProb).toBeCloseTo(all.find((s) => s.tokens.join() === best!.tokens.join())!.logProb, 12);
      }), { numRuns: 150 });
  });

  it('tells the model which previous prefix each new one extends (for KV-cache reordering)', async () => {
    const { step: inner } = toyModel(4, 11);
    let prev: number[][] = [];
    let checked = 0;
    const step: StepFn = async (prefixes, parents) => {
      expect(parents).toHaveLength(prefixes.length);
      prefixes.forEach((p, i) => {
        if (parents[i] === -1) expect(p).toEqual([2, 3]);
        else { expect(p.slice(0, -1)).toEqual(prev[parents[i]!]); checked++; }
      });
      prev = prefixes;
      return inner(prefixes, parents);
    };
    await beamSearch(step, [2, 3], { beamWidth: 3, maxNewTokens: 5, stopTokens: [0] });
    await greedy(step, [2, 3], { maxNewTokens: 3 });
    expect(checked).toBeGreaterThan(2);
  });

  it('returns the n best in order', async () => {
    const V = 3, L = 3;
    const { step, table } = toyModel(V, 7);
    const all = bruteForce(table, V, L, new Set()).sort((a, b) => b.logProb - a.logProb);
    const beams = await beamSearch(step, [], { beamWidth: 9, maxNewTokens: L, numReturn: 5 });
    expect(beams.map((b) => b.tokens)).toEqual(all.slice(0, 5).map((s) => s.tokens));
  });

  it('width 1 without stop tokens is greedy', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const { step } = toyModel(5, seed);
      const g = await greedy(step, [1, 2], { maxNewTokens: 6 });
      const [b] = await beamSearch(step, [1, 2], { beamWidth: 1, maxNewTokens: 6 });
      expect(b!.tokens).toEqual(g.tokens);
      expect(b!.logProb).toBeCloseTo(g.logProb, 12);
    }
  });

  it('stops early once the finished beams beat every live one', async () => {
    // Token 0 is a stop token with probability ~1 from the start: one step decides.
    const row = Float64Array.from([Math.log(0.98), Math.log(0.01), Math.log(0.01)]);
    let calls = 0;
    const step: StepFn = async (p) => { calls++; return p.map(() => row); };
    const [b] = await beamSearch(step, [], { beamWidth: 2, maxNewTokens: 20, stopTokens: [0] });
    expect(b!.tokens).toEqual([0]);
    expect(calls).toBeLessThanOrEqual(2);
  });
});

describe('greedy and sampling', () => {
  it('greedy stops after a stop token and respects maxNewTokens', async () => {
    const row = Float64Array.from([Math.log(0.1), Math.log(0.6), Math.log(0.3)]);
    const step: StepFn = async (p) => p.map((x) => (x.length >= 3 ? Float64Array.from([0, -5, -5]) : row));
    expect((await greedy(step, [], { maxNewTokens: 10, stopTokens: [0] })).tokens).toEqual([1, 1, 1, 0]);
    expect((await greedy(step, [], { maxNewTokens: 2 })).tokens).toEqual([1, 1]);
  });

  it('sampling is deterministic per seed; temperature 0 and a tiny top-p are greedy', async () => {
    const { step } = toyModel(6, 3);
    const a = await sample(step, [0], { maxNewTokens: 8, seed: 42 });
    const b = await sample(step, [0], { maxNewTokens: 8, seed: 42 });
    expect(a).toEqual(b);
    const g = await greedy(step, [0], { maxNewTokens: 8 });
    expect((await sample(step, [0], { maxNewTokens: 8, seed: 1, temperature: 0 })).tokens).toEqual(g.tokens);
    expect((await sample(step, [0], { maxNewTokens: 8, seed: 1, topP: 1e-9 })).tokens).toEqual(g.tokens);
  });

  it('draws with the model probabilities at T = 1 and only from the nucleus under top-p', () => {
    const p = [0.5, 0.3, 0.15, 0.05];
    const lp = Float64Array.from(p, Math.log);
    const rng = new Prng(9);
    const n = 40000;
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) counts[sampleToken(lp, 1, 1, rng)]!++;
    counts.forEach((c, i) => expect(Math.abs(c / n - p[i]!)).toBeLessThan(0.01));
    // top-p 0.7: the nucleus is {0, 1} (0.5 + 0.3 ≥ 0.7), renormalised to 5/8 and 3/8.
    const nucleus = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) nucleus[sampleToken(lp, 1, 0.7, rng)]!++;
    expect(nucleus[2]! + nucleus[3]!).toBe(0);
    expect(Math.abs(nucleus[0]! / n - 5 / 8)).toBeLessThan(0.01);
  });
});
