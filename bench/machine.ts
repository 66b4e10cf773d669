// What the benchmark ran on, and which versions it compared.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { REFERENCE_BIN } from '../test/support/servers.js';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalGiB: number;
  kernel: string;
  os: string;
  node: string;
  reference: string;
  oursCommit: string;
  oursSrcDirty: boolean;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).trim();
  } catch {
    return '';
  }
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function machineInfo(): MachineInfo {
  const cpuinfo = readOr('/proc/cpuinfo');
  const meminfo = readOr('/proc/meminfo');
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  const osName = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readOr('/etc/os-release'))?.[1] ?? os.type();
  const nproc = Number(run('nproc', [])) || os.availableParallelism();
  const refVersion = execVersion();
  return {
    nproc,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    memTotalGiB: memKb / 1048576,
    kernel: os.release(),
    os: osName,
    node: process.version,
    reference: refVersion,
    oursCommit: run('git', ['rev-parse', '--short', 'HEAD']) || 'unknown',
    oursSrcDirty: run('git', ['status', '--porcelain', '--', 'src']) !== '',
  };
}

function execVersion(): string {
  // kingpin prints the version on stderr
  const r = spawnSync(REFERENCE_BIN, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const first = out.split('\n')[0]?.trim() ?? '';
  return first || REFERENCE_BIN;
}
