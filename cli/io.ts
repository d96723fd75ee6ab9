// Shared CLI plumbing: the IO every command writes through (so tests capture it), a tiny flag parser with
// typed errors, and the exit-code convention (0 ok, 1 user error, 2 internal error).

export interface IO { stdout: (s: string) => void; stderr: (s: string) => void }
export type Command = (argv: string[], io: IO) => Promise<number>;

export const processIO: IO = {
  stdout: (s) => { process.stdout.write(s.endsWith('\n') ? s : s + '\n'); },
  stderr: (s) => { process.stderr.write(s.endsWith('\n') ? s : s + '\n'); },
};

/** A mistake by the user (bad flag, missing file): printed as a message, exit 1, never a stack trace. */
export class UserError extends Error {
  constructor(message: string) { super(message); this.name = 'UserError'; }
}

export interface FlagSpec { [name: string]: 'boolean' | 'string' | 'number' | 'list' }

/** Parses `--name value`, `--name=value`, boolean `--flag`; repeated 'list' flags accumulate. */
export function parseFlags(argv: string[], spec: FlagSpec): { flags: Record<string, string | number | boolean | string[]>; positional: string[] } {
  const flags: Record<string, string | number | boolean | string[]> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') { positional.push(arg); continue; }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) {
      const names = Object.keys(spec);
      throw new UserError(`unknown option --${name}${names.length ? ` (options: ${names.map((n) => '--' + n).join(', ')})` : ''}`);
    }
    if (kind === 'boolean') { flags[name] = true; continue; }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UserError(`option --${name} needs a value`);
    if (kind === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UserError(`option --${name} needs a number, got '${value}'`);
      flags[name] = n;
    } else if (kind === 'list') {
      ((flags[name] ??= []) as string[]).push(value);
    } else flags[name] = value;
  }
  return { flags, positional };
}
