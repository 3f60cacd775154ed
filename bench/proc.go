package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// server is how to start one side's process: a binary that serves HTTP on
// the address args is given.
type server struct {
	bin   string
	args  func(addr string) []string
	ready string // a path that answers once the process serves
	// alloc reads the process's allocations so far (bytes, objects); nil: not known.
	alloc func(p *proc) (bytes, mallocs float64, err error)
}

// proc is a running process under test, fresh for each measurement so that
// its peak RSS is that measurement's.
type proc struct {
	cmd  *exec.Cmd
	addr string
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// start runs s on a free loopback port and waits until it serves.
func (s server) start(extraArgs ...string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.bin, append(s.args(addr), extraArgs...)...)
	// nil Stdout/Stderr are /dev/null: no pipe, no copying goroutine here.
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, addr: addr}
	client := http.Client{Timeout: time.Second}
	for range 200 {
		if resp, err := client.Get("http://" + addr + s.ready); err == nil {
			resp.Body.Close()
			return p, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("%s did not come up on %s", s.bin, addr)
}

// stop ends the process (one we started, by its PID) and reaps it.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// cpuTime is the user+system CPU time of every thread of process pid, read
// from its process CPU clock (clock_getcpuclockid): nanoseconds, where
// /proc/PID/stat counts 10 ms ticks.
func cpuTime(pid int) (time.Duration, error) {
	const cpuClockSched = 2                   // CPUCLOCK_SCHED: user+system, whole process
	clock := int32((^pid)<<3 | cpuClockSched) // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(clock), uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0, fmt.Errorf("CPU clock of %d: %w", pid, errno)
	}
	return time.Duration(ts.Nano()), nil
}

// statusMB reads a memory field of /proc/PID/status ("VmHWM", "VmRSS") in MB.
func statusMB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb float64
			_, _ = fmt.Sscan(rest, &kb)
			return kb / 1024
		}
	}
	return 0
}

// loadAverage is the first field of /proc/loadavg: how busy the shared machine was.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
