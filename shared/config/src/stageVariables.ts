/**
 * `${stageVariables.NAME}` references. `turnpike validate` and the edge both refuse a reference to a
 * variable a stage does not define, through this one check, so a config that validates is one the edge serves.
 */
export const STAGE_VARIABLE_REF = /\$\{stageVariables\.([A-Za-z0-9_]+)\}/g;

/** The names `text` references that `variables` lacks, each once. */
export function undefinedStageVariables(text: string, variables: Readonly<Record<string, string>>): string[] {
  const missing = new Set<string>();
  for (const m of text.matchAll(STAGE_VARIABLE_REF)) if (!Object.hasOwn(variables, m[1]!)) missing.add(m[1]!);
  return [...missing];
}
