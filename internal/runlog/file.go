package runlog

import (
	"fmt"

	"github.com/dst-dev/dst/internal/atomicfile"
)

// writeFileAtomic replaces path with data so that readers see the old or the new file,
// never a partial one (see atomicfile.Write).
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data); err != nil {
		return fmt.Errorf("runlog: %w", err)
	}
	return nil
}
