export { AuthorizationService, type AuthorizationOptions } from './authorizationService.js';
export type { Authorizer } from './authorizer.js';
export type { AuthRequest } from './authRequest.js';
export { methodArn, methodArnPrefix } from './policy/methodArn.js';
export { EXPLICITLY_DENIED, FORBIDDEN, FORBIDDEN_MESSAGE, UNAUTHORIZED, UNAUTHORIZED_MESSAGE, MalformedAuthorizerResult, type Grant, type Verdict } from './verdict.js';
