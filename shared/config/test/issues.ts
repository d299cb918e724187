import { ConfigError, type ConfigIssue } from '../src/index.js';

/** The issues of the ConfigError `fn` throws; fails the test if it throws nothing or something else. */
export function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
