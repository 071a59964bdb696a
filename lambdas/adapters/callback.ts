/**
 * Delivers a settled request's callback: a JSON POST whose exact bytes are signed as the payload of an ES256 compact
 * JWS in the `Countersign-Signature` header (verify it with the ledger's public key). On the `public` callback network
 * (every deployment on AWS) each address the name resolves to is vetted inside the connection's own lookup, so DNS
 * rebinding cannot slip a private address in. The handler wires the network its deployment allows
 * (adapters/environment.ts `callbackNetwork`).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { type CallbackBody, type CallbackNetwork, callbackUrlProblem, isForbiddenAddress } from '../core/callback';
import type { CallbackSender, LedgerSigner } from '../core/ports';
import { signCompactJws } from '../core/receipt';
import { RetryableError } from '../core/retry';

export const CALLBACK_SIGNATURE_HEADER = 'countersign-signature';
/** Longest a callback delivery may take in all (connecting, sending, the answer), inside the finalizer's timeout. */
export const CALLBACK_TIMEOUT_MS = 5000;

/** A lookup that refuses names resolving to any forbidden address (the `public` callback network). */
export const vettedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const list = addresses as unknown as LookupAddress[];
    const bad = list.find((a) => isForbiddenAddress(a.address));
    if (bad || list.length === 0) return callback(new Error(`callback host ${hostname} resolves to a forbidden address`), '', 0);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
};

/** Callbacks signed with the ledger key, to the addresses `network` allows. */
export function callbackSender(signer: Pick<LedgerSigner, 'keyId' | 'signDigest'>, network: CallbackNetwork): CallbackSender {
  return { send: (url, body) => sendCallback(signer, network, url, body) };
}

async function sendCallback(signer: Pick<LedgerSigner, 'keyId' | 'signDigest'>, network: CallbackNetwork, url: string, body: CallbackBody): Promise<number> {
  const problem = callbackUrlProblem(url, network);
  if (problem) throw new Error(`callback URL refused: ${problem}`);
  const bytes = Buffer.from(JSON.stringify(body));
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'countersign-callback+jws', kid: signer.keyId })).toString('base64url');
  const signature = await signCompactJws(signer, `${header}.${bytes.toString('base64url')}`);
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const status = await new Promise<number>((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        timeout: CALLBACK_TIMEOUT_MS,
        headers: { 'content-type': 'application/json', 'content-length': bytes.length, [CALLBACK_SIGNATURE_HEADER]: signature, 'user-agent': 'Countersign' },
        ...(network === 'public' ? { lookup: vettedLookup } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    // `timeout` above bounds idle time only; a server answering slowly byte by byte is cut off here.
    const timer = setTimeout(() => req.destroy(new RetryableError('callback timed out')), CALLBACK_TIMEOUT_MS);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy(new RetryableError('callback timed out')));
    req.on('error', reject);
    req.end(bytes);
  });
  if (status === 429 || status >= 500) throw new RetryableError(`callback answered ${status}`);
  if (status < 200 || status >= 300) throw new Error(`callback answered ${status}`);
  return status;
}
