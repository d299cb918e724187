/**
 * What authorizing one request comes to. A granted request carries a Grant (shared, never mutated: on a
 * cache hit no object is allocated); a refused one is 401 (no or bad identity, the function threw
 * `Unauthorized`) or 403 (the policy does not allow this method, or explicitly denies it). Anything else is a gateway fault and is
 * thrown: the caller answers 500 and logs the cause.
 */
export interface Grant {
  /** The authorizer's principalId (the JWT `sub`); null for simple (`isAuthorized`) responses. */
  readonly principalId: string | null;
  /** The authorizer's context (JWT claims): primitives for REST authorizers, any JSON for HTTP API ones. */
  readonly context: Readonly<Record<string, unknown>> | null;
  readonly usageIdentifierKey: string | null;
}

export const UNAUTHORIZED = 401;
export const FORBIDDEN = 403;
/** 403 because a Deny statement covers the method (a different body from FORBIDDEN's on AWS). */
export const EXPLICITLY_DENIED = 4031;
export type Verdict = Grant | typeof UNAUTHORIZED | typeof FORBIDDEN | typeof EXPLICITLY_DENIED;

export const UNAUTHORIZED_MESSAGE = 'Unauthorized';
export const FORBIDDEN_MESSAGE = 'User is not authorized to access this resource';

/** The authorizer answered something that is not a valid authorizer result (AWS: AuthorizerConfigurationException). */
export class MalformedAuthorizerResult extends Error {
  readonly code = 'TP_AUTHORIZER_RESULT';
  constructor(message: string) {
    super(`malformed authorizer result: ${message}`);
    this.name = 'MalformedAuthorizerResult';
  }
}
