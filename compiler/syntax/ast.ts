// The .mm abstract syntax tree: a permissive superset of the language. The parser accepts any field with any
// values so that an unknown or misspelt field becomes a checker diagnostic with a suggestion, not a syntax
// error. Every node carries its source span.

import type { Span } from '../diagnostics/types.js';

export type Atom =
  | { kind: 'num'; value: number; text: string; span: Span }
  | { kind: 'str'; value: string; span: Span }
  | { kind: 'path'; parts: string[]; span: Span }            // `res`, `vit_l14.width`, `adamw`, `true`
  | { kind: 'neg'; arg: Atom; span: Span }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/'; left: Atom; right: Atom; span: Span }
  | { kind: 'paren'; inner: Atom; span: Span };

/** `name value value ... { entries }`: a field, possibly with inline values and a nested body. */
export interface Entry {
  kind: 'entry';
  name: string;
  nameSpan: Span;
  args: Atom[];
  body?: Entry[];
  span: Span;
}

export interface Header { kind: 'header'; version: number; span: Span }
export interface ImportDecl { kind: 'import'; path: string; pathSpan: Span; span: Span }
export interface ParamDecl {
  kind: 'param';
  name: string;
  nameSpan: Span;
  type?: string;
  typeSpan?: Span;
  value?: Atom;
  span: Span;
}
/** `encoder vit_l14 = vit { ... }`, `train { ... }`. */
export interface BlockDecl {
  kind: 'block';
  blockKind: string;
  kindSpan: Span;
  name?: string;
  nameSpan?: Span;
  base?: string;
  baseSpan?: Span;
  body?: Entry[];
  span: Span;
}

export type Item = ImportDecl | ParamDecl | BlockDecl;

export interface Comment { text: string; span: Span }

export interface Ast {
  kind: 'file';
  file: string;
  header?: Header;
  items: Item[];
  comments: Comment[];
}
