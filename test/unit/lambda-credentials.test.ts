import { join } from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultProvider } from '../../lambdas/adapters/lambda-credentials';
import { BUNDLING } from '../../lib/bundling';
import { REPO_ROOT } from '../../lib/countersign-function';

const VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));

afterEach(() => {
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe("the functions' credential provider", () => {
  it("answers the role's credentials Lambda puts in the environment", async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAEXAMPLEEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret/example';
    process.env.AWS_SESSION_TOKEN = 'session-token';
    const credentials = await defaultProvider({})();
    expect(credentials).toMatchObject({ accessKeyId: 'ASIAEXAMPLEEXAMPLE', secretAccessKey: 'secret/example', sessionToken: 'session-token' });
  });

  it('fails, rather than look anywhere else, when the environment has none', async () => {
    for (const name of VARIABLES) delete process.env[name];
    await expect(defaultProvider({})()).rejects.toThrow(/environment variable credentials/);
  });

  it("replaces the SDK's default chain in every bundle, leaving out its other sources", async () => {
    const { metafile } = await build({
      entryPoints: [join(REPO_ROOT, 'lambdas', 'decision', 'handler.ts')],
      outfile: join(REPO_ROOT, 'virtual', 'index.js'),
      write: false,
      bundle: true,
      platform: 'node',
      target: BUNDLING.target,
      format: BUNDLING.format,
      minify: BUNDLING.minify,
      mainFields: [...BUNDLING.mainFields],
      alias: { ...BUNDLING.alias },
      absWorkingDir: REPO_ROOT,
      metafile: true,
      logLevel: 'silent',
    });
    const kept = Object.values(metafile.outputs).flatMap((output) =>
      Object.entries(output.inputs)
        .filter(([, input]) => input.bytesInOutput > 0)
        .map(([path]) => path),
    );
    expect(kept.some((path) => path.endsWith('lambdas/adapters/lambda-credentials.ts'))).toBe(true);
    expect(kept.some((path) => path.includes('@aws-sdk/credential-provider-env/'))).toBe(true);
    const chain = kept.filter((path) => /@aws-sdk\/(credential-provider-(node|ini|sso|process|web-identity|http|login)|nested-clients)\//.test(path));
    expect(chain).toEqual([]);
  });
});
