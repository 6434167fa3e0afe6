//go:build race

package e2e

// raceEnabled tells the harness to build the server with the race detector too, so that the end-to-end tests
// also check the server for data races.
const raceEnabled = true
