package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLicenseMatchesTheImageLabel: the image's org.opencontainers.image.licenses label names the license the
// repository actually ships.
func TestLicenseMatchesTheImageLabel(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "LICENSE"))
	if err != nil {
		t.Fatalf("the repository has no LICENSE file, but the image says %s: %v", licenses, err)
	}
	text := strings.Join(strings.Fields(string(data)), " ")
	if licenses != "Apache-2.0" || !strings.Contains(text, "Apache License Version 2.0, January 2004") {
		t.Fatalf("the image label says %q but LICENSE is not the Apache License 2.0", licenses)
	}
}
