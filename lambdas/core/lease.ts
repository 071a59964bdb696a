/**
 * The scheduled functions' one-run-at-a-time leases: items in the requests table (`id`; request ids start with
 * `act_`, so they never collide). The stack grants each on its item alone; lambdas/adapters/lease.ts takes them.
 */
export const LEASES = {
  checkpoint: 'lease#checkpoint',
  repair: 'lease#repair',
} as const;
export type LeaseName = keyof typeof LEASES;
