// The canonical formatter (`mm fmt`): one field per line, two-space indentation, single spaces between
// values, `;` dropped, at most one blank line kept, comments kept where they were. It works on the token
// stream of an error-free parse, so it cannot change meaning; formatting twice changes nothing.

import type { IToken } from 'chevrotain';
import { hasErrors, type Result } from '../diagnostics/types.js';
import { parse } from './toAst.js';

const valueEnd = new Set(['NumberLit', 'StringLit', 'Ident', 'RParen', 'Mm', 'Import', 'Param']);

export function formatSource(source: string, file: string): Result<string> {
  const parsed = parse(source, file);
  if (hasErrors(parsed.diagnostics) || !parsed.value) return { value: undefined, diagnostics: parsed.diagnostics };
  const { tokens, comments } = parsed.lexed;
  const all = [...tokens, ...comments].sort((a, b) => a.startOffset - b.startOffset);
  const lines: string[] = [];
  let cur: string[] = [];       // words of the line being built
  let depth = 0;                // brace depth
  let paren = 0;                // paren depth
  let newlines = 0;             // source newlines since the last emitted word
  let prev: IToken | undefined; // previous non-comment token on the current line
  let lastLine = 0;             // source line of the last emitted token or comment

  const flush = (): void => {
    if (cur.length) lines.push('  '.repeat(depth) + cur.join(''));
    cur = [];
    prev = undefined;
  };
  const startWord = (): void => {
    if (cur.length === 0 && newlines >= 2 && lines.length && !lines[lines.length - 1]!.endsWith('{')) lines.push('');
    newlines = 0;
  };

  for (const t of all) {
    const n = t.tokenType.name;
    if (n === 'NL') { flush(); newlines++; continue; }
    if (n === 'Semi') { flush(); continue; }
    if (n === 'LineComment' || n === 'BlockComment') {
      const sameLine = t.startLine === lastLine && lines.length + cur.length > 0;
      if (sameLine && cur.length === 0 && lines.length) {
        lines[lines.length - 1] += '  ' + t.image;
      } else if (sameLine) {
        cur.push('  ' + t.image);
        flush();
      } else {
        flush();
        startWord();
        lines.push('  '.repeat(depth) + t.image);
      }
      lastLine = t.endLine ?? t.startLine ?? lastLine;
      newlines = 0;
      continue;
    }
    lastLine = t.endLine ?? t.startLine ?? lastLine;
    if (n === 'LCurly') {
      startWord();
      cur.push(cur.length ? ' {' : '{');
      flush();
      depth++;
      continue;
    }
    if (n === 'RCurly') {
      flush();
      depth = Math.max(0, depth - 1);
      const last = lines[lines.length - 1];
      if (last !== undefined && last.endsWith('{') && last.trimStart() !== '{') lines[lines.length - 1] = last + '}';
      else {
        while (lines.length && lines[lines.length - 1] === '') lines.pop();
        lines.push('  '.repeat(depth) + '}');
      }
      newlines = 0;
      continue;
    }
    startWord();
    const p = prev?.tokenType.name;
    let space = cur.length > 0;
    if (n === 'Dot' || n === 'RParen' || n === 'Colon') space = false;
    if (p === 'Dot' || p === 'LParen') space = false;
    if (p === 'Minus' && !(paren > 0 && prev && isBinary(prev, all))) space = false;
    cur.push((space ? ' ' : '') + t.image);
    if (n === 'LParen') paren++;
    if (n === 'RParen') paren = Math.max(0, paren - 1);
    prev = t;
  }
  flush();
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return { value: lines.join('\n') + '\n', diagnostics: parsed.diagnostics };
}

/** A `-` inside parentheses is binary when a value ends right before it. */
function isBinary(minus: IToken, all: IToken[]): boolean {
  let i = all.indexOf(minus) - 1;
  while (i >= 0 && /Comment|NL/.test(all[i]!.tokenType.name)) i--;
  return i >= 0 && valueEnd.has(all[i]!.tokenType.name);
}
