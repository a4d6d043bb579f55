package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
)

// WriteFile writes the HTML report of a finished run to path (REPORT_FILE, or the demo's --report). The caller
// logs a failure: a report that cannot be written never changes the run's outcome.
func WriteFile(path string, res *result.ChaosResult, opts Options) error {
	var buf bytes.Buffer
	if err := Render(&buf, res, opts); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err := WriteAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return nil
}

// WriteAtomic replaces path in one step, so a reader never sees half a report.
func WriteAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*.html")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
