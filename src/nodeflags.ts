// The V8 settings the gateway runs with: the bin's #! line and `npm start` pass them, and the tests
// and the bench start the gateway with them (a test checks the three agree). A young generation
// of 2 MiB instead of V8's default of up to 16 MiB per semi-space keeps ~25 MiB less resident for
// a store of 200,000 series; pushes and scrapes allocate little that lives, so scavenges stay
// cheap. --optimize-for-size grows the heap in smaller steps.
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--optimize-for-size'];
