import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpu: string;
  kernel: string;
  node: string;
  memGiB: number;
}

/** The machine a run measured: cores, CPU model (from /proc/cpuinfo), kernel, node. */
export function machineInfo(): MachineInfo {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpu = m[1].trim();
  } catch {
    // not Linux: os.cpus() is good enough
  }
  return {
    nproc: cpus().length,
    cpu,
    kernel: release(),
    node: process.version,
    memGiB: Math.round(totalmem() / 2 ** 30),
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.nproc} × ${m.cpu}, ${m.memGiB} GiB RAM, Linux ${m.kernel}, node ${m.node}`;
}
