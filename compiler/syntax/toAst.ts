// Source → AST: lex, guard against pathological nesting, parse with recovery, then walk the CST into the
// AST of ast.ts. Syntax diagnostics get their block context here ("… in `connector`"); tokens inserted by
// Chevrotain's recovery never reach the AST.

import type { CstNode, IToken } from 'chevrotain';
import { diag } from '../diagnostics/catalog.js';
import type { Diagnostic, Result, Span } from '../diagnostics/types.js';
import type { Ast, Atom, BlockDecl, Comment, Entry, Item } from './ast.js';
import { getParser } from './parser.js';
import { LineMap } from './span.js';
import { BadNumber, mmLexer, NumberLit, StringLit, UnterminatedComment, UnterminatedString } from './tokens.js';

export const MAX_DEPTH = 32;
const blockWords = new Set(['encoder', 'connector', 'decoder', 'model', 'data', 'train', 'eval', 'sweep', 'param', 'import']);
const MAX_SYNTAX_ERRORS = 50;

export interface Lexed { tokens: IToken[]; comments: IToken[]; diagnostics: Diagnostic[]; lines: LineMap }

export function lex(source: string, file: string): Lexed {
  const lines = new LineMap(file, source);
  const out = mmLexer.tokenize(source);
  const diagnostics: Diagnostic[] = [];
  let lastErrEnd = -1;
  for (const err of out.errors) {
    // Chevrotain reports a run of unknown characters once; keep one diagnostic per run.
    if (err.offset <= lastErrEnd) continue;
    lastErrEnd = err.offset + err.length;
    diagnostics.push(diag('badChar', lines.span(err.offset, err.offset + 1), { char: source[err.offset] ?? '?' }));
  }
  for (const t of out.tokens) {
    const sp = lines.span(t.startOffset, t.startOffset + t.image.length);
    if (t.tokenType.name === 'UnterminatedString') diagnostics.push(diag('unterminatedString', sp));
    else if (t.tokenType.name === 'UnterminatedComment') diagnostics.push(diag('unterminatedComment', lines.span(t.startOffset, t.startOffset + 2)));
    else if (t.tokenType.name === 'BadNumber') diagnostics.push(diag('badNumber', sp, { text: t.image }));
  }
  const comments = (out.groups['comments'] ?? []).filter((t) => t.tokenType.name !== 'UnterminatedComment');
  return { tokens: out.tokens, comments, diagnostics, lines };
}


/** Parse a .mm source. Never throws; on syntax errors the AST holds what could be recovered. */
export function parse(source: string, file: string): Result<Ast> & { lexed: Lexed } {
  const lexed = lex(source, file);
  const { lines } = lexed;
  const diagnostics = [...lexed.diagnostics];
  const ast: Ast = { kind: 'file', file, items: [], comments: lexed.comments.map((t) => ({ text: t.image, span: lines.span(t.startOffset, t.startOffset + t.image.length) })) };
  // The parser recurses per nesting level; refuse absurd depths up front instead of overflowing the stack.
  let depth = 0;
  let neg = 0;
  for (const t of lexed.tokens) {
    const n = t.tokenType.name;
    if (n === 'LCurly' || n === 'LParen') depth++;
    else if (n === 'RCurly' || n === 'RParen') depth = Math.max(0, depth - 1);
    neg = n === 'Minus' ? neg + 1 : 0;
    if (depth > MAX_DEPTH || neg > MAX_DEPTH) {
      diagnostics.push(diag('tooDeep', lines.span(t.startOffset, t.startOffset + 1), { max: MAX_DEPTH }));
      return { value: undefined, diagnostics, lexed };
    }
  }
  const parser = getParser();
  // Malformed strings and numbers were reported above; the parser sees them as well-formed so that one
  // mistake does not cascade into "expected a value" errors.
  parser.input = lexed.tokens.filter((t) => t.tokenType !== UnterminatedComment).map((t) =>
    t.tokenType === UnterminatedString ? { ...t, tokenType: StringLit, tokenTypeIdx: StringLit.tokenTypeIdx! }
      : t.tokenType === BadNumber ? { ...t, tokenType: NumberLit, tokenTypeIdx: NumberLit.tokenTypeIdx! } : t);
  let cst: CstNode;
  try {
    cst = parser.file();
  } catch {
    // Chevrotain should not throw on input; if it ever does, the lexer's view is all we can offer.
    diagnostics.push(diag('expected', lines.span(0, 0), { expected: 'a valid file', found: 'input the parser could not read' }));
    return { value: undefined, diagnostics, lexed };
  }
  const w = new Walker(source, lines, lexed.tokens, diagnostics);
  for (const err of parser.errors) w.parserError(err.token, err.message);
  w.file(cst, ast);
  diagnostics.sort((a, b) => (a.span?.start ?? 0) - (b.span?.start ?? 0));
  return { value: ast, diagnostics, lexed };
}

