/**
 * API Gateway's route selection: `$request.body.a.b` names a field of a JSON text message whose value is
 * the route key. Parsed once per API; a message that is not JSON, or lacks the field, selects nothing
 * (the caller falls back to `$default`).
 */
export class RouteSelector {
  private readonly path: readonly string[];

  constructor(readonly expression: string) {
    this.path = expression.slice('$request.body.'.length).split('.');
  }

  select(text: string): string | null {
    // Cheap reject before JSON.parse: only an object can carry the field.
    if (text.length < 2 || text.charCodeAt(0) !== 123 /* { */) return null;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return null;
    }
    for (const p of this.path) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
      v = (v as Record<string, unknown>)[p];
    }
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return null;
  }
}
