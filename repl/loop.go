package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"unicode/utf8"

	"github.com/peterh/liner"
)

// Prompt and ContinuationPrompt are the terminal prompts: a new input, and a further
// line of an input whose brackets are still open.
const (
	Prompt             = "dst> "
	ContinuationPrompt = "...> "
)

// LoopOptions configure [Run].
type LoopOptions struct {
	// History is the history file, read at start and written after every input; ""
	// keeps no history.
	History string
	// Banner is printed once before the first prompt; "" prints nothing.
	Banner string
}

// Run is the interactive loop on the process's terminal (stdin and stdout must be one):
// line editing, history, tab completion ([Session.Complete]), Ctrl-C and Ctrl-D. Ctrl-C
// at the prompt clears the line; while a command runs it cancels that command only (an
// interrupt handler is installed for the command's duration). Ctrl-D on an empty line,
// `exit` or a cancelled ctx end the loop. A history file that [CheckHistory] refuses is
// an error before anything else happens; problems reading or writing an accepted one
// are reported to w and do not stop the loop.
func Run(ctx context.Context, s *Session, opt LoopOptions, w io.Writer) error {
	if opt.History != "" {
		if err := CheckHistory(opt.History); err != nil {
			return err
		}
	}
	ln := liner.NewLiner()
	defer ln.Close()
	ln.SetCtrlCAborts(true)
	ln.SetTabCompletionStyle(liner.TabPrints)
	ln.SetWordCompleter(s.Complete)
	if opt.History != "" {
		if b, err := os.ReadFile(opt.History); err == nil {
			// liner stops at a line it cannot buffer, and would drop every later one.
			var keep []string
			for _, l := range strings.Split(string(b), "\n") {
				if len(l) < maxHistoryLine {
					keep = append(keep, l)
				}
			}
			ln.ReadHistory(strings.NewReader(strings.Join(keep, "\n")))
		}
	}
	if opt.Banner != "" {
		fmt.Fprintln(w, opt.Banner)
	}
	for ctx.Err() == nil {
		var lines []string
		prompt := Prompt
		for {
			line, err := ln.Prompt(prompt)
			if errors.Is(err, liner.ErrPromptAborted) {
				lines = nil // Ctrl-C at the prompt drops the input typed so far
				break
			}
			if errors.Is(err, io.EOF) {
				if len(lines) == 0 {
					fmt.Fprintln(w)
					return nil
				}
				lines = nil // Ctrl-D inside an unfinished input drops it
				fmt.Fprintln(w)
				break
			}
			if err != nil {
				return fmt.Errorf("repl: %w", err)
			}
			lines = append(lines, line)
			if !NeedsMore(strings.Join(lines, "\n")) {
				break
			}
			prompt = ContinuationPrompt
		}
		text := strings.Join(lines, "\n")
		if strings.TrimSpace(text) == "" {
			continue
		}
		// An entry liner could not read back (a long pasted block) is not kept: it would
		// make the history file unreadable to the next session.
		if h := strings.ReplaceAll(text, "\n", " "); len(h) < maxHistoryLine {
			ln.AppendHistory(h)
		}
		cctx, stop := commandContext(ctx)
		err := s.Exec(cctx, text)
		stop()
		if opt.History != "" {
			if err := writeHistory(ln, opt.History); err != nil {
				fmt.Fprintf(w, "warning: history %s: %v\n", opt.History, err)
				opt.History = ""
			}
		}
		if errors.Is(err, ErrExit) {
			return nil
		}
	}
	return ctx.Err()
}

// maxHistoryLine is the length from which liner refuses a history line (the size of
// its bufio.Reader's buffer).
const maxHistoryLine = 4096

// CheckHistory reports an error when the file at path cannot be [Run]'s history file:
// Run rewrites that file after every input, so a file that liner did not write (a
// checkpoint or a document given by mistake) would be lost. A missing file is fine (Run
// creates it); an existing one must be a regular file of UTF-8 text without NUL or
// other control characters (tabs and carriage returns aside) holding at most
// liner.HistoryLimit lines, as liner writes them.
func CheckHistory(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("repl: history file: %w", err)
	}
	not := func(format string, args ...any) error {
		return fmt.Errorf("repl: %s is not a history file (%s); it was left as it is", path, fmt.Sprintf(format, args...))
	}
	if !st.Mode().IsRegular() {
		return not("it is a %s, not a regular file", fileKind(st.Mode()))
	}
	if limit := int64(liner.HistoryLimit+1) * 4 * maxHistoryLine; st.Size() > limit {
		return not("it is %d bytes, more than liner's %d lines of history can be", st.Size(), liner.HistoryLimit)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("repl: history file: %w", err)
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return not("byte %d is NUL: it is binary, not text", i)
	}
	if !utf8.Valid(b) {
		return not("it is not UTF-8 text")
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(b) == 0 {
		lines = nil
	}
	if len(lines) > liner.HistoryLimit {
		return not("it has %d lines; liner keeps at most %d", len(lines), liner.HistoryLimit)
	}
	for i, l := range lines {
		// An over-long line is text all the same (an older dst kept long entries);
		// liner skips it when it reads the file.
		for _, r := range l {
			if (r < 0x20 && r != '\t' && r != '\r') || r == 0x7f {
				return not("line %d holds the control character %U", i+1, r)
			}
		}
	}
	return nil
}

// fileKind names what a non-regular file is.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "folder"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// writeHistory writes the history file.
func writeHistory(ln *liner.State, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := ln.WriteHistory(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// commandContext returns a context that an interrupt (SIGINT) cancels, for one
// command; stop removes the handler.
func commandContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			cancel()
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
}
