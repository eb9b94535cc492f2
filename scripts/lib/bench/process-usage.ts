/**
 * RSS and CPU of the soak run's processes: from a service's `/metrics` (prom-client's default process
 * metrics, `sensorseal_<service>_process_*`) when it has them, else from /proc/<pid>/stat and status
 * (Linux), and this process's own. A tracker keeps the samples: peak RSS, whether RSS grows over
 * the run, CPU share.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

import type { HttpClient } from "./util.js";

/** One reading of a process's resident memory and CPU time (user + system). */
export interface Usage {
  rssBytes: number;
  cpuSeconds: number;
  /** The kernel's high-water mark of RSS (VmHWM), when read from /proc. */
  peakRssBytes?: number;
  /** V8's used JS heap, where the process reports it (prom-client's default metrics, or this process). */
  heapUsedBytes?: number;
}
export type UsageProbe = () => Promise<Usage>;

/**
 * The sum over every label set of the samples named `name` in Prometheus text (NaN when absent);
 * `labels` keeps only samples whose label text contains each `key="value"`.
 *
 * @example metricSum('a_total{result="x"} 2\na_total{result="y"} 3\n', "a_total"); // 5
 */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = NaN;
  for (const match of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.e+-]+|NaN)$`, "gm"))) {
    const labelText = match[1] ?? "";
    if (!wanted.every((w) => labelText.includes(w))) continue;
    total = (Number.isNaN(total) ? 0 : total) + Number(match[2]);
  }
  return total;
}

/** Each label value of `label` on the samples named `name`, with its summed value. */
export function metricByLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} ([0-9.e+-]+)$`, "gm"))) {
    const value = new RegExp(`${label}="([^"]*)"`).exec(match[1])?.[1] ?? "";
    out[value] = (out[value] ?? 0) + Number(match[2]);
  }
  return out;
}

/** From the service's `/metrics` (prom-client default metrics, prefix `sensorseal_<service>_`). */
export function metricsProbe(client: HttpClient, service: string): UsageProbe {
  return async () => {
    const text = (await client.get("/metrics")).text;
    return {
      rssBytes: metricSum(text, `sensorseal_${service}_process_resident_memory_bytes`),
      cpuSeconds: metricSum(text, `sensorseal_${service}_process_cpu_seconds_total`),
      heapUsedBytes: metricSum(text, `sensorseal_${service}_nodejs_heap_size_used_bytes`),
    };
  };
}

let clockTicks: number | undefined;
/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on Linux unless told otherwise). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system, all threads) in the text of /proc/<pid>/stat. */
function statCpuSeconds(stat: string): number {
  // Fields after the command name (which may hold spaces) end with ") ": utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** CPU ms a process has used so far (user + system, all threads), from /proc; NaN where there is none. */
export function processCpuMs(pid: number): number {
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, "utf8")) * 1000;
  } catch {
    return NaN;
  }
}

/** CPU ms this process has used so far (all threads). */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** From /proc/<pid>/stat (utime, stime) and /proc/<pid>/status (VmRSS, VmHWM), for a process without metrics. */
export function procProbe(pid: number): UsageProbe {
  return async () => {
    const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, "utf8"), readFile(`/proc/${pid}/status`, "utf8")]);
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM"), cpuSeconds: statCpuSeconds(stat) };
  };
}

/** This process (the load generator and the in-process chains). */
export const selfProbe: UsageProbe = async () => {
  const { rss, heapUsed } = process.memoryUsage();
  return { rssBytes: rss, cpuSeconds: ownCpuMs() / 1000, heapUsedBytes: heapUsed };
};

/** What {@link UsageTracker.summary} answers. */
export interface UsageSummary {
  process: string;
  peakRssMiB: number;
  /** RSS at a third of the run and at its end: the growth check compares the two. */
  rssAtThirdMiB: number;
  rssAtEndMiB: number;
  /** RSS at the end exceeds RSS at a third of the run by more than 10 %. */
  rssGrows: boolean;
  /**
   * The lowest used JS heap in the middle third of the samples and in the last third (NaN where the
   * process does not report its heap). Used heap saw-tooths with garbage collection; its floor is what
   * stays live, so a floor that keeps rising is retained memory, while RSS can also grow from the
   * allocator's and V8's reserves.
   */
  heapFloorMiddleMiB: number;
  heapFloorEndMiB: number;
  /** The last third's heap floor exceeds the middle third's by more than 10 %. */
  heapGrows: boolean;
  /** CPU seconds per wall second over the samples (1 = one core busy). */
  cpuShare: number;
}

