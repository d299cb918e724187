import { expect, it } from 'vitest';
import { hostOf } from '../src/http/hostHeader.js';

it('accepts a name, an IPv4 or a bracketed IPv6 address with an optional port, and lowercases the host', () => {
  expect(hostOf('API.Example.com')).toBe('api.example.com');
  expect(hostOf('api.example.com:8443')).toBe('api.example.com');
  expect(hostOf('10.0.0.5:80')).toBe('10.0.0.5');
  expect(hostOf('[::1]:8080')).toBe('[::1]');
  expect(hostOf('[2001:db8::ffff:10.0.0.1]')).toBe('[2001:db8::ffff:10.0.0.1]');
  expect(hostOf(undefined)).toBe('');
  expect(hostOf('')).toBe('');
});

it('refuses anything else: paths, userinfo, spaces, two values, bad ports, unclosed brackets', () => {
  for (const bad of ['example.com/evil', 'user@example.com', 'a b', 'a.example, b.example', 'example.com:', 'example.com:99999', 'example.com:8o', ':80', '[::1', '[]', '[::1]x', 'exämple.com', 'a'.repeat(300)]) {
    expect(hostOf(bad), bad).toBeNull();
  }
});
