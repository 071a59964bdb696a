// An agent asks before a privileged action and acts only on an approval (README "The TypeScript client").
import { ApprovalDeadlineError, Countersign } from 'countersign/client';

const countersign = new Countersign(); // COUNTERSIGN_URL and COUNTERSIGN_API_KEY, or SigV4 with AWS credentials

try {
  const outcome = await countersign.requestApproval(
    {
      action: 'data.export',
      environment: 'production',
      resource: 'arn:aws:rds:eu-west-1:123456789012:db:customers',
      parameters: { table: 'customers', format: 'csv' },
      justification: 'Quarterly churn analysis',
    },
    { timeoutMs: 10 * 60_000 },
  );
  if (outcome.status !== 'approved') {
    console.log(`not exporting: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ''}`);
    process.exit(1);
  }
  console.log(`approved as ${outcome.id}; receipt ${outcome.receipt!.slice(0, 16)}...`);
} catch (err) {
  if (err instanceof ApprovalDeadlineError) console.log(`still pending: ${err.id}`);
  throw err;
}
