// Command golesson replays the Go web-course session lesson so that Go's own
// tools (the runtime's map checks and the race detector) can judge its claims.
//
//	go build -o lesson . && ./lesson -variant touch-vs-clean
//	go build -race -o lesson-race . && ./lesson-race -variant touch-vs-clean
//
// Every variant runs for at most -d and then prints "survived". A racy variant
// that does not survive dies with "fatal error: concurrent map ..." (a throw:
// recover() cannot catch it), and the -race build prints "WARNING: DATA RACE".
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"
)

// variants maps a -variant name to the code it runs for (about) d.
var variants = map[string]func(d time.Duration){
	"touch-vs-clean":   touchVsClean,   // the lesson's pattern, flat out
	"paced":            paced,          // the same code at the lesson server's pace
	"delete-vs-delete": deleteVsDelete, // two goroutines delete the same keys
	"delete-vs-read":   deleteVsRead,   // one deletes, one only reads
	"fixed":            fixed,          // one sync.RWMutex around every access
}

// ids are the session ids (the lesson's cookie values). They are made before
// any goroutine starts and only read afterwards, so sharing them is safe.
var ids []string

func makeIDs(n int) {
	ids = make([]string, n)
	for i := range ids {
		ids[i] = "sid-" + strconv.Itoa(i)
	}
}

func main() {
	name := flag.String("variant", "touch-vs-clean", "which variant to run")
	d := flag.Duration("d", 2*time.Second, "how long to run")
	flag.Parse()
	run, ok := variants[*name]
	if !ok {
		var names []string
		for n := range variants {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "unknown variant %q; one of %v\n", *name, names)
		os.Exit(2)
	}
	start := time.Now()
	run(*d)
	fmt.Printf("%s: survived %v\n", *name, time.Since(start).Round(time.Millisecond))
}
