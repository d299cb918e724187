import type { Context } from 'aws-lambda';

/** What a handler's `context` carries, as Lambda's Node runtime builds it. */
export interface FunctionIdentity {
  readonly functionName: string;
  /** `$LATEST` for a function of the worker's config; a deployed function's version otherwise. */
  readonly functionVersion: string;
  readonly memoryMB: number;
  readonly region: string;
  readonly accountId: string;
}

export function lambdaContext(
  fn: FunctionIdentity,
  requestId: string,
  deadline: number,
  legacy: { succeed(result: unknown): void; fail(err: unknown): void; done(err: unknown, result?: unknown): void },
): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.functionName,
    functionVersion: fn.functionVersion,
    invokedFunctionArn: `arn:aws:lambda:${fn.region}:${fn.accountId}:function:${fn.functionName}`,
    memoryLimitInMB: String(fn.memoryMB),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.functionName}`,
    logStreamName: `turnpike/${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: legacy.done,
    fail: legacy.fail,
    succeed: legacy.succeed,
  };
}
