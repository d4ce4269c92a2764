import { describe, expect, it } from 'vitest';
import { redact, redactText } from '../core/redact';

const env = {
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG',
  TEMPEST_CODEC_TOKEN: 'codec-token-123',
  HOME: '/home/me',
};

describe('redact', () => {
  it('hides credentials in URLs, assignments, JSON fields, bearer tokens and sensitive env values', () => {
    const message =
      'POST https://bob:hunter2@hooks.example/x failed; AWS_SESSION_TOKEN=abc123 {"password": "p4ss"} ' +
      'Authorization: Bearer eyJhbGc.x.y; key wJalrXUtnFEMI/K7MDENG leaked, token codec-token-123';
    const out = redactText(message, env);
    for (const secret of [
      'hunter2',
      'bob:',
      'abc123',
      'p4ss',
      'eyJhbGc',
      'wJalrXUtnFEMI',
      'codec-token-123',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('https://[redacted]@hooks.example/x');
    expect(out).toContain('AWS_SESSION_TOKEN=[redacted]');
  });

  it('does not take locations for secrets: working directories and paths to key files stay readable', () => {
    const locations = { OLDPWD: '/tmp/models-dir', TEMPEST_PAYLOAD_KEY_FILE: '/etc/tempest/keys.json' };
    const message = 'cannot read /tmp/models-dir/m.onnx; cannot read payload key file /etc/tempest/keys.json';
    expect(redactText(message, locations)).toBe(message);
  });

  it('leaves ordinary messages alone', () => {
    const message = 'PayloadKey: payload was encrypted with key k1; the keyring has k2 (HOME /home/me)';
    expect(redactText(message, env)).toBe(message);
  });

  it('redacts values under sensitive names in records, deeply', () => {
    expect(
      redact(
        { node: '20', TEMPEST_PAYLOAD_KEY: 'x', nested: { apiToken: 7, urls: ['s3://AKIA:s@b/k'] } },
        env,
      ),
    ).toEqual({
      node: '20',
      TEMPEST_PAYLOAD_KEY: '[redacted]',
      nested: { apiToken: '[redacted]', urls: ['s3://[redacted]@b/k'] },
    });
  });
});
