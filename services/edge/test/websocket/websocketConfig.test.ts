import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '@turnpike/config';

// WebSocket API config errors name the file, the field path and the line; every problem at once.
const problems = (yaml: string): string[] => {
  try {
    parseConfig(yaml, 'ws.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}${i.line ? `@${i.line}` : ''}: ${i.message}`);
    throw err;
  }
  return [];
};

describe('WebSocket API config', () => {
  it('applies the defaults', () => {
    const c = parseConfig(`
apis:
  - name: chat
    type: websocket
    websocket:
      routes:
        $default: { integration: { type: mock } }
`);
    expect(c.apis[0]?.websocket).toMatchObject({ routeSelectionExpression: '$request.body.action', idleTimeoutMs: 600_000, maxConnectionDurationMs: 7_200_000, maxMessageBytes: 131_072, maxMessagesPerSecond: 100, messageBurst: 200, maxPendingBytes: 1_048_576 });
    expect(c.gateway.websocket).toEqual({ maxBufferedBytes: 1_048_576, slowConsumerPolicy: 'disconnect', heartbeatMs: 5_000, nodeTimeoutMs: 30_000, pingIntervalSeconds: 120 });
  });

  it('reports every misplaced or invalid field with its path and line', () => {
    expect(
      problems(`
gateway:
  websocket: { slowConsumerPolicy: queue, pingIntervalSeconds: 4 }
apis:
  - name: chat
    type: websocket
    websocket:
      routeSelectionExpression: request.body.action
      maxMessageBytes: 0
      maxMessagesPerSecond: 0
      maxPendingBytes: 10
      routes:
        $default: { integration: { type: mock } }
  - name: rest
    basePath: /rest
    websocket: { routes: {} }
    routes:
      GET /x: { integration: { type: mock } }
  - name: empty
    basePath: /empty
    type: websocket
`),
    ).toEqual([
      expect.stringMatching(/^gateway\.websocket\.slowConsumerPolicy@3: .*"drop"\|"disconnect"/),
      // uWS refuses a timeout under 8 s (or over 960 s) by terminating the process: the config says so first.
      expect.stringMatching(/^gateway\.websocket\.pingIntervalSeconds@3: .*>=8/),
      expect.stringMatching(/^apis\[0\]\.websocket\.routeSelectionExpression@8: a route selection expression is \$request\.body/),
      expect.stringMatching(/^apis\[0\]\.websocket\.maxMessageBytes@9: /),
      expect.stringMatching(/^apis\[0\]\.websocket\.maxMessagesPerSecond@10: /),
      expect.stringMatching(/^apis\[0\]\.websocket\.maxPendingBytes@11: /),
      expect.stringMatching(/^apis\[1\]\.websocket@16: a websocket block needs type: websocket/),
      expect.stringMatching(/^apis\[2\]\.websocket@19: a WebSocket API needs a websocket block/),
    ]);
    // Route-level rules (checked once the fields themselves are valid).
    expect(
      problems(`
apis:
  - name: chat
    type: websocket
    websocket:
      routes:
        send message: { integration: { type: mock } }
        other: { integration: { type: mock }, topics: [a], apiKeyRequired: true }
`),
    ).toEqual([
      expect.stringMatching(/^apis\[0\]\.websocket\.routes\.send message@7: route key "send message" is not/),
      expect.stringMatching(/^apis\[0\]\.websocket\.routes\.other\.apiKeyRequired@8: apiKeyRequired applies to the \$connect route only/),
      expect.stringMatching(/^apis\[0\]\.websocket\.routes\.other\.topics@8: topics applies to the \$connect route only/),
    ]);
    expect(problems(`
apis:
  - name: chat
    type: websocket
    websocket:
      routes:
        $connect: { integration: { type: mock }, authorizer: nobody }
`)).toEqual([expect.stringMatching(/^apis\[0\]\.websocket\.routes\.\$connect\.authorizer@7: no authorizer named "nobody"/)]);
  });
});
