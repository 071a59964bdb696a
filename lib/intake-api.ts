import { Duration, Validations } from 'aws-cdk-lib';
import { type CfnStage, HttpApi, HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_INTEGRATION_TIMEOUT_MS } from '../lambdas/adapters/http';

export interface IntakeApiProps {
  /** Serves the agent routes: asking for an action, reading it, cancelling it, its audit trail. */
  readonly intake: IFunction;
  /** Serves the approver routes: decisions, review pages, Slack interactions. */
  readonly decision: IFunction;
  /** Serves the console's pages (`/console/...`). */
  readonly console: IFunction;
  /** Steady-state requests per second across the API. @default 100 */
  readonly throttlingRateLimit?: number;
  /** Burst of requests allowed above the rate. @default 200 */
  readonly throttlingBurstLimit?: number;
  /** How long access logs are kept. @default one year */
  readonly logRetention?: RetentionDays;
}

/**
 * How long API Gateway waits for a function's answer: an HTTP API gives up after 30 s at most (the CDK takes up to
 * 29 s). The functions behind it time out earlier (see `FUNCTION_TIMEOUTS`), leaving room for a cold start, so an
 * answer, a long-poll's included, always comes from the function and never as API Gateway's 503.
 */
export const API_INTEGRATION_TIMEOUT = Duration.millis(API_INTEGRATION_TIMEOUT_MS);

/** One route of the API and who authenticates it. */
export interface ApiRoute {
  readonly method: HttpMethod;
  readonly path: string;
  readonly target: 'intake' | 'decision' | 'console';
  /** `iam`: SigV4-signed by the caller. `self`: the handler authenticates (review tokens, Slack signatures). */
  readonly auth: 'iam' | 'self';
}

/**
 * The routes of docs/api.md ("Routes"). Review, Slack, landing-page and sign-in routes authenticate themselves: their
 * callers have no AWS credentials.
 */
export const API_ROUTES: readonly ApiRoute[] = [
  { method: HttpMethod.POST, path: '/v1/actions', target: 'intake', auth: 'iam' },
  { method: HttpMethod.GET, path: '/v1/actions/{id}', target: 'intake', auth: 'iam' },
  { method: HttpMethod.POST, path: '/v1/actions/{id}/cancel', target: 'intake', auth: 'iam' },
  // The requester's executor redeems the approval's receipt: the first redemption is recorded, any other refused.
  { method: HttpMethod.POST, path: '/v1/actions/{id}/redeem', target: 'intake', auth: 'iam' },
  { method: HttpMethod.GET, path: '/v1/actions/{id}/audit', target: 'intake', auth: 'iam' },
  { method: HttpMethod.GET, path: '/v1/audit/public-key', target: 'intake', auth: 'iam' },
  // Auditors only: the whole ledger with its signed checkpoints, paginated.
  { method: HttpMethod.GET, path: '/v1/audit/export', target: 'intake', auth: 'iam' },
  // Grants: approvals for a while (list; revoke, by an approver of the rule or an auditor, with a reason).
  { method: HttpMethod.GET, path: '/v1/grants', target: 'intake', auth: 'iam' },
  { method: HttpMethod.POST, path: '/v1/grants/{id}/revoke', target: 'intake', auth: 'iam' },
  { method: HttpMethod.POST, path: '/v1/actions/{id}/decision', target: 'decision', auth: 'iam' },
  { method: HttpMethod.GET, path: '/v1/me/pending', target: 'decision', auth: 'iam' },
  { method: HttpMethod.GET, path: '/v1/review/{token}', target: 'decision', auth: 'self' },
  { method: HttpMethod.POST, path: '/v1/review/{token}', target: 'decision', auth: 'self' },
  { method: HttpMethod.POST, path: '/v1/slack/interactions', target: 'decision', auth: 'self' },
  // Establishing an approver's identity when a link does not (Teams channel cards): landing page, personal link, sign-in.
  { method: HttpMethod.GET, path: '/v1/actions/{id}/review', target: 'decision', auth: 'self' },
  { method: HttpMethod.POST, path: '/v1/actions/{id}/review-link', target: 'decision', auth: 'self' },
  { method: HttpMethod.GET, path: '/v1/auth/login', target: 'decision', auth: 'self' },
  { method: HttpMethod.GET, path: '/v1/auth/callback', target: 'decision', auth: 'self' },
  // The console: browsers carry no SigV4; the console session cookie (set by OIDC sign-in) says who is looking.
  { method: HttpMethod.GET, path: '/console', target: 'console', auth: 'self' },
  { method: HttpMethod.GET, path: '/console/sign-in', target: 'console', auth: 'self' },
  { method: HttpMethod.POST, path: '/console/sign-out', target: 'console', auth: 'self' },
  { method: HttpMethod.GET, path: '/console/requests/{id}', target: 'console', auth: 'self' },
  { method: HttpMethod.POST, path: '/console/requests/{id}/decision', target: 'console', auth: 'self' },
  { method: HttpMethod.GET, path: '/console/grants', target: 'console', auth: 'self' },
  { method: HttpMethod.POST, path: '/console/grants/{id}/revoke', target: 'console', auth: 'self' },
  { method: HttpMethod.GET, path: '/console/audit', target: 'console', auth: 'self' },
  { method: HttpMethod.GET, path: '/console/ledger', target: 'console', auth: 'self' },
  { method: HttpMethod.POST, path: '/console/ledger/verify', target: 'console', auth: 'self' },
  { method: HttpMethod.GET, path: '/console/ledger/export', target: 'console', auth: 'self' },
  { method: HttpMethod.GET, path: '/console/policy', target: 'console', auth: 'self' },
  { method: HttpMethod.GET, path: '/console/assets/{name}', target: 'console', auth: 'self' },
];

