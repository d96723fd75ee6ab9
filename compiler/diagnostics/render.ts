// Human-readable diagnostics: code, message, file:line:col, the source line with a caret under the span, and
// the hint. No dependencies (ANSI colours by hand) so the compiler stays embeddable.

import type { Diagnostic, Span } from './types.js';

const ansi = (on: boolean, code: string) => (s: string): string => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

export function renderDiagnostics(diags: readonly Diagnostic[], sources: Map<string, string>, opts: { color: boolean }): string {
  const c = {
    red: ansi(opts.color, '31;1'), yellow: ansi(opts.color, '33;1'), blue: ansi(opts.color, '34;1'),
    bold: ansi(opts.color, '1'), cyan: ansi(opts.color, '36'),
  };
  const out: string[] = [];
  for (const d of diags) {
    const sev = d.severity === 'error' ? c.red(`error[${d.code}]`) : d.severity === 'warning' ? c.yellow(`warning[${d.code}]`) : c.blue(`note[${d.code}]`);
    out.push(`${sev}: ${c.bold(d.message)}`);
    if (d.span) out.push(...snippet(d.span, sources.get(d.span.file), c.blue, d.severity === 'error' ? c.red : c.yellow));
    for (const r of d.related ?? []) {
      out.push(`  ${c.blue('=')} note: ${r.message}`);
      out.push(...snippet(r.span, sources.get(r.span.file), c.blue, c.cyan));
    }
    if (d.hint) out.push(`  ${c.blue('=')} hint: ${d.hint}`);
    out.push('');
  }
  return out.join('\n');
}

function snippet(span: Span, text: string | undefined, gutterColor: (s: string) => string, caretColor: (s: string) => string): string[] {
  const loc = `${span.file}:${span.line}:${span.col}`;
  if (text === undefined) return [`  ${gutterColor('-->')} ${loc}`];
  const lines = text.split('\n');
  const raw = lines[span.line - 1] ?? '';
  const line = raw.replace(/\t/g, ' ').replace(/\r$/, '');
  const shown = line.length > 200 ? line.slice(0, 200) + '…' : line;
  const num = String(span.line);
  const pad = ' '.repeat(num.length);
  const start = Math.min(span.col - 1, shown.length);
  const endCol = span.endLine === span.line ? span.endCol - 1 : line.length;
  const width = Math.max(1, Math.min(endCol, shown.length + 1) - start);
  return [
    `${pad}${gutterColor('-->')} ${loc}`,
    `${pad} ${gutterColor('|')}`,
    `${gutterColor(num)} ${gutterColor('|')} ${shown}`,
    `${pad} ${gutterColor('|')} ${' '.repeat(start)}${caretColor('^'.repeat(width))}`,
  ];
}

/** One line per diagnostic (for `--json`-less scripts and logs): `file:line:col: error MM0000: message`. */
export function diagnosticLine(d: Diagnostic): string {
  const at = d.span ? `${d.span.file}:${d.span.line}:${d.span.col}: ` : '';
  return `${at}${d.severity} ${d.code}: ${d.message}${d.hint ? ` (hint: ${d.hint})` : ''}`;
}
