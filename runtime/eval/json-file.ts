// Reading the JSON files users hand to `mm score`/`mm eval`: errors name the file and, for a syntax error,
// its line and column. V8's JSON.parse messages only sometimes carry a position, so a small scanner finds it.

import * as fs from 'node:fs';

export class InputFileError extends Error {
  constructor(message: string) { super(message); this.name = 'InputFileError'; }
}

/** Offset of the first JSON syntax error in `s` (or s.length when the text ends too early); -1 when valid. */
export function jsonErrorOffset(s: string): number {
  let i = 0;
  const ws = () => { while (i < s.length && ' \t\n\r'.includes(s[i]!)) i++; };
  const fail = (): never => { throw i; };
  const lit = (w: string) => { if (s.startsWith(w, i)) i += w.length; else fail(); };
  const str = () => {
    i++;
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\') { i++; if (s[i] === 'u') { if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) fail(); i += 4; } else if (!'"\\/bfnrt'.includes(s[i] ?? 'x')) fail(); }
      else if (s.charCodeAt(i) < 0x20) fail();
      i++;
    }
    if (i >= s.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = s[i];
    if (c === '{') {
      i++; ws();
      if (s[i] === '}') { i++; return; }
      for (;;) { ws(); if (s[i] !== '"') fail(); str(); ws(); if (s[i] !== ':') fail(); i++; value(); ws(); if (s[i] === ',') { i++; continue; } if (s[i] === '}') { i++; return; } fail(); }
    } else if (c === '[') {
      i++; ws();
      if (s[i] === ']') { i++; return; }
      for (;;) { value(); ws(); if (s[i] === ',') { i++; continue; } if (s[i] === ']') { i++; return; } fail(); }
    } else if (c === '"') str();
    else if (c === 't') lit('true');
    else if (c === 'f') lit('false');
    else if (c === 'n') lit('null');
    else { const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(s.slice(i, i + 400)); if (!m) fail(); i += m![0].length; }
  };
  try { value(); ws(); if (i < s.length) fail(); return -1; } catch (e) { if (typeof e === 'number') return Math.min(e, s.length); throw e; }
}

export function lineCol(s: string, offset: number): { line: number; col: number } {
  const before = s.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

/** Reads and parses `file`; `what` says what it should be ("the references"), for the messages. */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFileError(`${file}: cannot read ${what} (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    const off = jsonErrorOffset(text);
    const { line, col } = lineCol(text, off < 0 ? text.length : off);
    const what2 = off >= text.length ? 'unexpected end of JSON' : `invalid JSON near ${JSON.stringify(text.slice(off, off + 12))}`;
    throw new InputFileError(`${file}:${line}:${col}: ${what2} (position ${off}) in ${what}`);
  }
}
