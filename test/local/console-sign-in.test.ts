/**
 * Console sign-in in local mode (local/console-sign-in.ts), against the shared local mode: a person signs in by an
 * API key of `local.apiKeys` and the browser holds only an opaque session; a wrong key, a form from another site and
 * sign-out each do what they should; scripts may use `Authorization: Bearer` on console routes.
 */
import { describe, expect, it } from 'vitest';
import { sharedCountersign } from './harness';

const { url } = sharedCountersign();

async function signIn(key: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ key }).toString(),
  });
}

const sessionOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .find((c) => c.startsWith('cs_local_session='))
    ?.split(';')[0];

describe('console sign-in in local mode', () => {
  it('sends / and a signed-out visitor to the sign-in form', async () => {
    const root = await fetch(`${url}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/console']);
    const inbox = await fetch(`${url}/console`, { redirect: 'manual' });
    expect([inbox.status, inbox.headers.get('location')]).toEqual([303, '/console/sign-in']);
    const form = await fetch(`${url}/console/sign-in`);
    expect(form.status).toBe(200);
    expect(form.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(form.headers.get('x-frame-options')).toBe('DENY');
    const html = await form.text();
    expect(html).toContain('<form method="post" action="/console/sign-in"');
    // It never lists the keys.
    expect(html).not.toContain('alice-key');
  });

  it('signs a browser in by API key with an opaque session, and signs it out', async () => {
    const res = await signIn('alice-key', { origin: url, 'sec-fetch-site': 'same-origin' });
    expect([res.status, res.headers.get('location')]).toEqual([303, '/console']);
    const line = res.headers.getSetCookie().find((c) => c.startsWith('cs_local_session='))!;
    expect(line).toMatch(/^cs_local_session=[A-Za-z0-9_-]{32}; Path=\/console; Max-Age=28800; HttpOnly; SameSite=Lax$/);
    expect(line).not.toContain('alice-key');
    const cookie = sessionOf(res)!;

    const inbox = await fetch(`${url}/console`, { headers: { cookie } });
    const html = await inbox.text();
    expect(inbox.status).toBe(200);
    expect(html).toContain('<bdi data-testid="viewer">alice@example.com</bdi>');
    // Signed in already: the form sends the browser on.
    expect((await fetch(`${url}/console/sign-in`, { headers: { cookie }, redirect: 'manual' })).status).toBe(303);

    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const out = await fetch(`${url}/console/sign-out`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }).toString(),
    });
    expect([out.status, out.headers.get('location')]).toEqual([303, '/console/sign-in']);
    expect(out.headers.getSetCookie().some((c) => /^cs_local_session=; Path=\/console; Max-Age=0/.test(c))).toBe(true);
    // The session is gone on the server too: the old cookie opens nothing.
    expect((await fetch(`${url}/console`, { headers: { cookie }, redirect: 'manual' })).status).toBe(303);
  });

  it('changes nothing for a wrong key, a form from another site, or a sign-out without the page token', async () => {
    for (const key of ['', 'not-a-key', 'ALICE-KEY', 'alice-key\u200b', '__proto__', 'constructor']) {
      const res = await signIn(key);
      expect(res.status, key).toBe(401);
      expect(sessionOf(res), key).toBeUndefined();
    }
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { origin: 'http://evil.example' }] as Array<Record<string, string>>) {
      const res = await signIn('alice-key', headers);
      expect(res.status).toBe(403);
      expect(sessionOf(res)).toBeUndefined();
    }
    const cookie = sessionOf(await signIn('bob-key'))!;
    const out = await fetch(`${url}/console/sign-out`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf=forged',
    });
    expect(out.status).toBe(403);
    expect(out.headers.getSetCookie()).toEqual([]);
    expect((await fetch(`${url}/console`, { headers: { cookie } })).status).toBe(200);
  });

  it('takes a Bearer key on console routes, and refuses an unknown one', async () => {
    const res = await fetch(`${url}/console`, { headers: { authorization: 'Bearer audit-key' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data-testid="nav-audit"');
    const unknown = await fetch(`${url}/console`, { headers: { authorization: 'Bearer nope-nope' } });
    expect(unknown.status).toBe(401);
    // Not an auditor: the auditor's pages are refused with a page, not JSON.
    const refused = await fetch(`${url}/console/audit`, { headers: { authorization: 'Bearer alice-key' } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });
});