const real = (t: IToken | undefined): t is IToken => t !== undefined && !t.isInsertedInRecovery && Number.isFinite(t.startOffset);
const toks = (n: CstNode, key: string): IToken[] => ((n.children[key] ?? []) as IToken[]).filter(real);
const nodes = (n: CstNode, key: string): CstNode[] => (n.children[key] ?? []) as CstNode[];

function describe(t: IToken | undefined): string {
  if (!t || t.tokenType.name === 'EOF' || !Number.isFinite(t.startOffset)) return 'the end of the file';
  switch (t.tokenType.name) {
    case 'NL': return 'the end of the line';
    case 'Ident': return `\`${t.image}\``;
    case 'NumberLit': return `the number \`${t.image}\``;
    case 'StringLit': return `the string ${t.image.length > 30 ? t.image.slice(0, 27) + '…"' : t.image}`;
    default: return `\`${t.image}\``;
  }
}

class Walker {
  private readonly seen = new Set<number>();
  private readonly index = new Map<IToken, number>();
  constructor(private readonly src: string, private readonly lines: LineMap, private readonly all: IToken[], private readonly diags: Diagnostic[]) {
    all.forEach((t, i) => this.index.set(t, i));
  }

  private sp(a: IToken, b: IToken = a): Span {
    return this.lines.span(a.startOffset, b.startOffset + b.image.length);
  }

  /** The name of the innermost `{ … }` around `offset`: the first word of the line that opened it. */
  private context(offset: number): string | undefined {
    return this.opener(offset)?.image;
  }

  /** The first token of the line whose `{` is still open at `offset`. */
  private opener(offset: number): IToken | undefined {
    const stack: (IToken | undefined)[] = [];
    let lineStart = 0;
    for (let i = 0; i < this.all.length; i++) {
      const t = this.all[i]!;
      if (t.startOffset >= offset) break;
      const n = t.tokenType.name;
      if (n === 'LCurly') stack.push(this.all[lineStart]);
      else if (n === 'RCurly') stack.pop();
      if (n === 'NL' || n === 'Semi' || n === 'LCurly' || n === 'RCurly') lineStart = i + 1;
    }
    return stack[stack.length - 1];
  }

  private report(t: IToken | undefined, expected: string, hint?: string): void {
    const off = t && Number.isFinite(t.startOffset) ? t.startOffset : this.src.length;
    if (this.seen.has(off)) return;   // recovery may trip twice over the same token
    if (this.seen.size >= MAX_SYNTAX_ERRORS) return;   // past this, more messages only bury the first ones
    this.seen.add(off);
    const end = t && Number.isFinite(t.startOffset) ? off + Math.max(1, t.image.length) : off;
    const args: Record<string, string> = { expected, ctx: this.context(off) ?? '', found: describe(t) };
    if (hint) args.hint = hint;
    this.diags.push(diag('expected', this.lines.span(off, end), args));
  }

  /** The first token on the line of `t`. */
  private lineHead(t: IToken): IToken | undefined {
    let i = this.index.get(t) ?? -1;
    if (i < 0) i = this.all.findIndex((x) => x.startOffset === t.startOffset);
    while (i > 0 && this.all[i - 1]!.tokenType.name !== 'NL') i--;
    return i >= 0 ? this.all[i] : undefined;
  }

