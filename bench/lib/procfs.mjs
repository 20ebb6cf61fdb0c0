// Memory and socket readings of a process from /proc (Linux only).
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';

function statusField(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

/** Resident set size now, in bytes. */
export const rss = (pid) => statusField(pid, 'VmRSS');
/** Peak resident set size since start or since the last `resetPeak`, in bytes. */
export const peakRss = (pid) => statusField(pid, 'VmHWM');

/** Resets VmHWM to the current RSS (`echo 5 > /proc/pid/clear_refs`, Linux >= 4.0); false where not allowed. */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU time (user + system) the process has used, in ms. */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, i.e. 11 and 12 after the command name.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

/** How many TCP connections of process `pid` are established to one of `remotePorts` on 127.0.0.1. */
export function connectionsTo(pid, remotePorts) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* closed meanwhile */
    }
  }
  const ports = new Set(remotePorts.map((p) => p.toString(16).toUpperCase().padStart(4, '0')));
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const remPort = cols[2].split(':')[1];
      // st 01 = ESTABLISHED
      if (cols[3] === '01' && ports.has(remPort) && inodes.has(cols[9])) n++;
    }
  }
  return n;
}

/** Samples `read()` every `everyMs` until stopped; returns [{ t (ms since start), ...value }]. */
export function sampler(read, everyMs) {
  const start = Date.now();
  const samples = [];
  const take = () => {
    try {
      samples.push({ t: Date.now() - start, ...read() });
    } catch {
      /* process gone */
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop: () => {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

/** CPU time the whole machine spent busy (all cores, steal included), in ms. */
export function machineBusyMs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return ((user + nice + system + irq + softirq + (steal ?? 0)) * 1000) / 100;
}

/** Pids of processes whose command name is one of `names`. */
export function pidsByName(names) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (names.includes(readFileSync(`/proc/${d}/comm`, 'utf8').trim())) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * How much CPU processes outside the benchmark used during a run: the machine's busy time minus what the bench
 * process and `pids` (server or baseline, database, sinks) used. In cores (1.0 = one core busy all the time).
 */
export function foreignCpu(pids) {
  const own = () => pids().reduce((n, pid) => {
    try {
      return n + cpuMs(pid);
    } catch {
      return n;
    }
  }, 0);
  const t0 = performance.now();
  const busy0 = machineBusyMs();
  const own0 = own();
  const me0 = process.cpuUsage();
  return () => {
    const me = process.cpuUsage(me0);
    const elapsed = performance.now() - t0;
    const foreign = machineBusyMs() - busy0 - (own() - own0) - (me.user + me.system) / 1000;
    return Math.max(0, Math.round((100 * foreign) / elapsed) / 100);
  };
}
