// gocontend: 8 goroutines contending on one sync.Mutex, each holding it
// 200 us at a time, for tests/e2e/test_go.py. Goroutines that wait for the
// mutex park in the Go scheduler; the OS threads (Ms) left without work
// sleep in the runtime's futexes: that, not the mutex, is what an OS-level
// off-CPU profiler sees. Prints the number of critical sections run.
package main

import (
	"fmt"
	"sync"
	"time"
)

func main() {
	var mu sync.Mutex
	var wg sync.WaitGroup
	total := 0
	start := time.Now()
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 400; i++ {
				mu.Lock()
				time.Sleep(200 * time.Microsecond)
				total++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Println(total, time.Since(start))
}
