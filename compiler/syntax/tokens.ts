// Tokens of the .mm language (Chevrotain). Newlines are tokens because they end a field; comments go to a
// separate group so the parser ignores them while the formatter keeps them. Every token has a label, so
// syntax errors read "expected a number" rather than "expected NUMBER".

import { createToken, Lexer, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\f\v]+/, group: Lexer.SKIPPED });
export const NL = createToken({ name: 'NL', pattern: /\n/, label: 'a new line', line_breaks: true });
export const LineComment = createToken({ name: 'LineComment', pattern: /(?:\/\/|#)[^\n]*/, group: 'comments' });
export const BlockComment = createToken({
  name: 'BlockComment', pattern: /\/\*[\s\S]*?\*\//, group: 'comments', line_breaks: true,
});
// Caught as tokens (not lexer errors) so the diagnostic can name the exact problem.
export const UnterminatedComment = createToken({ name: 'UnterminatedComment', pattern: /\/\*[\s\S]*/, line_breaks: true });
export const StringLit = createToken({ name: 'StringLit', pattern: /"(?:[^"\\\n]|\\.)*"/, label: 'a string' });
export const UnterminatedString = createToken({ name: 'UnterminatedString', pattern: /"(?:[^"\\\n]|\\.)*/ });
export const NumberLit = createToken({
  name: 'NumberLit', pattern: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![A-Za-z_0-9])/, label: 'a number',
});
export const BadNumber = createToken({ name: 'BadNumber', pattern: /\d[A-Za-z0-9_.]*/ });
export const Ident = createToken({ name: 'Ident', pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: 'a name' });
export const Mm = createToken({ name: 'Mm', pattern: /mm/, longer_alt: Ident, label: '`mm`' });
export const Import = createToken({ name: 'Import', pattern: /import/, longer_alt: Ident, label: '`import`' });
export const Param = createToken({ name: 'Param', pattern: /param/, longer_alt: Ident, label: '`param`' });
export const LCurly = createToken({ name: 'LCurly', pattern: /\{/, label: '`{`' });
export const RCurly = createToken({ name: 'RCurly', pattern: /\}/, label: '`}`' });
export const LParen = createToken({ name: 'LParen', pattern: /\(/, label: '`(`' });
export const RParen = createToken({ name: 'RParen', pattern: /\)/, label: '`)`' });
export const Semi = createToken({ name: 'Semi', pattern: /;/, label: '`;`' });
export const Equals = createToken({ name: 'Equals', pattern: /=/, label: '`=`' });
export const Colon = createToken({ name: 'Colon', pattern: /:/, label: '`:`' });
export const Dot = createToken({ name: 'Dot', pattern: /\./, label: '`.`' });
export const Plus = createToken({ name: 'Plus', pattern: /\+/, label: '`+`' });
export const Minus = createToken({ name: 'Minus', pattern: /-/, label: '`-`' });
export const Star = createToken({ name: 'Star', pattern: /\*/, label: '`*`' });
export const Slash = createToken({ name: 'Slash', pattern: /\//, label: '`/`' });

export const allTokens: TokenType[] = [
  WhiteSpace, NL, LineComment, BlockComment, UnterminatedComment, StringLit, UnterminatedString,
  NumberLit, BadNumber, Mm, Import, Param, Ident, LCurly, RCurly, LParen, RParen, Semi, Equals, Colon, Dot,
  Plus, Minus, Star, Slash,
];

export const mmLexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });
