/**
 * A function reference as callers write it: a name, or a Lambda ARN (`arn:aws:lambda:REGION:ACCT:function:NAME[:QUALIFIER]`)
 * or API Gateway's invocation URI for one (`arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/<lambda arn>/invocations`).
 * Returns the function name, or null when the reference names no function.
 */
export function functionNameOf(ref: string): string | null {
  const m = /(?:^|:)function:([A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9_$-]+)?(?:\/invocations)?$/.exec(ref);
  if (m) return m[1]!;
  return /^[A-Za-z0-9_-]{1,64}$/.test(ref) ? ref : null;
}
