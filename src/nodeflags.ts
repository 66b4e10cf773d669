// The settings node runs the gateway with: the bin's #! line and `npm start` pass them, and the
// tests and the bench start the gateway with them (a test checks the three agree).
// - Semi-spaces of at most 4 MiB instead of V8's default of up to 16 MiB each: V8 grows the young
//   generation to that only under load, and idlegc.ts gives it back once writes stop (~5 s). At
//   1 MiB (the setting until issue #11), the busy fleet's scavenges took 11 % of the main thread,
//   each copying the pushes in flight: 4 MiB halved that (1.65 → 0.85 s per 15 s; event-loop
//   utilisation 0.87–0.95 → 0.82–0.84, push p99 143–186 → 85–117 ms) and cut a small push's CPU
//   by ~10 %, for more resident memory after a load of 10,000–100,000 groups: 4–7 MiB at 3 s,
//   0–5 MiB at 15 s, none at 25 s.
// - The old generation grows by 20 % at a time instead of up to 100 %: the store is long-lived
//   and grows slowly.
// - One V8 worker thread instead of four: on the two cores this is sized for, more only compete
//   with the main thread (scrapes ~10 % faster, ~2 MiB less resident).
// (--optimize-for-size saved a few MiB more but cost ~40 % of the push rate.)
export const NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=4',
  '--heap-growing-percent=20',
  '--v8-pool-size=1',
];
