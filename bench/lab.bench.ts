import type { BenchOptions } from './lib/options.js';
import type { BenchResult } from './lib/report.js';
export async function labBench(_o: BenchOptions): Promise<BenchResult> {
  throw new Error('todo');
}
