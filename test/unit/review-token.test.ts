import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkReviewToken, issueReviewToken, type MacPort } from '../../lambdas/core/review-token';

function hmacPort(key = randomBytes(32)): MacPort {
  const mac = (m: Buffer) => createHmac('sha256', key).update(m).digest();
  return { generate: async (m) => mac(m), verify: async (m, tag) => tag.length === 32 && timingSafeEqual(mac(m), tag) };
}

describe('review tokens', () => {
  const port = hmacPort();
  const grant = { requestId: 'act_abc', approver: 'alice@example.com', expiresAt: new Date('2026-01-01T01:00:00Z') };
  const before = new Date('2026-01-01T00:00:00Z');

  it('round-trips a grant for one request and one approver', async () => {
    const token = await issueReviewToken(port, grant);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(await checkReviewToken(port, token, before)).toEqual({ ok: true, grant });
  });

  it('refuses altered, foreign, malformed and expired tokens', async () => {
    const token = await issueReviewToken(port, grant);
    const [payload, tag] = token.split('.') as [string, string];
    const forged = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('alice', 'mallo')).toString('base64url');
    expect(await checkReviewToken(port, `${forged}.${tag}`, before)).toEqual({ ok: false, reason: 'invalid' });
    expect(await checkReviewToken(hmacPort(), token, before)).toEqual({ ok: false, reason: 'invalid' });
    for (const bad of ['', 'x', `${payload}.`, `${payload}.${tag}x`, `${payload}..${tag}`, '../../etc/passwd']) {
      expect((await checkReviewToken(port, bad, before)).ok, bad).toBe(false);
    }
    expect(await checkReviewToken(port, token, grant.expiresAt)).toEqual({ ok: false, reason: 'expired', requestId: 'act_abc' });
  });

  it('accepts one spelling per token: a MAC whose unused trailing bits differ is refused', async () => {
    const token = await issueReviewToken(port, grant);
    const [payload, tag] = token.split('.') as [string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(tag.at(-1)!);
    // 43 characters carry 256 bits: the last one has 2 unused bits; flipping them decodes to the same bytes.
    const respelled = `${tag.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(tag, 'base64url'))).toBe(true);
    expect(await checkReviewToken(port, `${payload}.${respelled}`, before)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('binds the MAC to its purpose: a MAC over the bare payload is not a token', async () => {
    const token = await issueReviewToken(port, grant);
    const [payload] = token.split('.') as [string];
    const bare = (await port.generate(Buffer.from(payload))).toString('base64url');
    expect((await checkReviewToken(port, `${payload}.${bare}`, before)).ok).toBe(false);
  });
});
