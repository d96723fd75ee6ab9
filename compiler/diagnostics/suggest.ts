// Closest-name suggestions for misspelt fields, params, blocks and enum values (Damerau-Levenshtein with a
// length-scaled cut-off, so `widht` suggests `width` but `x` suggests nothing).

export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[m]![n]!;
}

/** The closest candidate, or undefined when nothing is plausibly what the user meant. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  if (name.length > 64) return undefined;
  const norm = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (norm(c) === norm(name)) return c;
    const dist = editDistance(name.toLowerCase(), c.toLowerCase());
    if (dist < bestD) { bestD = dist; best = c; }
  }
  const limit = Math.max(1, Math.floor(name.length / 3));
  return bestD <= limit ? best : undefined;
}

export const didYouMean = (name: string, candidates: Iterable<string>): string | undefined => {
  const c = closest(name, candidates);
  return c === undefined ? undefined : `did you mean \`${c}\`?`;
};
