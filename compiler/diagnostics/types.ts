// Diagnostics: how every compiler stage reports problems in user input. Stages never throw on user input;
// they return `Result<T>` with a value (possibly partial) and a list of diagnostics.

export interface Span {
  file: string;           // path as given by the user (or '<input>')
  start: number;          // byte offset, inclusive
  end: number;            // byte offset, exclusive
  line: number;           // 1-based
  col: number;            // 1-based
  endLine: number;
  endCol: number;
}

export interface Diagnostic {
  code: string;           // stable catalog code, e.g. 'MM0102'
  severity: 'error' | 'warning' | 'note';
  message: string;
  span?: Span;
  hint?: string;          // what to do about it (e.g. 'did you mean `width`?')
  related?: { message: string; span: Span }[];
}

export interface Result<T> {
  value: T | undefined;   // undefined when errors made a value impossible
  diagnostics: Diagnostic[];
}

export const hasErrors = (ds: readonly Diagnostic[]): boolean => ds.some((d) => d.severity === 'error');
