package runlog

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data so that readers see the old or the new file,
// never a partial one: it writes a temporary file in the same directory, syncs it, renames
// it over path and syncs the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("runlog: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("runlog: write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("runlog: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("runlog: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("runlog: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("runlog: write %s: %w", path, err)
	}
	// Make the rename itself durable. Some file systems cannot sync a directory; the file
	// is in place either way, so that error is not reported.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
