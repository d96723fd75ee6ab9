// The seeded PRNG of the evaluation code (sfc32 seeded through splitmix32, plus FNV-1a to mix string keys),
// so few-shot demonstrations and sampled decodes are reproducible from (seed, query id) alone, whatever the
// order or parallelism in which queries are evaluated. Math.random is never used here.

/** FNV-1a 32-bit hash of a string: turns a query id into seed material. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

export class Prng {
  private a: number; private b: number; private c: number; private d: number;

  /** `seed` and optional `key` (e.g. a query id) give an independent stream per (seed, key). */
  constructor(seed: number, key?: string | number) {
    let x = (seed ^ (key === undefined ? 0 : hash32(String(key)))) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  float(): number { return this.u32() / 4294967296; }

  /** k distinct indices of [0, n) in random order (partial Fisher–Yates). */
  sampleIndices(n: number, k: number): number[] {
    const idx = Array.from({ length: n }, (_, i) => i);
    const m = Math.min(k, n);
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(this.float() * (n - i));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    return idx.slice(0, m);
  }
}
