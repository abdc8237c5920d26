//go:build unix

package lang_test

import (
	"syscall"
	"time"
)

// cpuTime returns the process's user+system CPU time, so benchmarks can report a cost
// that does not depend on how busy the machine is.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
