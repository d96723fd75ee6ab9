// `mm fmt FILE... [--write|--check]`: canonical formatting. Without flags prints the formatted file;
// `--write` rewrites files in place; `--check` lists files that are not formatted and exits 1.

import { readFileSync, writeFileSync } from 'node:fs';
import { formatSource, renderDiagnostics } from '../compiler/index.js';
import { parseFlags, UserError, type IO } from './io.js';
import { expandFiles, useColor } from './specfiles.js';

const HELP = `usage: mm fmt FILE... [--write | --check] [--json]

Format .mm files canonically (one field per line, two-space indent, comments kept).

  --write   rewrite the files in place
  --check   exit 1 if any file is not formatted (nothing is written)
  --json    print {files: [{file, formatted, changed, diagnostics}]}
  --help    this text`;

export async function run(argv: string[], io: IO): Promise<number> {
  try {
    return await runInner(argv, io);
  } catch (e) {
    // Bad flags, missing files: one line, exit 1, never a stack trace.
    if (e instanceof UserError) { io.stderr(`mm fmt: ${e.message}`); return 1; }
    throw e;
  }
}

async function runInner(argv: string[], io: IO): Promise<number> {
  const { flags, positional } = parseFlags(argv, { write: 'boolean', check: 'boolean', json: 'boolean', help: 'boolean' });
  if (flags.help) { io.stdout(HELP); return 0; }
  if (!positional.length) { io.stderr(`mm fmt: name at least one spec file\n\n${HELP}`); return 1; }
  if (flags.write && flags.check) throw new UserError('choose one of --write and --check');
  const files = expandFiles(positional);
  let status = 0;
  const results = [];
  for (const file of files) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch { throw new UserError(`cannot read ${file}`); }
    const r = formatSource(text, file);
    if (r.value === undefined) {
      status = 1;
      if (!flags.json) io.stderr(renderDiagnostics(r.diagnostics, new Map([[file, text]]), { color: useColor() }));
      results.push({ file, formatted: false, changed: false, diagnostics: r.diagnostics });
      continue;
    }
    const changed = r.value !== text;
    results.push({ file, formatted: true, changed, diagnostics: r.diagnostics, ...(flags.check || flags.write ? {} : { text: r.value }) });
    if (flags.check) {
      if (changed) { status = 1; if (!flags.json) io.stderr(`not formatted: ${file}`); }
    } else if (flags.write) {
      if (changed) { writeFileSync(file, r.value); if (!flags.json) io.stderr(`formatted ${file}`); }
    } else if (!flags.json) io.stdout(r.value.replace(/\n$/, ''));
  }
  if (flags.json) io.stdout(JSON.stringify({ ok: status === 0, files: results }, null, 2));
  return status;
}
