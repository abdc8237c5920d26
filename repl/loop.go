package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

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
// `exit` or a cancelled ctx end the loop. Problems reading or writing the history file
// are reported to w and do not stop the loop.
func Run(ctx context.Context, s *Session, opt LoopOptions, w io.Writer) error {
	ln := liner.NewLiner()
	defer ln.Close()
	ln.SetCtrlCAborts(true)
	ln.SetTabCompletionStyle(liner.TabPrints)
	ln.SetWordCompleter(s.Complete)
	if opt.History != "" {
		if f, err := os.Open(opt.History); err == nil {
			ln.ReadHistory(f)
			f.Close()
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
		ln.AppendHistory(strings.ReplaceAll(text, "\n", " "))
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
