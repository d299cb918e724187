/**
 * `arn:aws:execute-api:{region}:{accountId}:{apiId}/{stage}/{METHOD}/{resource-path}`: what an authorizer's
 * policy statements name in `Resource`. The path is the request's own path below the stage (`/pets/42`,
 * not the template `/pets/{id}`), as API Gateway builds it.
 */
export function methodArnPrefix(region: string, accountId: string, apiId: string, stage: string): string {
  return `arn:aws:execute-api:${region}:${accountId}:${apiId}/${stage}/`;
}

/** `path` starts with `/`; the root resource gives `.../GET/`. */
export function methodArn(prefix: string, method: string, path: string): string {
  return prefix + method + path;
}
