package main

// The fix: one sync.RWMutex guards the map AND the timestamp, and every
// access takes it: Lock to write (touch, login, logout, sweep), RLock to only
// read. The "is a sweep due?" check and the timestamp update happen under the
// same Lock, so two logouts can no longer start two sweeps.

import (
	"math/rand"
	"sync"
	"time"
)

var (
	mu           sync.RWMutex
	safeSessions = map[string]session{} // guarded by mu
	safeCleaned  time.Time              // guarded by mu
)

// safeLoggedIn only reads (the lesson's alreadyLoggedIn): readers share RLock.
func safeLoggedIn(id string) bool {
	mu.RLock()
	defer mu.RUnlock()
	_, ok := safeSessions[id]
	return ok
}

// safeHandle is handle with the lock: touching writes the map, so it is exclusive.
func safeHandle(id string, logout bool, cleanEvery time.Duration) {
	mu.Lock()
	s, ok := safeSessions[id]
	if !ok {
		s.user = "user-" + id
	}
	s.lastActivity = time.Now()
	safeSessions[id] = s
	sweep := false
	if logout {
		delete(safeSessions, id)
		if time.Since(safeCleaned) > cleanEvery {
			safeCleaned = time.Now() // claim the sweep while holding the lock
			sweep = true
		}
	}
	mu.Unlock()
	if sweep {
		go safeClean()
	}
}

func safeClean() {
	mu.Lock()
	defer mu.Unlock()
	for id, s := range safeSessions {
		if time.Since(s.lastActivity) > ttl {
			delete(safeSessions, id) // deleting while ranging is fine, under the lock
		}
	}
}

// fixed runs the touch-vs-clean workload (4 handlers flat out, sweeps at most
// every millisecond) on the guarded map, plus read-only page views.
func fixed(d time.Duration) {
	makeIDs(100)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for h := 0; h < 4; h++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			for time.Now().Before(deadline) {
				id := ids[rng.Intn(len(ids))]
				if rng.Intn(2) == 0 {
					safeLoggedIn(id) // a page view that only reads
				} else {
					safeHandle(id, rng.Intn(100) == 0, time.Millisecond)
				}
			}
		}(int64(h))
	}
	wg.Wait()
}
