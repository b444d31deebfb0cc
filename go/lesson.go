package main

// The lesson's code, kept as close to the course as a test allows: a global
// map and a global timestamp, shared by handler goroutines and by the
// `go cleanSessions()` sweeps that logouts start. There is no lock anywhere.

import (
	"math/rand"
	"sync"
	"time"
)

type session struct {
	user         string
	lastActivity time.Time
}

var (
	dbSessions        = map[string]session{} // id -> session, shared, unguarded
	dbSessionsCleaned time.Time              // last sweep, shared, unguarded
)

const ttl = 50 * time.Millisecond // idle time after which a session is swept

// handle is one request: touch the session (or log in again); a logout also
// deletes the session and, as in the lesson, may start a sweep.
func handle(id string, logout bool, cleanEvery time.Duration) {
	s, ok := dbSessions[id] // map read
	if !ok {
		s.user = "user-" + id // log in again
	}
	s.lastActivity = time.Now()
	dbSessions[id] = s // map write: EVERY request writes the map

	if logout {
		delete(dbSessions, id)                          // map write
		if time.Since(dbSessionsCleaned) > cleanEvery { // unguarded read
			go cleanSessions() // two logouts can start two sweeps
		}
	}
}

// cleanSessions is the lesson's sweep: range over the map and delete idle
// sessions while handlers keep writing it.
func cleanSessions() {
	for id, s := range dbSessions { // map iteration
		if time.Since(s.lastActivity) > ttl {
			delete(dbSessions, id) // "deleting is different from writing": it is not
		}
	}
	dbSessionsCleaned = time.Now() // unguarded write, from every sweep
}

// serve runs `handlers` goroutines that each handle a request (1 in 100 a
// logout), then sleep about `pause` (randomly 0.5x to 1.5x, as real requests
// do not arrive in lockstep), until d has passed.
func serve(handlers int, pause, cleanEvery, d time.Duration) {
	makeIDs(100)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for h := 0; h < handlers; h++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			// A private generator: the global math/rand one takes a lock, and
			// that lock would hide some of the races from the race detector.
			rng := rand.New(rand.NewSource(seed))
			for time.Now().Before(deadline) {
				if pause > 0 { // wait first: requests do not all arrive at t=0
					time.Sleep(pause/2 + time.Duration(rng.Int63n(int64(pause))))
				}
				handle(ids[rng.Intn(len(ids))], rng.Intn(100) == 0, cleanEvery)
			}
		}(int64(h))
	}
	wg.Wait()
}

// touchVsClean: 4 handlers flat out, a sweep at most every millisecond.
func touchVsClean(d time.Duration) { serve(4, 0, time.Millisecond, d) }

// paced: 4 handlers, each pausing about 10 ms between requests (about 400
// map writes per second, a busy day for the lesson's server), and a sweep at
// most once a second (the lesson waits 30 s). Each map operation takes well
// under a microsecond, so two rarely overlap and the plain build "seems
// fine". The race detector does not wait for an overlap: it still reports.
func paced(d time.Duration) { serve(4, 10*time.Millisecond, time.Second, d) }
