// `mm check FILE...`: parse and check spec files (imports, params, schemas, shapes). Diagnostics go to
// stderr with a caret under each problem; exit 1 when any file has an error. `--json` prints them as data.

import { checkFile, renderDiagnostics, hasErrors } from '../compiler/index.js';
import { parseFlags, UserError, type IO } from './io.js';
import { expandFiles, parseSets, useColor } from './specfiles.js';

const HELP = `usage: mm check FILE... [--set name=value]... [--json]

Parse and check .mm spec files (folders and globs such as 'specs/**/*.mm' are expanded).
Diagnostics go to stderr; exit 1 when any file has an error.

  --set name=value   override a param (repeatable)
  --json             print {files: [{file, ok, diagnostics}]} to stdout
  --help             this text`;

export async function run(argv: string[], io: IO): Promise<number> {
  try {
    return await runInner(argv, io);
  } catch (e) {
    // Bad flags, missing files: one line, exit 1, never a stack trace.
    if (e instanceof UserError) { io.stderr(`mm check: ${e.message}`); return 1; }
    throw e;
  }
}

async function runInner(argv: string[], io: IO): Promise<number> {
  const { flags, positional } = parseFlags(argv, { json: 'boolean', help: 'boolean', set: 'list' });
  if (flags.help) { io.stdout(HELP); return 0; }
  if (!positional.length) { io.stderr(`mm check: name at least one spec file\n\n${HELP}`); return 1; }
  const overrides = parseSets((flags.set as string[] | undefined) ?? []);
  const files = expandFiles(positional);
  const results = [];
  let failed = false;
  for (const file of files) {
    const r = checkFile(file, { overrides });
    const bad = hasErrors(r.diagnostics);
    failed ||= bad;
    results.push({ file, ok: !bad, library: !bad && !r.value, diagnostics: r.diagnostics });
    if (!flags.json && r.diagnostics.length) io.stderr(renderDiagnostics(r.diagnostics, r.sources, { color: useColor() }));
  }
  if (flags.json) io.stdout(JSON.stringify({ ok: !failed, files: results }, null, 2));
  else {
    const errors = results.reduce((n, r) => n + r.diagnostics.filter((d) => d.severity === 'error').length, 0);
    const bad = results.filter((r) => !r.ok).length;
    io.stderr(failed ? `${errors} error${errors === 1 ? '' : 's'} in ${bad} of ${files.length} file${files.length === 1 ? '' : 's'}`
      : `ok: ${files.length} file${files.length === 1 ? '' : 's'} checked`);
  }
  return failed ? 1 : 0;
}
