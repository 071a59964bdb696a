import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One local mode with the default policy, shared by the files that need nothing else (see test/local/harness.ts).
    globalSetup: ['test/global-setup.ts'],
    // Local-mode tests start real servers and synthesize the CDK app; give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time even on 2 cores (vitest's default would be one): local-mode files spend most of their time
    // waiting on timeouts, schedules and child processes, not on the CPU.
    maxWorkers: 2,
    // Tests run on the laptop's Node.js 20; the deployed functions run nodejs22.x.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
