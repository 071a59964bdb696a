/**
 * Who the console takes a viewer to be, and the defences its forms share (lambdas/console/viewer.ts): the console
 * session opens only as itself, an IAM context (local mode's gateway) is taken in its canonical spelling, and a form
 * without the viewer's own token, or from another site, is refused.
 */
import { describe, expect, it } from 'vitest';
import type { HttpEvent } from '../../lambdas/adapters/http';
import { checkForm, consoleCookie, formOf, viewerOf } from '../../lambdas/console/viewer';
import { parseConfig } from '../../lambdas/core/config-yaml';
import type { ConsoleSessions } from '../../lambdas/core/ports';
import { CONSOLE_COOKIE, SESSION_COOKIE, seal, sessionSchema, unseal } from '../../lambdas/core/session';
import { memoryPorts } from '../fixtures/memory-ports';

const config = parseConfig(`
version: 1
groups:
  owners: { members: [{ id: alice@example.com }, { id: "arn:aws:iam::111122223333:user/bob", email: bob@example.com }] }
auditors: [audit@example.com]
channels: { email: { from: countersign@example.com } }
default: { effect: require_approval, approvers: [owners], timeout: 1h }
`);

function event(parts: { cookies?: string[]; userArn?: string; headers?: Record<string, string>; body?: string }): HttpEvent {
  return {
    headers: parts.headers ?? {},
    ...(parts.cookies ? { cookies: parts.cookies } : {}),
    ...(parts.body !== undefined ? { body: parts.body } : {}),
    requestContext: {
      http: { method: 'POST' },
      ...(parts.userArn ? { authorizer: { iam: { userArn: parts.userArn, userId: 'AIDAEXAMPLE1234567' } } } : {}),
    },
  } as unknown as HttpEvent;
}

