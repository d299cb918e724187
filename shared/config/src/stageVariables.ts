/**
 * `${stageVariables.NAME}` references. `turnpike validate` and the edge both refuse a reference to a
 * variable a stage does not define, through this one check, so a config that validates is one the edge serves.
 */
export const STAGE_VARIABLE_REF = /\$\{stageVariables\.([A-Za-z0-9_]+)\}/g;

/** The names `text` references that `variables` lacks, each once. */
export function undefinedStageVariables(text: string, variables: Readonly<Record<string, string>>): string[] {
  const missing = new Set<string>();
  for (const [, name] of text.matchAll(STAGE_VARIABLE_REF)) if (name !== undefined && !Object.hasOwn(variables, name)) missing.add(name);
  return [...missing];
}

export type StageVariableSubstitution = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly missing: string[] };

/**
 * `text` with every reference replaced by the variable's value, or the names it references that
 * `variables` lacks: the edge resolves integration URIs and header templates through this, once per route.
 */
export function substituteStageVariables(text: string, variables: Readonly<Record<string, string>>): StageVariableSubstitution {
  const missing = new Set<string>();
  const resolved = text.replace(STAGE_VARIABLE_REF, (ref, name: string) => {
    const value = Object.hasOwn(variables, name) ? variables[name] : undefined;
    if (value !== undefined) return value;
    missing.add(name);
    return ref;
  });
  return missing.size ? { ok: false, missing: [...missing] } : { ok: true, text: resolved };
}
