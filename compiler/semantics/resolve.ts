// Loading a program: the root file and every file it imports (relative paths inside the project only, cycles
// are errors), each parsed once, and the names each file can see: its own blocks and params plus the blocks
// of the files it imports directly. Reads files only through the injected `readFile`.

import { diag } from '../diagnostics/catalog.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { Diagnostic } from '../diagnostics/types.js';
import type { Ast, BlockDecl, ParamDecl } from '../syntax/ast.js';
import { parse } from '../syntax/toAst.js';
import { LineMap } from '../syntax/span.js';
import { dirname, isInside, relative, resolvePath } from './paths.js';
import { blockKinds, type BlockKind } from './schema.js';

export type ParamType = 'int' | 'float' | 'string' | 'bool';
export const paramTypes: ParamType[] = ['int', 'float', 'string', 'bool'];

export interface ParamInfo { name: string; type: ParamType; decl: ParamDecl; module: Module; used: boolean }
export interface BlockDef { kind: BlockKind; name: string; decl: BlockDecl; module: Module }

export interface Module {
  abs: string;
  display: string;                 // the path shown in diagnostics
  source: string;
  ast: Ast | undefined;
  params: Map<string, ParamInfo>;
  blocks: Map<string, BlockDef>;   // visible: own + directly imported
  own: BlockDef[];
  singles: BlockDecl[];            // train / eval blocks (no name)
}

export interface Program { root: Module; modules: Map<string, Module>; sources: Map<string, string>; diagnostics: Diagnostic[] }

export interface LoadOptions { readFile: (abs: string) => string | undefined; projectRoot: string }

const named: BlockKind[] = ['encoder', 'connector', 'decoder', 'model', 'data', 'sweep'];
const templated: BlockKind[] = ['encoder', 'connector', 'decoder'];

