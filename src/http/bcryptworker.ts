// The thread a BcryptPool (bcryptpool.ts) runs its checks on. A check takes tens to hundreds of
// milliseconds of CPU (bcryptjs is plain JavaScript); here it blocks only this thread, which
// takes one check at a time from the pool and answers it before getting the next.
import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

export interface BcryptRequest {
  password: string;
  hash: string;
}

export interface BcryptAnswer {
  ok: boolean;
}

// This thread at the lowest priority (Linux gives threads their own): when CPU is short, the event
// loop, serving requests with verified credentials, goes first. With the kernel's autogroups the
// process's threads share one slice of the machine, so without this a busy worker halves the loop's.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, constants.priority.PRIORITY_LOW);
} catch {
  // Not Linux: the checks run at the process's priority.
}

const port = parentPort;
if (port === null) throw new Error('bcryptworker.js runs as a worker thread of a BcryptPool');
port.on('message', (m: BcryptRequest) => {
  let ok: boolean;
  try {
    ok = bcrypt.compareSync(m.password, m.hash);
  } catch {
    ok = false; // a hash bcryptjs cannot read matches nothing, as the toolkit's CompareHashAndPassword error
  }
  port.postMessage({ ok } satisfies BcryptAnswer);
});
