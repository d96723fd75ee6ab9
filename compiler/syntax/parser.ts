// The .mm grammar as a Chevrotain CstParser with error recovery. Tokens that cannot start anything where they
// stand are consumed by `junk` alternatives, so one run reports every syntax error and the visitor (toAst.ts)
// can say exactly what was expected where ("expected a field or `}` in `connector`").

import { CstParser, type CstNode, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';
import {
  allTokens, BodyJunk, Colon, Dot, Equals, Ident, Import, LCurly, LParen, Minus, Mm, NL, NumberLit, Param, Plus,
  RCurly, RParen, Semi, Slash, Star, StringLit, TopJunk,
} from './tokens.js';

const label = (t: TokenType): string => t.LABEL ?? t.name;
const uniq = (xs: string[]): string[] => [...new Set(xs)];
const orList = (xs: string[]): string =>
  xs.length <= 1 ? (xs[0] ?? 'something else') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;

/** Messages name what was expected by label; "found …" and the block context are added in toAst.ts. */
export const messageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected }) => `expected ${label(expected)}`,
  buildNotAllInputParsedMessage: () => 'expected a block, `param` or `import`',
  buildNoViableAltMessage: ({ expectedPathsPerAlt, ruleName }) => {
    if (ruleName === 'atom') return 'expected a value (a number, a string, a name or `(`)';
    const firsts = expectedPathsPerAlt.flatMap((alt) => alt.map((path) => path[0])).filter((t) => t !== undefined);
    return `expected ${orList(uniq(firsts.map((t) => label(t!))))}`;
  },
  buildEarlyExitMessage: ({ expectedIterationPaths }) =>
    `expected ${orList(uniq(expectedIterationPaths.map((p) => p[0]).filter((t) => t !== undefined).map((t) => label(t!))))}`,
};

type Alts = { ALT: () => unknown }[];

// Alternatives are built once and cached (Chevrotain's advice): building closures on every rule call
// dominated parse time.
export class MmParser extends CstParser {
  private topAlts?: Alts;
  private bodyAlts?: Alts;
  private atomAlts?: Alts;
  private addAlts?: Alts;
  private mulAlts?: Alts;

  constructor() {
    super(allTokens, { recoveryEnabled: true, maxLookahead: 2, errorMessageProvider: messageProvider });
    this.performSelfAnalysis();
  }

  file = this.RULE('file', () => {
    this.MANY(() => this.OR(this.topAlts ??= [
      { ALT: () => this.SUBRULE(this.header) },
      { ALT: () => this.SUBRULE(this.importStmt) },
      { ALT: () => this.SUBRULE(this.paramStmt) },
      { ALT: () => this.SUBRULE(this.decl) },
      { ALT: () => this.CONSUME(NL) },
      { ALT: () => this.CONSUME(Semi) },
      { ALT: () => this.CONSUME(TopJunk, { LABEL: 'junk' }) },
    ]));
  });

  header = this.RULE('header', () => {
    this.CONSUME(Mm);
    this.CONSUME(NumberLit);
  });

  importStmt = this.RULE('importStmt', () => {
    this.CONSUME(Import);
    this.CONSUME(StringLit);
  });

  paramStmt = this.RULE('paramStmt', () => {
    this.CONSUME(Param);
    this.CONSUME(Ident, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(Colon);
      this.CONSUME2(Ident, { LABEL: 'type' });
    });
    this.OPTION2(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.atom);
    });
  });

  decl = this.RULE('decl', () => {
    this.CONSUME(Ident, { LABEL: 'blockKind' });
    this.OPTION(() => this.CONSUME2(Ident, { LABEL: 'name' }));
    this.OPTION2(() => {
      this.CONSUME(Equals);
      this.CONSUME3(Ident, { LABEL: 'base' });
    });
    this.SUBRULE(this.body);
  });

  body = this.RULE('body', () => {
    this.CONSUME(LCurly);
    this.MANY(() => this.OR(this.bodyAlts ??= [
      { ALT: () => this.SUBRULE(this.entry) },
      { ALT: () => this.CONSUME(NL) },
      { ALT: () => this.CONSUME(Semi) },
      { ALT: () => this.CONSUME(BodyJunk, { LABEL: 'junk' }) },
    ]));
    this.CONSUME(RCurly);
  });

  entry = this.RULE('entry', () => {
    this.CONSUME(Ident, { LABEL: 'name' });
    this.MANY(() => this.SUBRULE(this.atom));
    this.OPTION(() => this.SUBRULE(this.body));
  });

  // Values inside a field are separated by spaces, so a bare `-` binds to the next value (`lr -1`) and
  // arithmetic needs parentheses: `mlp (4 * width)`.
  atom = this.RULE('atom', () => {
    this.OR(this.atomAlts ??= [
      { ALT: () => this.CONSUME(NumberLit) },
      { ALT: () => this.CONSUME(StringLit) },
      { ALT: () => this.SUBRULE(this.path) },
      { ALT: () => { this.CONSUME(Minus); this.SUBRULE(this.atom, { LABEL: 'negated' }); } },
      { ALT: () => { this.CONSUME(LParen); this.SUBRULE(this.expr); this.CONSUME(RParen); } },
    ]);
  });

  path = this.RULE('path', () => {
    this.CONSUME(Ident);
    this.MANY(() => {
      this.CONSUME(Dot);
      this.CONSUME2(Ident);
    });
  });

  expr = this.RULE('expr', () => {
    this.SUBRULE(this.term);
    this.MANY(() => {
      this.OR(this.addAlts ??= [{ ALT: () => this.CONSUME(Plus) }, { ALT: () => this.CONSUME(Minus) }]);
      this.SUBRULE2(this.term);
    });
  });

  term = this.RULE('term', () => {
    this.SUBRULE(this.atom);
    this.MANY(() => {
      this.OR(this.mulAlts ??= [{ ALT: () => this.CONSUME(Star) }, { ALT: () => this.CONSUME(Slash) }]);
      this.SUBRULE2(this.atom);
    });
  });
}

let shared: MmParser | undefined;
/** One parser instance for the process: building the grammar is the expensive part. */
export function getParser(): MmParser {
  shared ??= new MmParser();
  return shared;
}

export type { CstNode, IToken };