describe('the console viewer', () => {
  const ports = memoryPorts(config, { publicUrl: 'https://cs.example' });
  const ended = new Set<string>();
  const sessions: ConsoleSessions = { end: async (id) => void ended.add(id), ended: async (id) => ended.has(id) };
  let sids = 0;
  const sid = () => `session-id-${String(++sids).padStart(12, '0')}`;
  const exp = () => Math.floor(ports.clock.now().getTime() / 1000) + 600;

  it('is the person a console session names, an approver or an auditor as policy says', async () => {
    const alice = await seal(ports.mac, 'console-session', { email: 'Alice@Example.com', sid: sid(), exp: exp() });
    const viewer = await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${alice}`] }), ports, sessions);
    expect(viewer).toMatchObject({ principal: 'alice@example.com', via: 'oidc', approver: true, auditor: false });
    const audit = await seal(ports.mac, 'console-session', { email: 'audit@example.com', sid: sid(), exp: exp() });
    expect(await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${audit}`] }), ports, sessions)).toMatchObject({ auditor: true, approver: false });
    // Bob's member id is his ARN: his verified address is him.
    const bob = await seal(ports.mac, 'console-session', { email: 'bob@example.com', sid: sid(), exp: exp() });
    expect(await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${bob}`] }), ports, sessions)).toMatchObject({
      principal: 'arn:aws:iam::111122223333:user/bob',
      approver: true,
    });
  });

  it("asks the MAC key for a viewer's CSRF token once, not on every page, and gives another session its own", async () => {
    const cookie = await seal(ports.mac, 'console-session', { email: 'alice@example.com', sid: sid(), exp: exp() });
    const generate = ports.mac.generate.bind(ports.mac);
    let generated = 0;
    const counting = { ...ports, mac: { ...ports.mac, generate: (message: Buffer) => (generated++, generate(message)) } };
    const first = await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${cookie}`] }), counting, sessions);
    const second = await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${cookie}`] }), counting, sessions);
    expect(second?.csrf).toBe(first?.csrf);
    expect(generated).toBe(1);
    const other = await seal(ports.mac, 'console-session', { email: 'alice@example.com', sid: sid(), exp: exp() });
    expect((await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${other}`] }), counting, sessions))?.csrf).not.toBe(first?.csrf);
  });

  it('opens no session sealed for another purpose, altered, or expired', async () => {
    const review = await seal(ports.mac, 'session', { email: 'alice@example.com', exp: exp() });
    expect(await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${review}`] }), ports, sessions)).toBeUndefined();
    const consoleSession = await seal(ports.mac, 'console-session', { email: 'alice@example.com', sid: sid(), exp: exp() });
    expect(await unseal(ports.mac, 'session', sessionSchema, consoleSession, ports.clock.now())).toBeUndefined();
    expect(await viewerOf(event({ cookies: [`${SESSION_COOKIE}=${consoleSession}`] }), ports, sessions)).toBeUndefined();
    expect(await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${consoleSession.slice(0, -3)}AAA`] }), ports, sessions)).toBeUndefined();
    const old = await seal(ports.mac, 'console-session', { email: 'alice@example.com', sid: sid(), exp: Math.floor(ports.clock.now().getTime() / 1000) - 1 });
    expect(await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${old}`] }), ports, sessions)).toBeUndefined();
    expect(await viewerOf(event({}), ports, sessions)).toBeUndefined();
  });

  it('opens no session that sign-out ended, and keeps each session its own CSRF token', async () => {
    const first = await seal(ports.mac, 'console-session', { email: 'alice@example.com', sid: sid(), exp: exp() });
    const second = await seal(ports.mac, 'console-session', { email: 'alice@example.com', sid: sid(), exp: exp() });
    const one = (await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${first}`] }), ports, sessions))!;
    const two = (await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${second}`] }), ports, sessions))!;
    expect(one.principal).toBe(two.principal);
    expect(one.csrf).not.toBe(two.csrf);
    await sessions.end(one.session!.sid, new Date(one.session!.exp * 1000));
    expect(await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${first}`] }), ports, sessions)).toBeUndefined();
    expect(await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${second}`] }), ports, sessions)).toMatchObject({ principal: 'alice@example.com' });
    // A session without its id (as sealed before sessions had one) opens nothing.
    const noId = await seal(ports.mac, 'console-session', { email: 'alice@example.com', exp: exp() } as never);
    expect(await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${noId}`] }), ports, sessions)).toBeUndefined();
  });

  it('takes an IAM caller in its canonical spelling, and refuses one that cannot be used', async () => {
    const viewer = await viewerOf(event({ userArn: 'arn:aws:iam::111122223333:user/Bob' }), ports, sessions);
    expect(viewer).toMatchObject({ principal: 'arn:aws:iam::111122223333:user/bob', via: 'credentials', approver: true });
    await expect(viewerOf(event({ userArn: 'arn:aws:iam::111122223333:user/b\u200bob' }), ports, sessions)).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it("refuses a form without the viewer's own token, or sent from another site", async () => {
    const alice = await seal(ports.mac, 'console-session', { email: 'alice@example.com', sid: sid(), exp: exp() });
    const viewer = (await viewerOf(event({ cookies: [`${CONSOLE_COOKIE}=${alice}`] }), ports, sessions))!;
    const other = (await viewerOf(event({ userArn: 'arn:aws:iam::111122223333:user/bob' }), ports, sessions))!;
    expect(viewer.csrf).not.toBe(other.csrf);
    const form = (csrf: string, headers: Record<string, string> = {}) =>
      event({ headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ csrf }).toString() });
    expect(() => checkForm(form(viewer.csrf), viewer, formOf(form(viewer.csrf)))).not.toThrow();
    for (const csrf of ['', 'forged', other.csrf, `${viewer.csrf}x`]) {
      expect(() => checkForm(form(csrf), viewer, formOf(form(csrf)))).toThrow(expect.objectContaining({ code: 'forbidden' }));
    }
    const crossSite = form(viewer.csrf, { 'sec-fetch-site': 'cross-site' });
    expect(() => checkForm(crossSite, viewer, formOf(crossSite))).toThrow(expect.objectContaining({ code: 'forbidden' }));
    expect(() => formOf(event({ headers: { 'content-type': 'application/json' }, body: '{}' }))).toThrow(
      expect.objectContaining({ code: 'unsupported_media_type' }),
    );
    // A field sent twice is refused, not read first-wins; a form over 16 KiB is too large, not read as empty.
    const raw = (body: string) => event({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect(() => formOf(raw(`decision=deny&decision=approve&csrf=${viewer.csrf}`))).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(() => formOf(raw(`csrf=${viewer.csrf}&csrf=zzz`))).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(() => formOf(raw(`csrf=${viewer.csrf}&reason=${'a'.repeat(17 * 1024)}`))).toThrow(expect.objectContaining({ code: 'payload_too_large' }));
  });

  it('keeps its cookie to the console, out of scripts, and Secure except on loopback http', () => {
    expect(consoleCookie({ publicUrl: 'https://cs.example' }, 'v', 60)).toBe('cs_console=v; Path=/console; Max-Age=60; HttpOnly; SameSite=Lax; Secure');
    expect(consoleCookie({ publicUrl: 'http://127.0.0.1:8787' }, 'v', 60)).toBe('cs_console=v; Path=/console; Max-Age=60; HttpOnly; SameSite=Lax');
    expect(consoleCookie({ publicUrl: 'http://example.com' }, 'v', 60)).toContain('; Secure');
  });
});
