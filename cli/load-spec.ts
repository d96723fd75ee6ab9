// Loads and checks the spec a runtime command (train, generate, eval, sweep, compile) works on: diagnostics
// are rendered to stderr and any error becomes a UserError (exit 1), so no command runs on a bad spec.

import { checkFile, renderDiagnostics, hasErrors, type ResolvedSpec } from '../compiler/index.js';
import { UserError, type IO } from './io.js';
import { parseSets, useColor } from './specfiles.js';

export function loadSpec(file: string | undefined, sets: string[] | undefined, io: IO): ResolvedSpec {
  if (!file) throw new UserError('name a spec file (e.g. specs/tiny.mm)');
  const r = checkFile(file, { overrides: parseSets(sets ?? []) });
  if (r.diagnostics.length) io.stderr(renderDiagnostics(r.diagnostics, r.sources, { color: useColor() }));
  if (hasErrors(r.diagnostics)) throw new UserError(`${file} has errors (see above); fix them, then run again`);
  if (!r.value) throw new UserError(`${file} declares no model (it is a library of templates)`);
  return r.value;
}
