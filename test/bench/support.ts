// What every benchmark shares: a Deployer whose worker and bridge are the compiled
// processes, as in production; requests produced with a known timestamp; status events
// timed as they arrive (not polled); percentiles; and CPU use per process from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { Consumer, Producer } from 'kafkajs';
import { createProducer } from '../../src/kafka/client';
import { isTerminal, statusEventSchema, type StatusEvent } from '../../src/core/schemas/event';
import { startDeployer, type TestDeployer } from '../support/deployer';

export interface TimedEvent {
  event: StatusEvent;
  /** Date.now() when the bench's consumer received it. */
  receivedAt: number;
}

export interface Bench {
  d: TestDeployer;
  worker: ChildProcess;
  bridge: ChildProcess;
  /** CPU of the benchmark's own worker and bridge and of every part of the stack, for sampleCpu. */
  parts(): Record<string, number>;
  /** Each node's network namespace: its engine, containerd, shims and containers, for sampleCpu. */
  nodeNamespaces(): Record<string, string>;
  /** Produces a request keyed by its application, as the Scheduler does; returns its Kafka timestamp (ms). */
  produce(application: string, request: object): Promise<number>;
  events(deploymentId: string): TimedEvent[];
  /** Resolves with the terminal event of the deployment as it arrives. */
  terminal(deploymentId: string, timeoutMs?: number): Promise<TimedEvent>;
  stop(): Promise<void>;
}

function spawnEntry(d: TestDeployer, path: string): ChildProcess {
  const entry = resolve(__dirname, '../..', path);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: npm run build first`);
  // Metrics on any free port: the stack's own worker and bridge may hold the defaults.
  const env = { ...d.env, DEPLOYER_LOG_LEVEL: 'error', DEPLOYER_METRICS_PORT: '0', DEPLOYER_BRIDGE_METRICS_PORT: '0' };
  const child = spawn(process.execPath, [entry], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  child.once('exit', (code, signal) => {
    if (signal !== 'SIGTERM') console.error(`${path} exited (${code ?? signal})`);
  });
  return child;
}

/** `settings`: environment variables of its own for the Deployer, its worker and bridge (a traced one's). */
export async function startBench(name = 'bench', settings: Record<string, string> = {}): Promise<Bench> {
  const d = await startDeployer(name, { worker: false, bridge: false, settings });
  const worker = spawnEntry(d, 'src/worker/main.js');
  const bridge = spawnEntry(d, 'src/bridge/main.js');
  const producer: Producer = createProducer(d.kafka);
  await producer.connect();

  const seen = new Map<string, TimedEvent[]>();
  const waiters = new Map<string, (e: TimedEvent) => void>();
  const consumer: Consumer = d.kafka.consumer({ groupId: `${d.config.kafka.groupId}-bench-events` });
  await consumer.connect();
  await consumer.subscribe({ topic: d.config.kafka.topics.events, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const receivedAt = Date.now();
      const event = statusEventSchema.parse(JSON.parse(message.value!.toString()));
      const timed = { event, receivedAt };
      seen.set(event.deploymentId, [...(seen.get(event.deploymentId) ?? []), timed]);
      if (isTerminal(event.phase)) waiters.get(event.deploymentId)?.(timed);
    },
  });

  return {
    d,
    worker,
    bridge,
    parts: () => ({ ...stackPids(d.config.statePath), 'bench worker': worker.pid!, 'bench bridge': bridge.pid! }),
    nodeNamespaces: () => Object.fromEntries(d.inventory.nodes.map((n) => [n.id, `/var/run/netns/${n.id}`])),
    async produce(application, request) {
      const timestamp = Date.now();
      await producer.send({ topic: d.config.kafka.topics.requests, acks: -1, messages: [{ key: application, value: JSON.stringify(request), timestamp: String(timestamp) }] });
      return timestamp;
    },
    events: (id) => seen.get(id) ?? [],
    terminal(id, timeoutMs = 180_000) {
      const done = seen.get(id)?.find((t) => isTerminal(t.event.phase));
      if (done) return Promise.resolve(done);
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`no terminal event of ${id} within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(id, (e) => {
          clearTimeout(timer);
          waiters.delete(id);
          resolvePromise(e);
        });
      });
    },
    async stop() {
      worker.kill('SIGTERM');
      bridge.kill('SIGTERM');
      await Promise.all([worker, bridge].map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
      await consumer.disconnect();
      await producer.disconnect();
      await d.stop();
    },
  };
}

/** Nearest-rank percentile. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const median = (xs: number[]) => percentile(xs, 50);

export function distribution(xs: number[], unit = 'ms'): string {
  const f = (x: number) => x.toFixed(0);
  return `n=${xs.length} min ${f(Math.min(...xs))} p50 ${f(percentile(xs, 50))} p90 ${f(percentile(xs, 90))} p99 ${f(percentile(xs, 99))} max ${f(Math.max(...xs))} ${unit}`;
}

// --- CPU per process -------------------------------------------------------------------

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The process and everything below it (dockerd's containerd and shims, a JVM's children). */
function tree(pid: number): number[] {
  const out = [pid];
  let children: string[] = [];
  try {
    children = readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
  } catch {
    return out;
  }
  for (const c of children) out.push(...tree(Number(c)));
  return out;
}

/** utime + stime of a process and of the children it reaped (cutime + cstime), in seconds; 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Busy and total CPU time of the whole machine (all cores), in seconds. */
function machineSeconds(): { busy: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = values.map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user,
  // and steal is time the hypervisor gave to others: neither is this machine's work.
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0) - (n[7] ?? 0);
  const idle = n[3]! + n[4]!;
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

