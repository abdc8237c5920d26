//go:build unix

package kernels

import (
	"syscall"
	"time"
)

// cpuSeconds returns the user+system CPU time of this process, so that
// benchmarks on a shared machine can report rates that exclude the time
// other processes held the CPU.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
