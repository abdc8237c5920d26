package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestReplScripted runs `dst repl` with a script on stdin: params, prune fc1 to 50%,
// three bad lines that print diagnostics, params (fc1 at 50.00%), eval, undo, params
// (fc1 dense again). The bad lines make the exit status 1; everything else runs.
func TestReplScripted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dst")
	}
	bin := buildDst(t)
	cmd := exec.Command(bin, "repl", "--limit-train", "256", "--limit-test", "256")
	cmd.Stdin = strings.NewReader("params\nprune fc1 level 50%\nprune fc9 level 50%\nprune fc1 level \"half\"\n]] garbage\nparams\neval 2 batches\nundo\nparams\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	var fc1 []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if f := strings.Fields(line); len(f) == 6 && f[0] == "fc1.weight" {
			fc1 = append(fc1, f[4])
		}
	}
	if strings.Join(fc1, " ") != "0.00% 50.00% 0.00%" {
		t.Errorf("fc1.weight sparsity in the three params tables: %v, want 0.00%% 50.00%% 0.00%%\n%s", fc1, &stdout)
	}
	for _, want := range []string{"128 samples", "undid prune fc1 level 50%"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}
	for _, want := range []string{"<repl>:3:7: error:", "<repl>:4:17: error:", "<repl>:5:1: error:", "3 of the inputs failed"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, &stderr)
		}
	}
}

// startPTY starts bin with args on a pseudo-terminal of 40 rows and cols columns
// (closed when the test ends) and returns the command, the terminal, what the program
// writes to it, and the channel that receives the command's Wait.
func startPTY(t *testing.T, bin string, cols uint16, args ...string) (*exec.Cmd, *os.File, *ptyOutput, chan error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	out := &ptyOutput{}
	go io.Copy(out, tty)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, tty, out, done
}

// ptyOutput collects what the program writes to the terminal.
type ptyOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *ptyOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// expect waits until the output from offset from on contains want and returns the
// offset just past it.
func (o *ptyOutput) expect(t *testing.T, from int, want string, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		o.mu.Lock()
		s := o.buf.String()
		o.mu.Unlock()
		if i := strings.Index(s[min(from, len(s)):], want); i >= 0 {
			return min(from, len(s)) + i + len(want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q after %v; terminal output:\n%q", want, timeout, s[min(from, len(s)):])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplTerminal drives `dst repl` through a pseudo-terminal: Tab completes `pru` to
// `prune`, Ctrl-C stops `train 3 epochs` and the prompt comes back with the session
// alive, Ctrl-D exits with status 0, and the history file holds the inputs.
func TestReplTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dst and trains")
	}
	bin := buildDst(t)
	history := filepath.Join(t.TempDir(), "history")
	cmd, tty, out, done := startPTY(t, bin, 120, "repl", "--limit-test", "256", "--history", history)
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()

	at := out.expect(t, 0, "dst> ", 30*time.Second)
	// Completion: `pru<TAB>` becomes `prune`; the rest of the statement runs it.
	tty.Write([]byte("pru\t"))
	at = out.expect(t, at, "prune", 10*time.Second)
	tty.Write([]byte(" fc1 level 50%\r"))
	at = out.expect(t, at, "fc1.weight               50.00% sparse", 30*time.Second)
	at = out.expect(t, at, "dst> ", 10*time.Second)

	// Ctrl-C while training cancels the command, not the session.
	tty.Write([]byte("train 3 epochs\r"))
	time.Sleep(1500 * time.Millisecond)
	tty.Write([]byte{0x03})
	at = out.expect(t, at, "train interrupted after", 30*time.Second)
	out.mu.Lock()
	t.Logf("train interrupted after%s", strings.SplitN(out.buf.String()[at:], ";", 2)[0])
	out.mu.Unlock()
	at = out.expect(t, at, "dst> ", 10*time.Second)
	select {
	case err := <-done:
		t.Fatalf("dst repl ended on Ctrl-C: %v", err)
	default:
	}

	// The session is alive and still holds the pruned model.
	tty.Write([]byte("sparsity\r"))
	at = out.expect(t, at, "fc1.weight", 30*time.Second)
	at = out.expect(t, at, "dst> ", 10*time.Second)

	// Ctrl-C at the prompt drops the line; Ctrl-D exits.
	tty.Write([]byte("garbage\x03"))
	at = out.expect(t, at, "dst> ", 10*time.Second)
	tty.Write([]byte{0x04})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dst repl exit on Ctrl-D: %v\n%s", err, out.buf.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("dst repl did not exit on Ctrl-D")
	}
	hist, err := os.ReadFile(history)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"prune fc1 level 50%", "train 3 epochs", "sparsity"} {
		if !strings.Contains(string(hist), want) {
			t.Errorf("history lacks %q:\n%s", want, hist)
		}
	}
}

// TestReplScriptInterrupt sends SIGINT to a scripted `dst repl` while it trains: the
// train command stops, the rest of the script runs, and the interrupted command makes
// the exit status 1.
func TestReplScriptInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dst and trains")
	}
	bin := buildDst(t)
	cmd := exec.Command(bin, "repl", "--limit-test", "256")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &ptyOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()
	io.WriteString(stdin, "prune fc2 level 20%\ntrain 3 epochs\n")
	at := out.expect(t, 0, "fc2.weight", 30*time.Second)
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	at = out.expect(t, at, "train interrupted after", 30*time.Second)
	io.WriteString(stdin, "schedule\n")
	stdin.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\n%s", err, out.buf.String())
	}
	out.expect(t, at, "epoch position 0", time.Second)
}

// TestReplRefusesNonHistory starts `dst repl --history CHECKPOINT` on a terminal: it
// must exit with status 2 and say why, leaving the checkpoint as it was (the loop
// rewrites its history file after every input, which destroyed such a file). Should the
// session start anyway, an input and Ctrl-D are sent, as a user would.
func TestReplRefusesNonHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dst")
	}
	bin := buildDst(t)
	victim := untrainedCheckpoint(t, "lenet300_100")
	before, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	cmd, tty, out, done := startPTY(t, bin, 200, "repl", "--model", "lenet300_100", "--history", victim)
	var exitErr error
	prompt := func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		return strings.Contains(out.buf.String(), "dst> ")
	}
wait:
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case exitErr = <-done:
			break wait
		default:
		}
		if prompt() || time.Now().After(deadline) {
			tty.Write([]byte("params\r"))
			time.Sleep(2 * time.Second)
			tty.Write([]byte{0x04})
			select {
			case exitErr = <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				exitErr = <-done
			}
			break wait
		}
	}
	if after, _ := os.ReadFile(victim); !bytes.Equal(before, after) {
		t.Errorf("dst repl --history rewrote the checkpoint (%d bytes, was %d)", len(after), len(before))
	}
	var ee *exec.ExitError
	if !errors.As(exitErr, &ee) || ee.ExitCode() != 2 {
		t.Errorf("exit: %v, want status 2", exitErr)
	}
	out.expect(t, 0, "is not a history file (byte", 5*time.Second)
	out.expect(t, 0, "give another file, or none to keep no history", 5*time.Second)
}