const MIB = 2 ** 20;

/** The samples of one process's usage over the run. */
export class UsageTracker {
  readonly #samples: { at: number; usage: Usage }[] = [];
  #peakRss = 0;

  constructor(
    readonly name: string,
    readonly probe: UsageProbe,
  ) {}

  /** Takes a sample; answers it with the CPU share since the previous one (undefined when the probe fails). */
  async sample(): Promise<{ usage: Usage; cpuShare: number } | undefined> {
    let usage: Usage;
    try {
      usage = await this.probe();
    } catch {
      return undefined; // the process has ended or does not answer: no sample
    }
    const at = performance.now();
    const previous = this.#samples.at(-1);
    this.#samples.push({ at, usage });
    this.#peakRss = Math.max(this.#peakRss, usage.rssBytes, usage.peakRssBytes ?? 0);
    const cpuShare = previous === undefined ? NaN : (usage.cpuSeconds - previous.usage.cpuSeconds) / ((at - previous.at) / 1000);
    return { usage, cpuShare };
  }

  summary(): UsageSummary {
    const s = this.#samples;
    const first = s[0];
    const last = s.at(-1);
    const third = s[Math.floor((s.length - 1) / 3)];
    const share =
      first === undefined || last === undefined || last.at === first.at
        ? NaN
        : (last.usage.cpuSeconds - first.usage.cpuSeconds) / ((last.at - first.at) / 1000);
    const atThird = (third?.usage.rssBytes ?? NaN) / MIB;
    const atEnd = (last?.usage.rssBytes ?? NaN) / MIB;
    const heapFloor = (from: number, to: number) => {
      const heaps = s.slice(from, to).map((x) => x.usage.heapUsedBytes ?? NaN);
      return heaps.length === 0 || heaps.some(Number.isNaN) ? NaN : Math.min(...heaps) / MIB;
    };
    const middle = heapFloor(Math.floor(s.length / 3), Math.floor((2 * s.length) / 3));
    const end = heapFloor(Math.floor((2 * s.length) / 3), s.length);
    return {
      process: this.name,
      peakRssMiB: this.#peakRss / MIB,
      rssAtThirdMiB: atThird,
      rssAtEndMiB: atEnd,
      rssGrows: atEnd > atThird * 1.1,
      heapFloorMiddleMiB: middle,
      heapFloorEndMiB: end,
      heapGrows: end > middle * 1.1,
      cpuShare: share,
    };
  }
}

/**
 * The summaries as a Markdown table.
 *
 * @example usageTable([tracker.summary()]); // ["| process | peak RSS | …", "|---|…", "| relayer | 318 MiB | 299 → 318 MiB | no | 16 % |"]
 */
export function usageTable(summaries: readonly UsageSummary[]): string[] {
  return [
    "| process | peak RSS | RSS at 1/3 → end of load | grows (> 10 %) | JS heap floor, middle → last third | grows (> 10 %) | CPU (% of a core) |",
    "|---|---:|---:|---|---:|---|---:|",
    ...summaries.map(
      (u) =>
        `| ${u.process} | ${u.peakRssMiB.toFixed(0)} MiB | ${u.rssAtThirdMiB.toFixed(0)} → ${u.rssAtEndMiB.toFixed(0)} MiB | ` +
        `${u.rssGrows ? "yes" : "no"} | ` +
        (Number.isNaN(u.heapFloorEndMiB)
          ? "not reported | — | "
          : `${u.heapFloorMiddleMiB.toFixed(0)} → ${u.heapFloorEndMiB.toFixed(0)} MiB | ${u.heapGrows ? "yes" : "no"} | `) +
        `${(u.cpuShare * 100).toFixed(0)} % |`,
    ),
  ];
}
