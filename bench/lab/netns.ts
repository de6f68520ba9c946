import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LabHost {
  index: number;
  ns: string;
  /** This host's address, inside the lab only (10.214.0.0/24). */
  addr: string;
  /** Command prefix that runs a program inside this host's namespace. */
  exec: string[];
}

const SUBNET = '10.214.0';

/**
 * TCP congestion control the lab's hosts get, best first: what a lab machine booted from stock
 * Linux runs (cubic), else the other loss-based one this kernel lets a namespace choose (reno; a
 * namespace may only pick algorithms in net.ipv4.tcp_allowed_congestion_control, and at LAN round
 * trips cubic runs in its Reno-friendly region anyway).
 */
const LAB_TCP_CHOICES = ['cubic', 'reno'];

/** This machine's TCP congestion control (what a namespace starts with), or null when unreadable. */
export function machineTcp(): string | null {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/**
 * A shaped lab: one network namespace per host, each with a veth into a bridge that lives in a
 * namespace of its own, and an HTB class of `mbit` on both ends of every veth, so each host is
 * capped each way (this kernel has no netem and no fq); `setRate()` re-shapes one host (the
 * slow-host variant). Each host routes multicast (224.0.0.0/4) to its eth0 and the bridge floods
 * it (no IGMP snooping), for udpcast. Names carry the pid (`cb<pid>-h3`); the subnet exists only
 * inside these namespaces. `destroy()` removes everything.
 */
export class NetLab {
  readonly hosts: LabHost[] = [];
  private readonly created: string[] = [];
  private readonly prefix = `cb${process.pid}`;
  private readonly bridgeNs = `${this.prefix}-br`;
  /** The TCP congestion control every host's namespace uses now (`setTcp`). */
  tcp: string | null = null;

  private constructor(readonly mbit: number) {}

  /**
   * `tcp`: the congestion control for every host — a name, 'machine' (leave this machine's own),
   * or 'lab' (the first of LAB_TCP_CHOICES this kernel allows in a namespace).
   */
  static async create(hostCount: number, mbit: number, tcp = 'lab'): Promise<NetLab> {
    const lab = new NetLab(mbit);
    const onSignal = (): void => void lab.destroy().then(() => process.exit(130));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    lab.removeSignalHandlers = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
    try {
      await lab.build(hostCount);
      await lab.setTcp(tcp);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  private removeSignalHandlers: () => void = () => undefined;

  private async build(hostCount: number): Promise<void> {
    await this.addNs(this.bridgeNs);
    // No IGMP snooping: the bridge floods multicast to every port (the udpcast row), like a plain switch.
    await ip('-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    await ip('-n', this.bridgeNs, 'link', 'set', 'br0', 'up');
    for (let i = 0; i < hostCount; i++) {
      const ns = `${this.prefix}-h${i}`;
      const side = `v${i}`;
      await this.addNs(ns);
      await ip('-n', this.bridgeNs, 'link', 'add', side, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await ip('-n', this.bridgeNs, 'link', 'set', side, 'master', 'br0', 'up');
      await ip('-n', ns, 'addr', 'add', `${SUBNET}.${i + 1}/24`, 'brd', '+', 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      // Multicast leaves by the lab's eth0 (these namespaces have no other link and no default route).
      await ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await this.shape(ns, 'eth0'); // host → bridge
      await this.shape(this.bridgeNs, side); // bridge → host
      this.hosts.push({ index: i, ns, addr: `${SUBNET}.${i + 1}`, exec: ['ip', 'netns', 'exec', ns] });
    }
  }

  private async addNs(name: string): Promise<void> {
    await ip('netns', 'add', name);
    this.created.push(name);
    await ip('-n', name, 'link', 'set', 'lo', 'up');
  }

  private async shape(ns: string, dev: string, mbit = this.mbit, verb: 'add' | 'change' = 'add'): Promise<void> {
    const rate = `${mbit}mbit`;
    const tc = (...args: string[]): Promise<void> => sh('ip', 'netns', 'exec', ns, 'tc', ...args);
    if (verb === 'add') await tc('qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '10');
    await tc('class', verb, 'dev', dev, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', rate, 'ceil', rate);
  }

  /** Re-shape one host's link, both directions, to `mbit` (the slow-host variant); `mbit` of the lab restores it. */
  async setRate(index: number, mbit: number): Promise<void> {
    const host = this.hosts[index];
    if (!host) throw new Error(`no lab host ${index}`);
    await this.shape(host.ns, 'eth0', mbit, 'change');
    await this.shape(this.bridgeNs, `v${index}`, mbit, 'change');
  }

  /**
   * Set every host's TCP congestion control (new connections use it): a name, 'machine' (this
   * machine's own) or 'lab' (see LAB_TCP_CHOICES). Throws when the kernel refuses a named one.
   */
  async setTcp(tcp: string): Promise<void> {
    const choices = tcp === 'lab' ? LAB_TCP_CHOICES : [tcp === 'machine' ? (machineTcp() ?? 'machine') : tcp];
    let last: Error | null = null;
    for (const name of choices) {
      try {
        for (const h of this.hosts)
          await sh('ip', 'netns', 'exec', h.ns, 'sysctl', '-qw', `net.ipv4.tcp_congestion_control=${name}`);
        this.tcp = name;
        return;
      } catch (err) {
        last = err as Error;
      }
    }
    throw new Error(`lab TCP congestion control ${tcp}: ${last?.message ?? 'not set'}`);
  }

  /** Delete every namespace this lab made (their veths go with them). Safe to call twice. */
  async destroy(): Promise<void> {
    this.removeSignalHandlers();
    while (this.created.length > 0) {
      const ns = this.created.pop()!;
      await ip('netns', 'del', ns).catch((err: Error) =>
        process.stderr.write(`[bench] could not delete ${ns}: ${err.message}\n`),
      );
    }
  }
}

async function ip(...args: string[]): Promise<void> {
  await sh('ip', ...args);
}

async function sh(cmd: string, ...args: string[]): Promise<void> {
  try {
    await run(cmd, args);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/** True when this process may build namespaces (root). */
export function canBuildNamespaces(): boolean {
  return process.getuid?.() === 0;
}
