package config

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeRuleRecipes parses the README's rule recipes (the first TOML
// block of its "Rules" section) with the backends they name, so the
// documentation cannot drift from what the configuration accepts.
func TestReadmeRuleRecipes(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Rules\n")
	if !ok {
		t.Fatal("README has no Rules section")
	}
	_, block, ok := strings.Cut(section, "```toml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the Rules section has no TOML block")
	}
	src := "[server]\nlisten = [\"127.0.0.1:8080\"]\ndefault_director = \"api\"\n[backends.api]\naddress = \"127.0.0.1:9001\"\n" + block
	c, err := Parse("README.md", []byte(src))
	if err != nil {
		t.Fatalf("the README's recipes do not parse:\n%v", err)
	}
	if len(c.RequestRules) != 3 || len(c.ResponseRules) != 1 || len(c.Routes) != 1 || len(c.Routes[0].RequestRules) != 1 {
		t.Errorf("recipes: %d request rules, %d response rules, %d routes", len(c.RequestRules), len(c.ResponseRules), len(c.Routes))
	}
}
