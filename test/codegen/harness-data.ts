// Seeded random data for codegen tests and the standalone GPU check (no vitest import here).
import type { Graph } from '../../compiler/ir/graph.js';
import { numel } from '../../compiler/ir/node.js';

/** Seeded uniform in [lo, hi). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo));
  }
  return out;
}
export const randInt = (n: number, seed: number, lo: number, hi: number): Float64Array => rand(n, seed, lo, hi).map(Math.floor);

/** Random feeds for every leaf of the graph that is not a const (ints get [0, intHi)). */
export function randomFeeds(g: Graph, seed = 1, intHi = 4, override: Record<string, Float64Array> = {}): Map<string, Float64Array> {
  const feeds = new Map<string, Float64Array>();
  let k = seed;
  for (const [n, info] of g.leaves) {
    if (info.kind === 'const') continue;
    const name = n.name!;
    feeds.set(name, override[name] ?? (n.dtype === 'i32' || n.dtype === 'u32' ? randInt(numel(n.shape), k++, 0, intHi) : rand(numel(n.shape), k++)));
  }
  return feeds;
}

