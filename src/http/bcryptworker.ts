// The thread a BcryptPool (bcryptpool.ts) runs its checks on. A check takes tens to hundreds of
// milliseconds of CPU (bcryptjs is plain JavaScript); here it blocks only this thread, which
// takes one check at a time from the pool and answers it before getting the next.
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

export interface BcryptRequest {
  password: string;
  hash: string;
}

export interface BcryptAnswer {
  ok: boolean;
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