/** The HTTP API in front of Countersign: IAM auth on agent and decision routes, throttled, access-logged. */
export class IntakeApi extends Construct {
  readonly httpApi: HttpApi;
  /** Base URL of the API's default stage. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: IntakeApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', { description: 'Countersign API', createDefaultStage: true });
    const integrations = {
      intake: new HttpLambdaIntegration('Intake', props.intake, { timeout: API_INTEGRATION_TIMEOUT }),
      decision: new HttpLambdaIntegration('Decision', props.decision, { timeout: API_INTEGRATION_TIMEOUT }),
      console: new HttpLambdaIntegration('Console', props.console, { timeout: API_INTEGRATION_TIMEOUT }),
    };
    const iam: IHttpRouteAuthorizer = new HttpIamAuthorizer();
    for (const route of API_ROUTES) {
      const [added] = this.httpApi.addRoutes({
        path: route.path,
        methods: [route.method],
        integration: integrations[route.target],
        ...(route.auth === 'iam' ? { authorizer: iam } : {}),
      });
      if (route.auth === 'self' && added) {
        Validations.of(added).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'Approvers and auditors reach this route from email, Teams, Slack and browsers without AWS credentials; the handler authenticates each call (KMS-MACed review tokens and sessions, Slack request signatures).',
        });
      }
    }

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention ?? RetentionDays.ONE_YEAR });
    const stage = this.httpApi.defaultStage?.node.defaultChild as CfnStage;
    // Review tokens travel in paths: log the route template, never the raw path.
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        caller: '$context.identity.userArn',
        routeKey: '$context.routeKey',
        status: '$context.status',
        latency: '$context.responseLatency',
        integrationError: '$context.integrationErrorMessage',
      }),
    };
    stage.defaultRouteSettings = {
      throttlingRateLimit: props.throttlingRateLimit ?? 100,
      throttlingBurstLimit: props.throttlingBurstLimit ?? 200,
    };
    this.url = this.httpApi.apiEndpoint;
  }
}
