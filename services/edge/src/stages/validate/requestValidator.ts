import type { ValidateFunction } from 'ajv-draft-04';
import { compileModel, type RequestValidationConfig } from '@turnpike/config';
import type { EdgeServices } from '../../pipeline/pipeline.js';
import type { RequestContext } from '../../pipeline/context.js';
import { CONTINUE, STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import type { CompiledRoute } from '../../router/routeTable.js';

/**
 * API Gateway's request validator, after authorization and before the integration: missing required
 * query strings or headers answer 400 `Missing required request parameters: [a, b]`; a body that does not
 * satisfy the model of its content type (no Content-Type: application/json) answers 400
 * `Invalid request body`. Models are compiled once per route (ajv, JSON Schema draft 4).
 */
export class RequestValidatorStage implements Stage {
  readonly name = 'validate';
  readonly kind = 'check';
  private readonly models: ReadonlyMap<string, ValidateFunction>;
  /** Required headers as configured (for the message) and lowercased (as RequestContext keys them). */
  private readonly headers: readonly { readonly name: string; readonly key: string }[];

  constructor(private readonly config: RequestValidationConfig) {
    this.models = new Map(Object.entries(config.bodyModels).map(([type, schema]) => [type, compileModel(schema)]));
    this.headers = config.requiredHeaders.map((name) => ({ name, key: name.toLowerCase() }));
  }

  run(ctx: RequestContext): StageResult | Promise<StageResult> {
    const missing = this.missingParameters(ctx);
    if (missing.length) {
      ctx.gatewayError('BAD_REQUEST_PARAMETERS', undefined, null, `Missing required request parameters: [${missing.join(', ')}]`);
      return STOP;
    }
    if (this.models.size === 0) return CONTINUE;
    const type = mediaType(ctx.headers['content-type']);
    const model = this.models.get(type);
    if (model === undefined) return CONTINUE;
    if (ctx.body === null) return this.check(ctx, model, null);
    // readAll leaves the body readable by the integration after it (RequestBody holds what it read).
    return ctx.body.readAll().then((buf) => this.check(ctx, model, buf));
  }

  private check(ctx: RequestContext, model: ValidateFunction, body: Buffer | null): StageResult {
    let value: unknown = null;
    try {
      if (body !== null && body.byteLength > 0) value = JSON.parse(body.toString('utf8'));
    } catch {
      value = undefined;
    }
    if (value === undefined || !model(value)) {
      const detail = value === undefined ? 'body is not JSON' : (model.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; ');
      ctx.gatewayError('BAD_REQUEST_BODY', `request validation: ${detail}`, null, 'Invalid request body');
      return STOP;
    }
    return CONTINUE;
  }

  private missingParameters(ctx: RequestContext): string[] {
    const missing: string[] = [];
    if (this.config.requiredQueryStrings.length) {
      const q = new URLSearchParams(ctx.query);
      for (const name of this.config.requiredQueryStrings) if (!q.has(name)) missing.push(name);
    }
    for (const h of this.headers) if (ctx.headers[h.key] === undefined) missing.push(h.name);
    return missing;
  }
}

function mediaType(header: string | undefined): string {
  if (header === undefined) return 'application/json';
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/** The ROUTE_STAGES factory: null for a route without a request validator. */
export function buildRequestValidator(route: CompiledRoute, _services: EdgeServices): Stage | null {
  return route.config.requestValidation ? new RequestValidatorStage(route.config.requestValidation) : null;
}
