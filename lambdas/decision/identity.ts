/**
 * Establishing who an approver is when a link does not say (a Teams channel card): the request's landing page, the
 * "send me my personal review link" form, and OIDC sign-in. Built with the Teams channel and sign-in.
 */
import { CountersignError } from '../core/errors';
import type { HttpEvent, HttpResult } from '../adapters/http';
import type { DecisionDeps } from './deps';

const notYet = async (_event: HttpEvent, _deps: DecisionDeps): Promise<HttpResult> => {
  throw new CountersignError('not_found', 'not available in this deployment');
};

export const showRequestLanding = notYet;
export const sendPersonalLink = notYet;
export const startSignIn = notYet;
export const finishSignIn = notYet;
