//go:build !unix

package stdlib

import "time"

// cpuTime is unavailable on this platform; benchmarks report 0 CPU time.
func cpuTime() time.Duration { return 0 }
