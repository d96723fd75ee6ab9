// Seeded random data for codegen tests and the standalone GPU check (no vitest import here).
import type { Graph } from '../../compiler/ir/graph.js';
import { numel } from '../../compiler/ir/node.js';
import { rng } from '../helpers/random.js';

/** Seeded uniform in [lo, hi). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const next = rng(seed);
  return Float64Array.from({ length: n }, () => lo + next() * (hi - lo));
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

