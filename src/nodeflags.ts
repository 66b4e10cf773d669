// The V8 settings the gateway runs with: the bin's #! line and `npm start` pass them, and the tests
// and the bench start the gateway with them (a test checks the three agree). A young generation
// of 1 MiB semi-spaces instead of V8's default of up to 16 MiB each keeps ~30 MiB less resident
// for a store of 200,000 series; what pushes and scrapes allocate is short-lived or is the store
// itself, so scavenges stay cheap. The old generation grows by 20 % at a time instead of V8's default of up to 100 %:
// the store is long-lived and grows slowly. (--optimize-for-size saved a few MiB more but cost
// ~40 % of the push rate.)
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--heap-growing-percent=20'];
