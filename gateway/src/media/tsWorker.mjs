// Starts a worker thread from TypeScript sources (tests and `--import tsx` runs). Node 20 does not
// pass a parent's module hooks to its workers, so this thread registers tsx itself first.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.tsEntry);