  parserError(t: IToken, message: string): void {
    this.report(t, message === 'expected `}`' ? 'expected a field or `}`' : message);
  }

  file(n: CstNode, ast: Ast): void {
    let prevJunk = -2;
    const junk = toks(n, 'junk');
    for (const j of junk) {
      const idx = this.index.get(j) ?? -5;
      if (idx !== prevJunk + 1) this.report(j, 'expected a block, `param` or `import`', j.image === '}' ? 'this `}` closes nothing' : undefined);
      prevJunk = idx;
    }
    for (const h of nodes(n, 'header')) {
      const num = toks(h, 'NumberLit')[0];
      const kw = toks(h, 'Mm')[0];
      if (!num || !kw) continue;
      const span = this.sp(kw, num);
      if (ast.header) { this.diags.push(diag('duplicateHeader', span)); continue; }
      ast.header = { kind: 'header', version: Number(num.image), span };
    }
    const items: { at: number; item: Item }[] = [];
    for (const i of nodes(n, 'importStmt')) {
      const kw = toks(i, 'Import')[0];
      const s = toks(i, 'StringLit')[0];
      if (!kw || !s) continue;
      items.push({ at: kw.startOffset, item: { kind: 'import', path: unquote(s.image), pathSpan: this.sp(s), span: this.sp(kw, s) } });
    }
    for (const p of nodes(n, 'paramStmt')) {
      const kw = toks(p, 'Param')[0];
      const name = toks(p, 'name')[0];
      if (!kw || !name) continue;
      const type = toks(p, 'type')[0];
      const atomN = nodes(p, 'atom')[0];
      const value = atomN ? this.atom(atomN) : undefined;
      const last = value?.span ?? (type ? this.sp(type) : this.sp(name));
      items.push({
        at: kw.startOffset,
        item: {
          kind: 'param', name: name.image, nameSpan: this.sp(name), span: this.lines.span(kw.startOffset, last.end),
          ...(type ? { type: type.image, typeSpan: this.sp(type) } : {}), ...(value ? { value } : {}),
        },
      });
    }
    for (const d of nodes(n, 'decl')) {
      const b = this.decl(d);
      if (b) items.push({ at: b.span.start, item: b });
    }
    items.sort((a, b) => a.at - b.at);
    ast.items = items.map((x) => x.item);
    if (ast.header) {
      const first = ast.items[0];
      if (first && first.span.start < ast.header.span.start) this.diags.push(diag('lateHeader', ast.header.span));
    }
  }

  private decl(d: CstNode): BlockDecl | undefined {
    const kind = toks(d, 'blockKind')[0];
    if (!kind) return undefined;
    const name = toks(d, 'name')[0];
    const base = toks(d, 'base')[0];
    const bodyN = nodes(d, 'body')[0];
    const body = bodyN ? this.body(bodyN) : undefined;
    const close = bodyN ? toks(bodyN, 'RCurly')[0] : undefined;
    const endTok = close ?? base ?? name ?? kind;
    const b: BlockDecl = { kind: 'block', blockKind: kind.image, kindSpan: this.sp(kind), span: this.sp(kind, endTok) };
    if (name) { b.name = name.image; b.nameSpan = this.sp(name); }
    if (base) { b.base = base.image; b.baseSpan = this.sp(base); }
    if (body) b.body = body;
    return b;
  }

  private body(n: CstNode): Entry[] {
    let prevJunk = -2;
    for (const j of toks(n, 'junk')) {
      const idx = this.index.get(j) ?? -5;
      if (idx !== prevJunk + 1) {
        const open = this.opener(j.startOffset);
        const lineHead = this.lineHead(j);
        const hint = lineHead && blockWords.has(lineHead.image) && open && open !== lineHead
          ? `is a \`}\` missing? \`${open.image}\` opened on line ${open.startLine} is still open`
          : j.image === '=' || j.image === ':' ? 'fields take values without `=` or `:`: write `width 1024`'
          : j.tokenType.name === 'NumberLit' ? 'a value belongs on the same line as its field' : undefined;
        this.report(j, 'expected a field or `}`', hint);
      }
      prevJunk = idx;
    }
    return nodes(n, 'entry').map((e) => this.entry(e)).filter((e): e is Entry => e !== undefined)
      .sort((a, b) => a.span.start - b.span.start);
  }