export interface CpuReport {
  seconds: number;
  /** Per part: CPU seconds used during the window, as % of one core (average and busiest second). */
  parts: { name: string; averagePct: number; peakPct: number }[];
  /** The whole machine's busy time, as % of one core (so 2 busy cores are 200 %). */
  machineBusyPct: number;
  cores: number;
  /** Machine busy time that no listed part accounts for (the kernel, other processes), as % of one core. */
  otherPct: number;
}

/**
 * Samples, once a second, the CPU time of each part: a named process tree (read anew at
 * every sample), a process in `alone` without its children (the bench's own process, whose
 * children are the worker and the bridge), or every process in a named network namespace (a
 * node: its engine, containerd, the containers' shims and the containers themselves, which
 * are not the engine's children). Each process is counted once, by its own time and the time
 * of the children it reaped (short-lived ones such as runc), as the deltas between samples.
 */
export function sampleCpu(trees: Record<string, number>, alone: Record<string, number> = {}, namespaces: Record<string, string> = {}): { stop(): CpuReport } {
  const nsParts = new Map<number, string>();
  for (const [name, path] of Object.entries(namespaces)) {
    try {
      nsParts.set(statSync(path).ino, name);
    } catch {
      // A namespace that is not there has no processes to count.
    }
  }
  const parts = [...new Set([...Object.keys(trees), ...Object.keys(alone), ...Object.keys(namespaces)])];
  const owner = (): Map<number, string> => {
    const out = new Map<number, string>();
    if (nsParts.size > 0) {
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          const part = nsParts.get(statSync(`/proc/${entry}/ns/net`).ino);
          if (part !== undefined) out.set(Number(entry), part);
        } catch {
          // Gone between the listing and the look.
        }
      }
    }
    for (const [name, pid] of Object.entries(trees)) for (const p of tree(pid)) if (!out.has(p)) out.set(p, name);
    for (const [name, pid] of Object.entries(alone)) out.set(pid, name);
    return out;
  };
  const last = new Map<number, number>();
  const totals: Record<string, number> = Object.fromEntries(parts.map((n) => [n, 0]));
  const peak: Record<string, number> = Object.fromEntries(parts.map((n) => [n, 0]));
  /** Adds each process's CPU since the last sample to its part; returns the additions. */
  const sample = (): Record<string, number> => {
    const added: Record<string, number> = Object.fromEntries(parts.map((n) => [n, 0]));
    for (const [pid, part] of owner()) {
      const now = cpuSeconds(pid);
      const before = last.get(pid);
      last.set(pid, now);
      if (before === undefined) continue;
      added[part]! += Math.max(0, now - before);
    }
    for (const n of parts) totals[n]! += added[n]!;
    return added;
  };
  sample();
  const started = { at: performance.now(), machine: machineSeconds() };
  let lastAt = started.at;
  const timer = setInterval(() => {
    const added = sample();
    const at = performance.now();
    for (const n of parts) peak[n] = Math.max(peak[n]!, (100 * added[n]!) / ((at - lastAt) / 1000));
    lastAt = at;
  }, 1000);
  let report: CpuReport | undefined;
  return {
    stop() {
      if (report !== undefined) return report;
      clearInterval(timer);
      sample();
      const end = { at: performance.now(), machine: machineSeconds() };
      const seconds = (end.at - started.at) / 1000;
      const shares = parts.map((name) => ({ name, averagePct: (100 * totals[name]!) / seconds, peakPct: peak[name]! })).sort((a, b) => b.averagePct - a.averagePct);
      const cores = cpus().length;
      // /proc/stat counts every core: its busy share times the cores is the busy time in units of one core.
      const machineBusyPct = (cores * 100 * (end.machine.busy - started.machine.busy)) / (end.machine.total - started.machine.total);
      const otherPct = Math.max(0, machineBusyPct - shares.reduce((sum, p) => sum + p.averagePct, 0));
      report = { seconds, parts: shares, machineBusyPct, cores, otherPct };
      return report;
    },
  };
}

/**
 * The stack's processes, from the pid files it keeps in its run folder. A worker and bridge
 * that `npm run demo` left running are named as such, apart from the benchmark's own.
 */
export function stackPids(statePath: string): Record<string, number> {
  const run = join(statePath, 'run');
  const out: Record<string, number> = {};
  for (const file of existsSync(run) ? readdirSync(run) : []) {
    if (!file.endsWith('.pid')) continue;
    const pid = Number(readFileSync(join(run, file), 'utf8').trim());
    const name = file.slice(0, -'.pid'.length);
    if (Number.isInteger(pid) && existsSync(`/proc/${pid}`)) out[name === 'worker' || name === 'bridge' ? `demo ${name}` : name] = pid;
  }
  return out;
}

/** The CPU table of a report, whose rows add up to the machine's busy time. */
export function describeCpu(r: CpuReport): string[] {
  return [
    `  CPU (% of one core, average / busiest second; the machine's ${r.cores} cores were ${r.machineBusyPct.toFixed(0)} % busy in all):`,
    ...r.parts.filter((p) => p.averagePct >= 0.5 || p.peakPct >= 2).map((p) => `    ${p.name.padEnd(20)} ${p.averagePct.toFixed(0).padStart(4)} % / ${p.peakPct.toFixed(0).padStart(4)} %`),
    `    ${'parts below 0.5 %'.padEnd(20)} ${r.parts.filter((p) => !(p.averagePct >= 0.5 || p.peakPct >= 2)).reduce((s, p) => s + p.averagePct, 0).toFixed(0).padStart(4)} %`,
    `    ${'everything else'.padEnd(20)} ${r.otherPct.toFixed(0).padStart(4)} %  (the kernel's own work, processes that ended unreaped by a listed part, other processes)`,
  ];
}
