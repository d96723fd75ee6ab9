// Deterministic parameter initialisation: the values of a leaf depend only on (seed, name, shape, init),
// never on declaration order, so adding a layer does not reshuffle the others. splitmix32 seeded from an
// FNV-1a hash of the name; Box–Muller normals; truncated normal by resampling outside ±truncate·std.

import type { Shape } from './node.js';
import { numel } from './node.js';
import type { Init } from './graph.js';

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}

/** splitmix32: a small, well-mixed 32-bit generator. */
export function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Uniform in (0, 1) with 53 random bits. */
function uniform(next: () => number): () => number {
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6) + 0.5) / 9007199254740992;
}

export function initLeaf(name: string, shape: Shape, init: Init, seed: number): Float64Array {
  const n = numel(shape);
  switch (init.kind) {
    case 'zeros': return new Float64Array(n);
    case 'ones': return new Float64Array(n).fill(1);
    case 'const': return new Float64Array(n).fill(init.value);
    case 'normal': {
      const u = uniform(splitmix32(fnv1a(name) ^ Math.imul(seed >>> 0, 0x27d4eb2d)));
      const lim = init.truncate ?? 2;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let z: number;
        do z = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());   // Box–Muller
        while (lim > 0 && Math.abs(z) > lim);
        out[i] = z * init.std;
      }
      return out;
    }
  }
}
