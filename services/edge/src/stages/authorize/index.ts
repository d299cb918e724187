export { buildAuthorize, AuthorizeStage } from './authorizeStage.js';
export { AuthorizationService, type AuthorizationOptions } from './service.js';
export type { Authorizer } from './authorizer.js';
export type { AuthRequest } from './request.js';
export { methodArn, methodArnPrefix } from './policy/methodArn.js';
export { EXPLICITLY_DENIED, FORBIDDEN, FORBIDDEN_MESSAGE, UNAUTHORIZED, UNAUTHORIZED_MESSAGE, MalformedAuthorizerResult, type Grant, type Verdict } from './verdict.js';
