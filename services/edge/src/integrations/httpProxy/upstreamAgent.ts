import { createRequire } from 'node:module';
import type { Agent } from 'undici';

/**
 * The edge's undici Agent (keep-alive pools for TLS upstreams, mapped and WebSocket HTTP integrations,
 * streamed request bodies), made when a route that needs it is compiled or, for a streamed body on a
 * plain proxy route, by that request. undici is 110 modules and ~5.7 MB of heap per process: an edge
 * whose routes never use it (plain `http:` proxies on the lean client, mocks, functions, a WebSocket-only
 * node) does not load it. Required synchronously so that route compilation and the request path stay so.
 */
export class UpstreamAgent {
  private agent: Agent | null = null;

  constructor(private readonly options: Agent.Options) {}

  get(): Agent {
    return (this.agent ??= new (createRequire(import.meta.url)('undici') as typeof import('undici')).Agent(this.options));
  }

  /** The Agent once something made it; null before (nothing to count or close). */
  get made(): Agent | null {
    return this.agent;
  }
}
