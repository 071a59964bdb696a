/**
 * Checks one request's ledger and receipt against the ledger's public key:
 *   npx tsx scripts/verify-request.ts <request id> [--url http://127.0.0.1:8787] [--api-key audit-key]
 * Exit 0 when every record's hash, link and signature holds (and the receipt, if any, verifies).
 */
import { createPublicKey } from 'node:crypto';
import { parseArgs } from 'node:util';
import { verifyChain, type AuditRecord } from '../lambdas/core/audit';
import { verifyReceipt } from '../lambdas/core/receipt';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: 'string', default: process.env.COUNTERSIGN_URL ?? 'http://127.0.0.1:8787' }, 'api-key': { type: 'string', default: process.env.COUNTERSIGN_API_KEY } },
});
const id = positionals[0];
if (!id || !values['api-key']) {
  console.error('usage: verify-request <request id> --api-key <key> [--url <base url>]');
  process.exit(2);
}
const get = async (path: string) => {
  const res = await fetch(`${values.url}${path}`, { headers: { authorization: `Bearer ${values['api-key']}` } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return res;
};
const pem = await (await get('/v1/audit/public-key')).text();
const records = (await (await get(`/v1/actions/${id}/audit`)).json()) as AuditRecord[];
const request = (await (await get(`/v1/actions/${id}`)).json()) as { status: string; receipt?: string };
const chain = verifyChain(records, createPublicKey(pem));
for (const r of records) console.log(`${String(r.seq).padStart(3)}  ${r.at}  ${r.type.padEnd(14)} ${r.actor}`);
for (const p of chain.problems) console.log(`PROBLEM seq ${p.seq}: ${p.problem}`);
let receiptOk = true;
if (request.receipt) {
  try {
    const claims = verifyReceipt(request.receipt, pem);
    console.log(`receipt: valid, approved by ${claims.approvers.join(', ') || 'policy'}, expires ${new Date(claims.exp * 1000).toISOString()}`);
  } catch (err) {
    receiptOk = false;
    console.log(`receipt: INVALID (${(err as Error).message})`);
  }
}
console.log(chain.ok && receiptOk ? `ledger: ${records.length} records verify; status ${request.status}` : 'ledger: FAILED');
process.exit(chain.ok && receiptOk ? 0 : 1);
