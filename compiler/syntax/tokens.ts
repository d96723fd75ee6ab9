// Tokens of the .mm language (Chevrotain). Newlines are tokens because they end a field; comments go to a
// separate group so the parser ignores them while the formatter keeps them. Every token has a label, so
// syntax errors read "expected a number" rather than "expected NUMBER".

import { createToken, Lexer, type TokenType } from 'chevrotain';

// Token categories for the parser's recovery: tokens that cannot start a top-level item / a field.
export const TopJunk = createToken({ name: 'TopJunk', pattern: Lexer.NA, label: 'something else' });
export const BodyJunk = createToken({ name: 'BodyJunk', pattern: Lexer.NA, label: 'something else' });
const both = [TopJunk, BodyJunk];

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\f\v]+/, group: Lexer.SKIPPED });
export const NL = createToken({ name: 'NL', pattern: /\n/, label: 'a new line', line_breaks: true });
export const LineComment = createToken({ name: 'LineComment', pattern: /(?:\/\/|#)[^\n]*/, group: 'comments' });
export const BlockComment = createToken({
  name: 'BlockComment', pattern: /\/\*[\s\S]*?\*\//, group: 'comments', line_breaks: true,
});
// Caught as tokens (not lexer errors) so the diagnostic can name the exact problem.
export const UnterminatedComment = createToken({ categories: both, name: 'UnterminatedComment', pattern: /\/\*[\s\S]*/, line_breaks: true });
export const StringLit = createToken({ categories: both, name: 'StringLit', pattern: /"(?:[^"\\\n]|\\.)*"/, label: 'a string' });
export const UnterminatedString = createToken({ categories: both, name: 'UnterminatedString', pattern: /"(?:[^"\\\n]|\\.)*/ });
export const NumberLit = createToken({ categories: both,
  name: 'NumberLit', pattern: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![A-Za-z_0-9])/, label: 'a number',
});
export const BadNumber = createToken({ categories: both, name: 'BadNumber', pattern: /\d[A-Za-z0-9_.]*/ });
export const Ident = createToken({ name: 'Ident', pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: 'a name' });
export const Mm = createToken({ categories: [BodyJunk], name: 'Mm', pattern: /mm/, longer_alt: Ident, label: '`mm`' });
export const Import = createToken({ categories: [BodyJunk], name: 'Import', pattern: /import/, longer_alt: Ident, label: '`import`' });
export const Param = createToken({ categories: [BodyJunk], name: 'Param', pattern: /param/, longer_alt: Ident, label: '`param`' });
export const LCurly = createToken({ categories: both, name: 'LCurly', pattern: /\{/, label: '`{`' });
export const RCurly = createToken({ categories: [TopJunk], name: 'RCurly', pattern: /\}/, label: '`}`' });
export const LParen = createToken({ categories: both, name: 'LParen', pattern: /\(/, label: '`(`' });
export const RParen = createToken({ categories: both, name: 'RParen', pattern: /\)/, label: '`)`' });
export const Semi = createToken({ name: 'Semi', pattern: /;/, label: '`;`' });
export const Equals = createToken({ categories: both, name: 'Equals', pattern: /=/, label: '`=`' });
export const Colon = createToken({ categories: both, name: 'Colon', pattern: /:/, label: '`:`' });
export const Dot = createToken({ categories: both, name: 'Dot', pattern: /\./, label: '`.`' });
export const Plus = createToken({ categories: both, name: 'Plus', pattern: /\+/, label: '`+`' });
export const Minus = createToken({ categories: both, name: 'Minus', pattern: /-/, label: '`-`' });
export const Star = createToken({ categories: both, name: 'Star', pattern: /\*/, label: '`*`' });
export const Slash = createToken({ categories: both, name: 'Slash', pattern: /\//, label: '`/`' });

export const allTokens: TokenType[] = [
  TopJunk, BodyJunk, WhiteSpace, NL, LineComment, BlockComment, UnterminatedComment, StringLit, UnterminatedString,
  NumberLit, BadNumber, Mm, Import, Param, Ident, LCurly, RCurly, LParen, RParen, Semi, Equals, Colon, Dot,
  Plus, Minus, Star, Slash,
];

export const mmLexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });
