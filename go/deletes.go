package main

// Deletes only: no goroutine here ever assigns m[k] = v while others run.
// Each round, main fills the map alone, then starts the goroutines and waits.

import (
	"sync"
	"time"
)

func fill() {
	for _, id := range ids {
		dbSessions[id] = session{user: "user-" + id, lastActivity: time.Now()}
	}
}

// rounds fills the map and runs each worker in its own goroutine, again and
// again until d has passed. Rounds are short (1,000 keys) on purpose: the race
// detector remembers only the last ~64K events of each goroutine (GORACE
// history_size=1), and silently drops a race whose earlier access has been
// forgotten. With 50,000 keys a round, a goroutine that started late often
// went unreported and the plain "concurrent map writes" throw came first.
func rounds(d time.Duration, workers ...func()) {
	makeIDs(1_000)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		fill() // no other goroutine is running: this is safe
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func(w func()) { defer wg.Done(); w() }(w)
		}
		wg.Wait()
	}
}

// deleteAll deletes every session: a logout storm, or a sweep.
func deleteAll() {
	for _, id := range ids {
		delete(dbSessions, id) // a map write, even when the key is already gone
	}
}

// readAll only looks sessions up, as alreadyLoggedIn does.
func readAll() {
	for _, id := range ids {
		_ = dbSessions[id].user // a map read
	}
}

// deleteVsDelete: two goroutines delete the same keys ("two logouts start two sweeps").
func deleteVsDelete(d time.Duration) { rounds(d, deleteAll, deleteAll) }

// deleteVsRead: one goroutine deletes while another only reads.
func deleteVsRead(d time.Duration) { rounds(d, deleteAll, readAll) }
