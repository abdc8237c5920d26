package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const messy = "# header\nprune   conv*  level 0.7 from epoch 2 every 2\n\n\n\nlet x=1+2\n"
const tidy = "# header\nprune conv* level 0.7 from epoch 2 every 2\n\nlet x = 1 + 2\n"

func TestFmtCmdStdout(t *testing.T) {
	path := writeScript(t, "a.dst", messy)
	code, stdout, stderr := runCmd(t, &FmtCmd{Files: []string{path}})
	if code != 0 || stdout != tidy || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if data, _ := os.ReadFile(path); string(data) != messy {
		t.Error("fmt without -w modified the file")
	}
}

func TestFmtCmdListWriteDiff(t *testing.T) {
	dirty := writeScript(t, "dirty.dst", messy)
	clean := writeScript(t, "clean.dst", tidy)
	if err := os.Chmod(dirty, 0o600); err != nil {
		t.Fatal(err)
	}

	code, stdout, _ := runCmd(t, &FmtCmd{Files: []string{dirty, clean}, List: true})
	if code != 0 || stdout != dirty+"\n" {
		t.Errorf("-l: exit %d, stdout %q", code, stdout)
	}

	code, stdout, _ = runCmd(t, &FmtCmd{Files: []string{dirty, clean}, Diff: true})
	wantDiff := "--- " + dirty + "\n+++ " + dirty + " (formatted)\n@@ -1,6 +1,4 @@\n # header\n-prune   conv*  level 0.7 from epoch 2 every 2\n-\n-\n+prune conv* level 0.7 from epoch 2 every 2\n \n-let x=1+2\n+let x = 1 + 2\n"
	if code != 0 || stdout != wantDiff {
		t.Errorf("-d: exit %d, stdout:\n%s\nwant:\n%s", code, stdout, wantDiff)
	}

	code, stdout, _ = runCmd(t, &FmtCmd{Files: []string{dirty, clean}, Write: true, List: true})
	if code != 0 || stdout != dirty+"\n" {
		t.Errorf("-w -l: exit %d, stdout %q", code, stdout)
	}
	data, _ := os.ReadFile(dirty)
	if string(data) != tidy {
		t.Errorf("-w wrote %q", data)
	}
	if st, _ := os.Stat(dirty); st.Mode().Perm() != 0o600 {
		t.Errorf("-w changed the mode to %v", st.Mode().Perm())
	}
	// Idempotent: a second run changes nothing.
	code, stdout, _ = runCmd(t, &FmtCmd{Files: []string{dirty}, List: true})
	if code != 0 || stdout != "" {
		t.Errorf("second -l: exit %d, stdout %q", code, stdout)
	}
}

func TestFmtCmdErrors(t *testing.T) {
	bad := writeScript(t, "bad.dst", "let a = 1\nprune\n")
	code, stdout, stderr := runCmd(t, &FmtCmd{Files: []string{bad}, Write: true})
	if code != 1 || stdout != "" || !strings.Contains(stderr, "bad.dst:2:6: error: Syntax error") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if data, _ := os.ReadFile(bad); string(data) != "let a = 1\nprune\n" {
		t.Error("fmt -w rewrote a file with syntax errors")
	}
	code, _, stderr = runCmd(t, &FmtCmd{Files: []string{bad + ".missing"}})
	if code != 2 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
}

func TestLineDiffLarge(t *testing.T) {
	a := strings.Repeat("x\n", 3000)
	b := strings.Repeat("y\n", 3000)
	ops := lineDiff(splitLines([]byte(a)), splitLines([]byte(b)))
	if len(ops) != 6000 {
		t.Fatalf("got %d ops", len(ops))
	}
}

// TestFmtCmdWriteSymlink checks that -w on a symbolic link (here a link to a link)
// rewrites the file it points to, keeping its mode, and leaves the links links.
func TestFmtCmdWriteSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "shared", "s.dst")
	if err := os.Mkdir(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte(messy), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.dst")
	if err := os.Symlink(filepath.Join("shared", "s.dst"), link); err != nil {
		t.Fatal(err)
	}
	link2 := filepath.Join(dir, "link2.dst")
	if err := os.Symlink("link.dst", link2); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd(t, &FmtCmd{Files: []string{link2}, Write: true})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, l := range []string{link, link2} {
		if st, err := os.Lstat(l); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symbolic link", filepath.Base(l))
		}
	}
	if b, _ := os.ReadFile(target); string(b) != tidy {
		t.Errorf("the link's target holds %q, want the formatted script", b)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o640 {
		t.Errorf("the target's mode is %v, want 0640", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("files left beside the links: %v", entries)
	}
}
