package contrib

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGuideQuotes keeps docs/writing-a-director.md honest: every Go block
// in it must be preceded by a <!-- quote: PATH --> line and appear
// verbatim in that file of the repository, so the guide cannot drift from
// code that compiles and is tested.
func TestGuideQuotes(t *testing.T) {
	const root = "../.."
	guide, err := os.ReadFile(filepath.Join(root, "docs", "writing-a-director.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)(<!-- quote: (\\S+) -->\\n)?```go\\n(.*?)```\\n")
	ms := block.FindAllStringSubmatch(string(guide), -1)
	if len(ms) < 10 {
		t.Fatalf("found %d Go blocks in the guide; want at least 10", len(ms))
	}
	for i, m := range ms {
		path, code := m[2], m[3]
		if path == "" {
			t.Errorf("Go block %d has no quote marker:\n%s", i+1, code)
			continue
		}
		src, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Errorf("block %d: %v", i+1, err)
			continue
		}
		if !strings.Contains(string(src), code) {
			t.Errorf("block %d is not in %s (any more):\n%s", i+1, path, code)
		}
	}
}
