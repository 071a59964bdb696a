/** Email on AWS: the outbox sends through SES v2 SendEmail with the real SDK client (here against a capturing endpoint). */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listenLoopback } from '../../local/aws-json';

describe('SES outbox', () => {
  const seen: Array<{ path: string; body: any }> = [];
  let server: Server;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        seen.push({ path: req.url ?? '', body: JSON.parse(text) });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ MessageId: 'm-1' }));
      });
    });
    process.env.AWS_ENDPOINT_URL_SESV2 = await listenLoopback(server);
    process.env.AWS_REGION = 'eu-west-1';
    process.env.AWS_ACCESS_KEY_ID = 'x';
    process.env.AWS_SECRET_ACCESS_KEY = 'x';
  });
  afterAll(() => closeServer(server));

  it('sends a multipart email from the configured sender through its configuration set, with no-loop headers and the request named', async () => {
    process.env.COUNTERSIGN_CONFIG_JSON = JSON.stringify({
      version: 1,
      channels: { email: { from: 'countersign@example.com', configurationSet: 'approvals' } },
    });
    const { deliver } = await import('../../lambdas/adapters/outbox');
    await deliver({
      channel: 'email',
      to: 'alice@example.com',
      subject: 'Approval requested: data.export',
      text: 'Body <b>as text</b>',
      html: '<p>Body</p>',
      actionId: 'act_1',
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.path).toBe('/v2/email/outbound-emails');
    expect(seen[0]!.body).toEqual({
      FromEmailAddress: 'countersign@example.com',
      Destination: { ToAddresses: ['alice@example.com'] },
      ConfigurationSetName: 'approvals',
      Content: {
        Simple: {
          Subject: { Data: 'Approval requested: data.export', Charset: 'UTF-8' },
          Body: { Text: { Data: 'Body <b>as text</b>', Charset: 'UTF-8' }, Html: { Data: '<p>Body</p>', Charset: 'UTF-8' } },
          // Auto-responders must not answer (RFC 3834, Exchange), so nothing loops.
          Headers: [
            { Name: 'Auto-Submitted', Value: 'auto-generated' },
            { Name: 'X-Auto-Response-Suppress', Value: 'All' },
            { Name: 'Precedence', Value: 'bulk' },
            // Which request the email is about, for mail rules (and local mode's inbox).
            { Name: 'X-Countersign-Request', Value: 'act_1' },
          ],
        },
      },
    });
  });

  it('refuses to send without channels.email, and sends nothing', async () => {
    process.env.COUNTERSIGN_CONFIG_JSON = JSON.stringify({ version: 1 });
    const { deliver } = await import('../../lambdas/adapters/outbox');
    await expect(deliver({ channel: 'email', to: 'a@example.com', subject: 's', text: 't', actionId: 'act_1' })).rejects.toThrow(
      /channels\.email is not configured/,
    );
    expect(seen).toHaveLength(1);
  });
});
