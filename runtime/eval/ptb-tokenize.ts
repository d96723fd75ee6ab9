// A JavaScript approximation of what the COCO caption toolkit does to every caption before scoring: Stanford
// PTBTokenizer (CoreNLP 3.4.1, `-preserveLines -lowerCase`) then removal of the tokens in its PUNCTUATIONS
// list. Java is not available at run time, so the PTB rules that matter for captions are reproduced here:
// lower-casing, splitting off punctuation, PTB quote/bracket escapes and the clitic splits ('s n't 're ...).

/** pycocoevalcap/tokenizer/ptbtokenizer.py PUNCTUATIONS, verbatim: these tokens are dropped after tokenising. */
export const PTB_PUNCTUATIONS: readonly string[] = [
  "''", "'", '``', '`', '-LRB-', '-RRB-', '-LCB-', '-RCB-', '.', '?', '!', ',', ':', '-', '--', '...', ';',
];
// The toolkit compares against the upper-case escapes; we emit them upper-case so the filter applies as there.
const PUNCT = new Set(PTB_PUNCTUATIONS);

// PTB keeps the final period of these abbreviations inside the token ("mr." stays one token).
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'jr', 'sr', 'vs', 'etc', 'inc', 'ltd', 'co', 'corp', 'mt', 'ft', 'ave',
  'no', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'u.s', 'a.m', 'p.m',
]);

// Words PTB splits into two tokens although they contain no apostrophe (Treebank convention).
const SPECIAL_SPLITS: Record<string, [string, string]> = {
  cannot: ['can', 'not'], gonna: ['gon', 'na'], gotta: ['got', 'ta'], wanna: ['wan', 'na'], lemme: ['lem', 'me'],
  gimme: ['gim', 'me'],
};

const BRACKETS: Record<string, string> = {
  '(': '-LRB-', ')': '-RRB-', '{': '-LCB-', '}': '-RCB-', '[': '-LSB-', ']': '-RSB-',
};

/** Splits one whitespace-free chunk into PTB tokens (before punctuation removal). */
function splitChunk(chunk: string, out: string[], quoteState: { open: boolean }): void {
  let s = chunk;
  const tail: string[] = [];
  // Leading punctuation: quotes, brackets, and the like.
  for (;;) {
    if (s.length === 0) break;
    const c = s[0]!;
    if (c === '"') { out.push(quoteState.open ? "''" : '``'); quoteState.open = !quoteState.open; s = s.slice(1); continue; }
    if (c === '`') { out.push('`'); s = s.slice(1); continue; }
    if (c === "'" && s.length > 1 && !/^'(s|m|d|ll|re|ve|t)\b/.test(s)) { out.push('`'); s = s.slice(1); continue; }
    if (BRACKETS[c]) { out.push(BRACKETS[c]!); s = s.slice(1); continue; }
    if (/^[¿¡$#]/.test(c)) { out.push(c); s = s.slice(1); continue; }
    break;
  }
  // Trailing punctuation, peeled from the right; kept in order in `tail`.
  for (;;) {
    if (s.length === 0) break;
    if (s.endsWith('...')) { tail.unshift('...'); s = s.slice(0, -3); continue; }
    if (s.endsWith('--')) { tail.unshift('--'); s = s.slice(0, -2); continue; }
    const c = s[s.length - 1]!;
    if (c === '"') { tail.unshift(quoteState.open ? "''" : '``'); quoteState.open = !quoteState.open; s = s.slice(0, -1); continue; }
    if (BRACKETS[c]) { tail.unshift(BRACKETS[c]!); s = s.slice(0, -1); continue; }
    if (/[,;:?!%]/.test(c)) { tail.unshift(c); s = s.slice(0, -1); continue; }
    if (c === '.') {
      const word = s.slice(0, -1);
      // "mr." and "u.s." keep their period; a lone "." or a sentence-final one is split off.
      if (word.length > 0 && (ABBREVIATIONS.has(word) || /^([a-z]\.)+[a-z]$/.test(word))) break;
      tail.unshift('.'); s = word; continue;
    }
    if (c === "'") {
      // "dogs'" → dogs ' (plural possessive); a closing single quote likewise.
      tail.unshift("'"); s = s.slice(0, -1); continue;
    }
    break;
  }
  if (s.length > 0) {
    // Internal "--" separates words ("word--word").
    if (s.includes('--')) {
      const parts = s.split('--');
      parts.forEach((p, i) => { if (i > 0) out.push('--'); if (p) splitChunk(p, out, quoteState); });
    } else if (/^-+$/.test(s)) {
      out.push(s);
    } else {
      splitWord(s, out);
    }
  }
  out.push(...tail);
}

/** Clitics: don't → do n't, can't → ca n't, it's → it 's, we'll → we 'll, cannot → can not. */
function splitWord(w: string, out: string[]): void {
  const special = SPECIAL_SPLITS[w];
  if (special) { out.push(...special); return; }
  let m = /^(.+)(n't)$/.exec(w);
  if (m) { out.push(m[1]!, m[2]!); return; }
  m = /^(.+?)('s|'m|'d|'ll|'re|'ve)$/.exec(w);
  if (m) { out.push(m[1]!, m[2]!); return; }
  out.push(w);
}

/** PTB tokens of one caption, lower-cased, punctuation NOT yet removed. */
export function ptbTokens(caption: string): string[] {
  const text = caption
    .replace(/\n/g, ' ')
    .toLowerCase()
    // CoreNLP normalises typographic quotes to the ASCII/LaTeX forms before splitting.
    .replace(/[\u2018\u201b]/g, '`')
    .replace(/[\u2019]/g, "'")
    .replace(/[\u201c\u201d\u201e]/g, '"')
    .replace(/\u2026/g, '...')
    .replace(/[\u2013\u2014]/g, '--');
  const out: string[] = [];
  const quoteState = { open: false };
  for (const chunk of text.split(/\s+/)) if (chunk) splitChunk(chunk, out, quoteState);
  // Opening single quotes came out as '`' tokens already; PTB writes a lone closing "'" as "'".
  return out;
}

/** What pycocoevalcap feeds the scorers: PTB tokens minus PUNCTUATIONS, joined by single spaces. */
export function cocoTokenize(caption: string): string {
  return ptbTokens(caption).filter((t) => !PUNCT.has(t)).join(' ');
}
