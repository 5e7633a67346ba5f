package httpd

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestOperationsDocListsEveryMetric: docs/operations.md has a row for
// every metric the collector can emit, and none it cannot.
func TestOperationsDocListsEveryMetric(t *testing.T) {
	page, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(ringex_[a-z_]+)` \\|").FindAllSubmatch(page, -1) {
		documented = append(documented, string(m[1]))
	}
	for _, name := range metricNames {
		if !slices.Contains(documented, name) {
			t.Errorf("docs/operations.md does not list %s", name)
		}
	}
	for _, name := range documented {
		if !slices.Contains(metricNames, name) {
			t.Errorf("docs/operations.md lists %s, which the collector does not emit", name)
		}
	}
	if len(documented) == 0 {
		t.Error("no metric rows found in docs/operations.md")
	}
}
