// The .mm language as a library: parse, check (with imports and `--set` overrides), format, render
// diagnostics, and count parameters/FLOPs/memory. Nothing here throws on user input; the file system is
// reached only through `readFile` (default: compiler/semantics/host.ts).

import { hasErrors, type Diagnostic, type Result } from './diagnostics/types.js';
import { renderDiagnostics } from './diagnostics/render.js';
import type { Ast } from './syntax/ast.js';
import { formatSource as formatTokens } from './syntax/format.js';
import { parse } from './syntax/toAst.js';
import { checkProgram } from './semantics/check.js';
import { currentDir, readFileFromDisk } from './semantics/host.js';
import { dirname, join, resolvePath } from './semantics/paths.js';
import { loadProgram } from './semantics/resolve.js';
import type { ResolvedSpec } from './semantics/spec.js';

export { renderDiagnostics, hasErrors };
export { diagnosticLine } from './diagnostics/render.js';
export { countParams, flopsPerToken, memoryEstimate, mm1LearningRate } from './semantics/counts.js';
export type { ParamCounts, Flops, MemoryEstimate } from './semantics/counts.js';
export type { Ast, Diagnostic, Result, ResolvedSpec };

export interface CheckOptions {
  overrides?: Record<string, string>;
  readFile?: (absPath: string) => string | undefined;
  projectRoot?: string;
}

export function parseSpec(source: string, file: string): Result<Ast> {
  const r = guard(() => parse(source, file), file);
  return { value: r.value, diagnostics: r.diagnostics };
}

export function formatSource(source: string, file: string): Result<string> {
  return guard(() => formatTokens(source, file), file);
}

/** Check a spec plus everything it imports; also returns every source read, for rendering diagnostics. */
export function checkWithSources(source: string, file: string, opts: CheckOptions = {}): Result<ResolvedSpec> & { sources: Map<string, string> } {
  const readFile = opts.readFile ?? readFileFromDisk;
  const abs = resolvePath(currentDir(), file);
  const projectRoot = opts.projectRoot !== undefined ? resolvePath(currentDir(), opts.projectRoot) : findProjectRoot(abs, readFile);
  const sources = new Map<string, string>([[file, source]]);
  const r = guard(() => {
    const program = loadProgram(abs, file, source, { readFile, projectRoot });
    for (const [k, v] of program.sources) sources.set(k, v);
    return checkProgram(program, opts.overrides ?? {});
  }, file);
  return { ...r, sources };
}

export function checkSource(source: string, file: string, opts: CheckOptions = {}): Result<ResolvedSpec> {
  const { value, diagnostics } = checkWithSources(source, file, opts);
  return { value, diagnostics };
}

export function checkFile(path: string, opts: CheckOptions = {}): Result<ResolvedSpec> & { sources: Map<string, string> } {
  const readFile = opts.readFile ?? readFileFromDisk;
  const text = readFile(resolvePath(currentDir(), path));
  if (text === undefined) {
    return { value: undefined, diagnostics: [{ code: 'MM1101', severity: 'error', message: `cannot read \`${path}\``, hint: 'check the path' }], sources: new Map() };
  }
  return checkWithSources(text, path, opts);
}

/** The project root: the nearest folder above the spec with a package.json or an `mm.project` marker. */
export function findProjectRoot(absFile: string, readFile: (p: string) => string | undefined): string {
  let dir = dirname(absFile);
  for (;;) {
    if (readFile(join(dir, 'package.json')) !== undefined || readFile(join(dir, 'mm.project')) !== undefined) return dir;
    const up = dirname(dir);
    if (up === dir) return dirname(absFile);
    dir = up;
  }
}

/** Last line of defence: a bug in the front end becomes a diagnostic, never an exception. */
function guard<T>(fn: () => Result<T>, file: string): Result<T> {
  try {
    return fn();
  } catch (e) {
    const d: Diagnostic = {
      code: 'MM9999', severity: 'error', message: `internal error in the .mm front end: ${(e as Error)?.message ?? String(e)}`,
      hint: 'this is a bug in mm; please report it with the spec', span: { file, start: 0, end: 0, line: 1, col: 1, endLine: 1, endCol: 1 },
    };
    return { value: undefined, diagnostics: [d] };
  }
}

export const isOk = (r: Result<unknown>): boolean => !hasErrors(r.diagnostics);
