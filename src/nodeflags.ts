// The settings node runs the gateway with: the bin's #! line and `npm start` pass them, and the
// tests and the bench start the gateway with them (a test checks the three agree).
// - 1 MiB semi-spaces instead of V8's default of up to 16 MiB each: ~30 MiB less resident for a
//   store of 200,000 series; what pushes and scrapes allocate is short-lived or is the store
//   itself, so scavenges stay cheap.
// - The old generation grows by 20 % at a time instead of up to 100 %: the store is long-lived
//   and grows slowly.
// - One V8 worker thread instead of four: on the two cores this is sized for, more only compete
//   with the main thread (scrapes ~10 % faster, ~2 MiB less resident).
// (--optimize-for-size saved a few MiB more but cost ~40 % of the push rate.)
export const NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=1',
  '--heap-growing-percent=20',
  '--v8-pool-size=1',
];
