/**
 * A function deployed through the control plane is invoked by its version: `orders@3f9a2b1c4d5e`, the
 * name and the first 12 hex digits of the SHA-256 of its definition (code included). Each version has a
 * queue of its own, so a deployment's requests run the code that deployment froze, and a version's
 * invocations in flight finish on its hosts while the next deployment's go elsewhere (docs/functions.md).
 */
export const FUNCTION_QUEUE_ID = /^[A-Za-z0-9_-]{1,64}(?:@[0-9a-f]{12})?$/;

export function qualifiedFunctionName(name: string, version: string): string {
  return `${name}@${version}`;
}

/**
 * A function reference as callers write it: a name, or a Lambda ARN (`arn:aws:lambda:REGION:ACCT:function:NAME[:QUALIFIER]`)
 * or API Gateway's invocation URI for one (`arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/<lambda arn>/invocations`).
 * Returns the function name (with its version, for a deployed function's `name@version`), or null when
 * the reference names no function.
 */
export function functionNameOf(ref: string): string | null {
  const m = /(?:^|:)function:([A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9_$-]+)?(?:\/invocations)?$/.exec(ref);
  if (m?.[1] !== undefined) return m[1];
  return FUNCTION_QUEUE_ID.test(ref) ? ref : null;
}
