// Tiny POSIX path helpers, so the compiler needs no `node:path` and stays embeddable (a browser, a worker).

export function normalize(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') { if (out.length && out[out.length - 1] !== '..') out.pop(); else if (!abs) out.push('..'); continue; }
    out.push(part);
  }
  return (abs ? '/' : '') + out.join('/') || (abs ? '/' : '.');
}
export const dirname = (p: string): string => {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
};
export const join = (...ps: string[]): string => normalize(ps.filter((p) => p !== '').join('/'));
export const resolvePath = (base: string, p: string): string => (p.startsWith('/') ? normalize(p) : join(base, p));
/** Is `p` inside (or equal to) `root`? Both absolute and normalized. */
export const isInside = (root: string, p: string): boolean => root === '/' || p === root || p.startsWith(root + '/');
export function relative(from: string, to: string): string {
  const a = normalize(from).split('/').filter(Boolean);
  const b = normalize(to).split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...Array(a.length - i).fill('..'), ...b.slice(i)].join('/') || '.';
}
