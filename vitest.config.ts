import { defineConfig } from 'vitest/config';

// onnxruntime's telemetry off for every test (SileroVad.ts): the unit tests run in worker threads,
// where process.env is the thread's own copy and SileroModel.load cannot reach the environment the
// native library reads; set here, in the process that starts them, it is the real one.
process.env['ORT_DISABLE_TELEMETRY'] ??= '1';

// .ci/run asks for JSON reports (one per npm script, named after it) to print its "N passed, N failed".
const reportDir = process.env['VITEST_JSON_REPORT_DIR'];
const reportName = process.env['npm_lifecycle_event'] ?? 'vitest';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    hookTimeout: 30_000,
    reporters: reportDir !== undefined ? ['default', 'json'] : ['default'],
    ...(reportDir !== undefined ? { outputFile: { json: `${reportDir}/${reportName.replace(/[^\w.-]/g, '_')}.json` } } : {}),
    projects: [
      // Pure logic, codecs and WASM: no sockets, fast, run in parallel threads.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], pool: 'threads' } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Real sockets and real-time calls: separate processes (at most one per core, below), so
          // one file cannot starve another's event loop.
          pool: 'forks',
        },
      },
    ],
  },
});