  private entry(n: CstNode): Entry | undefined {
    const name = toks(n, 'name')[0];
    if (!name) return undefined;
    const args = nodes(n, 'atom').map((a) => this.atom(a)).filter((a): a is Atom => a !== undefined);
    const bodyN = nodes(n, 'body')[0];
    const e: Entry = { kind: 'entry', name: name.image, nameSpan: this.sp(name), args, span: this.sp(name) };
    let end = args.length ? args[args.length - 1]!.span.end : e.span.end;
    if (bodyN) {
      e.body = this.body(bodyN);
      const close = toks(bodyN, 'RCurly')[0];
      if (close) end = close.startOffset + 1;
      else if (e.body.length) end = Math.max(end, e.body[e.body.length - 1]!.span.end);
    }
    e.span = this.lines.span(name.startOffset, end);
    return e;
  }

  private atom(n: CstNode): Atom | undefined {
    const num = toks(n, 'NumberLit')[0];
    if (num) return { kind: 'num', value: Number(num.image), text: num.image, span: this.sp(num) };
    const str = toks(n, 'StringLit')[0];
    if (str) return { kind: 'str', value: unquote(str.image), span: this.sp(str) };
    const path = nodes(n, 'path')[0];
    if (path) {
      const ids = toks(path, 'Ident');
      if (!ids.length) return undefined;
      return { kind: 'path', parts: ids.map((t) => t.image), span: this.sp(ids[0]!, ids[ids.length - 1]) };
    }
    const minus = toks(n, 'Minus')[0];
    const negN = nodes(n, 'negated')[0];
    if (minus && negN) {
      const arg = this.atom(negN);
      return arg ? { kind: 'neg', arg, span: this.lines.span(minus.startOffset, arg.span.end) } : undefined;
    }
    const lp = toks(n, 'LParen')[0];
    const exprN = nodes(n, 'expr')[0];
    if (lp && exprN) {
      const inner = this.expr(exprN);
      const rp = toks(n, 'RParen')[0];
      if (!inner) return undefined;
      return { kind: 'paren', inner, span: this.lines.span(lp.startOffset, rp ? rp.startOffset + 1 : inner.span.end) };
    }
    return undefined;
  }

  private chain(operands: (Atom | undefined)[], ops: IToken[]): Atom | undefined {
    // Operators and operands come back in separate lists; pair them by source order.
    const sorted = ops.slice().sort((a, b) => a.startOffset - b.startOffset);
    let acc = operands[0];
    for (let i = 1; i < operands.length; i++) {
      const r = operands[i];
      const op = sorted[i - 1];
      if (!acc || !r || !op) return acc;
      acc = { kind: 'bin', op: op.image as '+' | '-' | '*' | '/', left: acc, right: r, span: this.lines.span(acc.span.start, r.span.end) };
    }
    return acc;
  }

  private expr(n: CstNode): Atom | undefined {
    const terms = nodes(n, 'term').map((t) => this.term(t)).sort((a, b) => (a?.span.start ?? 0) - (b?.span.start ?? 0));
    return this.chain(terms, [...toks(n, 'Plus'), ...toks(n, 'Minus')]);
  }

  private term(n: CstNode): Atom | undefined {
    const atoms = nodes(n, 'atom').map((t) => this.atom(t)).sort((a, b) => (a?.span.start ?? 0) - (b?.span.start ?? 0));
    return this.chain(atoms, [...toks(n, 'Star'), ...toks(n, 'Slash')]);
  }
}

export function unquote(s: string): string {
  const inner = s.length >= 2 && s.endsWith('"') ? s.slice(1, -1) : s.slice(1);
  return inner.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

export type { Comment };
