// Shared by `mm check`, `mm fmt` and `mm inspect`: expanding FILE arguments (files, folders, simple globs
// like `specs/**/*.mm`) and parsing `--set k=v` overrides, with user errors instead of stack traces.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from './io.js';

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (name.endsWith('.mm')) out.push(p);
  }
}

function globToRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*' && glob[i + 1] === '*') { re += '.*'; i++; if (glob[i + 1] === '/') i++; }
    else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files named on the command line; folders are searched for `.mm` files; `*` and `**` are expanded. */
export function expandFiles(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (a.includes('*') || a.includes('?')) {
      const base = a.slice(0, a.search(/[*?]/)).replace(/[^/]*$/, '') || '.';
      const all: string[] = [];
      try { walk(base, all); } catch { throw new UserError(`no such folder: ${base}`); }
      const re = globToRegex(a.startsWith('./') ? a.slice(2) : a);
      const hits = all.map((p) => p.replace(/^\.\//, '')).filter((p) => re.test(p) || re.test(p.replace(/^(?:\.\/)?/, '')));
      if (!hits.length) throw new UserError(`no .mm files match ${a}`);
      out.push(...hits);
      continue;
    }
    let st;
    try { st = statSync(a); } catch { throw new UserError(`no such file: ${a}`); }
    if (st.isDirectory()) {
      const before = out.length;
      walk(a, out);
      // As with a glob that matches nothing: checking or formatting nothing is almost always a wrong path.
      if (out.length === before) throw new UserError(`no .mm files in ${a}`);
    } else out.push(a);
  }
  return [...new Set(out)];
}

export function parseSets(sets: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UserError(`--set needs name=value, got '${s}'`);
    out[s.slice(0, eq).trim()] = s.slice(eq + 1);
  }
  return out;
}

export const useColor = (): boolean => !process.env.NO_COLOR && Boolean(process.stderr.isTTY);