export function loadProgram(rootAbs: string, rootDisplay: string, source: string, opts: LoadOptions): Program {
  const modules = new Map<string, Module>();
  const sources = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  const rootDir = dirname(rootAbs);
  // Imported files are shown relative to how the user named the root file.
  const displayOf = (abs: string): string => {
    const rel = relative(rootDir, abs);
    const base = dirname(rootDisplay);
    return base === '.' ? rel : resolveDisplay(base, rel);
  };

  const load = (abs: string, display: string, text: string, stack: string[]): Module => {
    const parsed = parse(text, display);
    diagnostics.push(...parsed.diagnostics);
    sources.set(display, text);
    const m: Module = { abs, display, source: text, ast: parsed.value, params: new Map(), blocks: new Map(), own: [], singles: [] };
    modules.set(abs, m);
    const ast = parsed.value;
    if (!ast) return m;
    const lines = new LineMap(display, text);
    if (!ast.header && !parsed.diagnostics.some((d) => d.code === 'MM0108')) diagnostics.push(diag('missingHeader', lines.span(0, 0)));
    else if (ast.header && ast.header.version !== 1) diagnostics.push(diag('badVersion', ast.header.span, { version: ast.header.version }));

    const imported: Module[] = [];
    for (const item of ast.items) {
      if (item.kind !== 'import') continue;
      if (!item.path.endsWith('.mm') || item.path.startsWith('/')) {
        diagnostics.push(diag('importNotMm', item.pathSpan, { path: item.path }));
        continue;
      }
      const target = resolvePath(dirname(abs), item.path);
      if (!isInside(opts.projectRoot, target)) {
        // The root is shown relative to the importing file, so the message reads the same on every machine.
        diagnostics.push(diag('importOutside', item.pathSpan, { path: item.path, root: relative(dirname(abs), opts.projectRoot) }));
        continue;
      }
      if (stack.includes(target)) {
        const chain = [...stack.slice(stack.indexOf(target)), target].map((p) => displayOf(p));
        diagnostics.push(diag('importCycle', item.pathSpan, { cycle: chain.join(' → ') }));
        continue;
      }
      let mod = modules.get(target);
      if (!mod) {
        const txt = opts.readFile(target);
        if (txt === undefined) {
          diagnostics.push(diag('importNotFound', item.pathSpan, { path: item.path }));
          continue;
        }
        mod = load(target, displayOf(target), txt, [...stack, target]);
      }
      if (!imported.includes(mod)) imported.push(mod);
    }

    for (const mod of imported) {
      for (const b of mod.own) {
        const prev = m.blocks.get(b.name);
        if (prev && prev !== b) {
          diagnostics.push({ ...diag('duplicateBlock', findImportSpan(ast, mod, abs) ?? b.decl.nameSpan, { name: b.name }), related: [{ message: 'the other definition', span: prev.decl.nameSpan ?? prev.decl.kindSpan }] });
        } else m.blocks.set(b.name, b);
      }
    }
    for (const item of ast.items) {
      if (item.kind === 'param') {
        if (m.params.has(item.name)) { diagnostics.push(diag('duplicateParam', item.nameSpan, { name: item.name })); continue; }
        let type: ParamType = 'float';
        if (item.type !== undefined) {
          if ((paramTypes as string[]).includes(item.type)) type = item.type as ParamType;
          else diagnostics.push(diag('unknownParamType', item.typeSpan, { type: item.type, suggest: didYouMean(item.type, paramTypes) ?? '' }));
        } else if (item.value?.kind === 'str') type = 'string';
        else if (item.value?.kind === 'num' && Number.isInteger(item.value.value) && !/[.eE]/.test(item.value.text)) type = 'int';
        else if (item.value?.kind === 'path' && (item.value.parts[0] === 'true' || item.value.parts[0] === 'false')) type = 'bool';
        m.params.set(item.name, { name: item.name, type, decl: item, module: m, used: false });
        continue;
      }
      if (item.kind !== 'block') continue;
      const kind = item.blockKind as BlockKind;
      if (!blockKinds.includes(kind)) {
        diagnostics.push(diag('unknownBlockKind', item.kindSpan, { kind: item.blockKind, suggest: didYouMean(item.blockKind, blockKinds) ?? '' }));
        continue;
      }
      if (item.base !== undefined && !templated.includes(kind)) diagnostics.push(diag('unusedBase', item.baseSpan, { kind }));
      if (!named.includes(kind)) {
        if (item.name !== undefined) diagnostics.push(diag('singletonNamed', item.nameSpan, { kind }));
        m.singles.push(item);
        continue;
      }
      if (item.name === undefined) {
        diagnostics.push(diag('blockNeedsName', item.kindSpan, { kind, builtin: templated.includes(kind) ? (item.base ?? 'KIND') : '' }));
        continue;
      }
      const def: BlockDef = { kind, name: item.name, decl: item, module: m };
      const prev = m.blocks.get(item.name);
      if (prev) {
        diagnostics.push({ ...diag('duplicateBlock', item.nameSpan, { name: item.name }), related: [{ message: 'first defined here', span: prev.decl.nameSpan ?? prev.decl.kindSpan }] });
        continue;
      }
      m.blocks.set(item.name, def);
      m.own.push(def);
    }
    return m;
  };

  const root = load(rootAbs, rootDisplay, source, [rootAbs]);
  return { root, modules, sources, diagnostics };
}

function resolveDisplay(base: string, rel: string): string {
  if (base.startsWith('/')) return resolvePath(base, rel);
  const joined = resolvePath(base.startsWith('/') ? base : '/__rel__/' + base, rel);
  return joined.startsWith('/__rel__/') ? joined.slice('/__rel__/'.length) : joined.startsWith('/__rel__') ? '.' : rel;
}

function findImportSpan(ast: Ast, mod: Module, fromAbs: string): import('../diagnostics/types.js').Span | undefined {
  for (const it of ast.items) if (it.kind === 'import' && resolvePath(dirname(fromAbs), it.path) === mod.abs) return it.pathSpan;
  return undefined;
}
