package bench

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }

func TestParseOptions(t *testing.T) {
	o, err := parseOptions([]string{"-quick"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 2*time.Second || o.repeat != 1 || o.idle != 1000 || o.targets != nil {
		t.Errorf("-quick: duration %v repeat %d idle %d targets %v", o.duration, o.repeat, o.idle, o.targets)
	}
	o, err = parseOptions([]string{"-quick", "-repeat", "2", "-targets", "shellac,varnishd", "-scenarios", "get1k,idle"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.repeat != 2 || strings.Join(o.targets, ",") != "shellac,varnish" || strings.Join(o.scenarios, ",") != "get1k,idle" {
		t.Errorf("got repeat %d targets %v scenarios %v", o.repeat, o.targets, o.scenarios)
	}
	for _, bad := range [][]string{{"-targets", "squid"}, {"-scenarios", "nope"}, {"-repeat", "0"}, {"-generator", "ab"}, {"extra"}} {
		if _, err := parseOptions(bad, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
