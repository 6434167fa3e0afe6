// Package plugzapi_test holds the layering test: the arrows of DESIGN.md ("http → actors → whatsapp; everything →
// events/store; nothing imports http or cmd") and its Layout table, checked against the imports of every package
// of the module, as Tailscale's tstest/deptest does for its binaries.
//
// TestLayering lists the module with one `go list -deps -json` (no build, a fraction of a second) and checks:
//
//   - layers: every package of the module belongs to one layer (the first whose pkgs match), and its non-test
//     code imports, of the module, only its own layer and what the layer's may list names. A package in no layer
//     fails the test: a new folder is a decision for DESIGN.md's table, so classify it there and here.
//   - restricted: a few packages only some layers may import, whatever may says: nothing imports cmd/..., only
//     cmd/plugzapi imports http, and of wasim only its client half (wasim/simclient) reaches the server.
//   - forbidden: single arrows the layers allow but a package's doc forbids (the events log does not know its
//     consumers).
//   - confined: third-party libraries that belong to one layer (whatsmeow to whatsapp, watermill to events,
//     protoactor to actors); the wiring in cmd/plugzapi may touch them all.
//   - test helpers: `testing` and the module's helper packages (a last path element ending in "test", such as
//     events/eventstest) are imported by test code only.
//   - the server binary: cmd/plugzapi must not carry the simulator, `testing` or a helper package, however
//     indirectly; the failure prints the chain of imports that brings it in.
//
// Tests are held to looser rules, because a test is not shipped and exercises its package from outside:
// a package's tests (TestImports and XTestImports) may import what its layer's code may, plus the simulator
// (wasim/...), the module's test helpers, the package itself and the layer's testMay list (e2e may import the
// whole module), and any third-party package. They still must not import cmd/... or http (except http's own
// tests): the server is tested through its binary and its HTTP API, not by linking them.
//
// knownViolations lists the imports that run against DESIGN.md today. The test tolerates exactly those: an
// import not on the list fails, and so does an entry that no longer happens, so the list can only shrink. When
// you fix one, delete its entry.
//
// Changing the rules: the tables below are the rules; change DESIGN.md's Layout table in the same commit, and say
// why in the commit message. Only the default build (this GOOS/GOARCH, no build tags) is checked.
package plugzapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// module is the module's path. Patterns in the tables are relative to it: "actors" is one package, "events/..."
// is events and everything below it, "..." is the whole module, "." the module's root.
const module = "github.com/plugzapi/plugzapi"

// layer is one row of DESIGN.md's Layout table.
type layer struct {
	name    string   // how failures name it
	pkgs    []string // the packages in the layer
	may     []string // what its code may import of the module, beyond its own layer
	testMay []string // what its tests may import beyond may, the simulator and the test helpers
}

// leaves are the module's shared vocabularies and policies: they import nothing of the module, so any server
// layer above the store may import them without an arrow pointing up. netguard is the address policy of every
// URL the server calls (webhooks, media); media is what a file the server sends must be (kinds, limits, types); account is what a
// linked account holds and can be asked for beyond messages (contacts, chats, groups, profile).
var leaves = []string{"proto/...", "recipient", "netguard", "media", "account"}

var layers = []layer{
	{name: "cmd/plugzapi", pkgs: []string{"cmd/plugzapi"}, may: []string{"..."}}, // wires everything
	{name: "cmd/wasim", pkgs: []string{"cmd/wasim"}, may: []string{"wasim/..."}},
	{name: "http", pkgs: []string{"http"}, may: append([]string{"actors", "access", "events/..."}, leaves...)},
	// access holds the credentials and policies (tokens, Client-Token, IP allow-lists, subscriptions).
	{name: "access", pkgs: []string{"access"}, may: append([]string{"actors", "store/..."}, leaves...)},
	{name: "actors", pkgs: []string{"actors"}, may: append([]string{"events/...", "whatsapp", "store/..."}, leaves...)},
	{name: "events", pkgs: []string{"events/..."}, may: append([]string{"store/..."}, leaves...)},
	// Its tests run whatsmeow's session store on the server's database (store/storetest), on both dialects.
	{name: "whatsapp", pkgs: []string{"whatsapp"}, may: leaves, testMay: []string{"store"}},
	{name: "store", pkgs: []string{"store/..."}}, // store/pgtest and store/storetest: test helpers
	{name: "mediastore", pkgs: []string{"mediastore"}, may: []string{"store/..."}},
	{name: "proto", pkgs: []string{"proto/..."}},
	{name: "recipient", pkgs: []string{"recipient"}},
	{name: "netguard", pkgs: []string{"netguard"}},
	{name: "media", pkgs: []string{"media/..."}},
	{name: "account", pkgs: []string{"account"}},
	{name: "wasim", pkgs: []string{"wasim/..."}}, // a library of its own: nothing of the server
	{name: "e2e", pkgs: []string{"e2e"}, testMay: []string{"..."}},
	// Standalone helpers for developers; they talk to the server over its API like any client.
	{name: "scripts", pkgs: []string{"scripts/..."}},
	{name: "the layering test", pkgs: []string{"."}},
}

// restricted: who may import these packages at all (first match wins). tests: the rule binds test code too.
var restricted = []struct {
	pkg   string
	only  []string
	tests bool
	why   string
}{
	{"cmd/...", nil, true, "nothing imports a binary"},
	{"store/pgtest", []string{"store/storetest"}, false, "a test server: only tests (and the test helpers) use it"},
	{"store/storetest", []string{"events/eventstest"}, false, "a test helper: only tests (and the test helpers) use it"},
	{"http", []string{"cmd/plugzapi"}, true, "nothing imports http but the binary that serves it"},
	{"wasim/simclient", []string{"wasim/...", "cmd/wasim", "cmd/plugzapi", "e2e"}, false,
		"the simulator flag is wiring: only cmd/plugzapi points the server's clients at a simulator"},
	{"wasim/...", []string{"wasim/...", "cmd/wasim", "e2e"}, false,
		"the server must not carry the simulator; it may import wasim/simclient, the client half, only"},
}

// forbidden: arrows the layers allow that a package's design forbids (non-test code).
var forbidden = []struct{ from, to, why string }{
	{"events", "events/...", "the event log knows nothing of its consumers: projections depend on events, not the reverse"},
}

// confined: third-party packages only these layers' code may import.
var confined = []struct {
	paths []string // absolute patterns
	only  []string
	why   string
}{
	{[]string{"go.mau.fi/whatsmeow/...", "go.mau.fi/libsignal/..."}, []string{"whatsapp", "wasim/...", "cmd/plugzapi"},
		"whatsapp alone translates to and from whatsmeow; the actor never sees JIDs or whatsmeow types"},
	{[]string{"github.com/ThreeDotsLabs/watermill/...", "github.com/ThreeDotsLabs/watermill-sql/..."},
		[]string{"events/...", "cmd/plugzapi"}, "the watermill bus is the events package's"},
	{[]string{"github.com/asynkron/protoactor-go/..."}, []string{"actors", "cmd/plugzapi"},
		"the actor system and its cluster glue live in actors; keep the cluster layer thin"},
}

// serverBinary must not depend, even indirectly, on the simulator (beyond wasim/simclient), on `testing` or on a
// test helper package.
const serverBinary = "cmd/plugzapi"

// edge is one import: from (relative to the module) imports to (a full import path).
type edge struct{ from, to string }

// knownViolations are the imports that run against DESIGN.md today, each with the reason it is wrong. The test
// fails when one of them stops happening: delete its entry then.
var knownViolations = map[edge]string{}

// pkg is what `go list -json` says about a package, as far as this test needs.
type pkg struct {
	ImportPath   string
	Dir          string
	DepOnly      bool
	Imports      []string
	TestImports  []string
	XTestImports []string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
	Error        *struct{ Err string }
}

// violation is an import that breaks a rule.
type violation struct {
	edge
	test bool
	rule string
}

func TestLayering(t *testing.T) {
	all, err := listPackages()
	if err != nil {
		t.Fatal(err)
	}
	var mine []*pkg // the module's own packages, not the dependencies
	for _, p := range all {
		if !p.DepOnly && inModule(p.ImportPath) {
			mine = append(mine, p)
		}
	}

	var found []violation
	for _, p := range mine {
		if p.Error != nil { // an import cycle, say: the imports are still listed, so check them too
			t.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		l, ok := layerOf(rel(p.ImportPath))
		if !ok {
			t.Errorf("%s is in no layer: add it to layers in layering_test.go (and to DESIGN.md's Layout table)", p.ImportPath)
			continue
		}
		found = append(found, checkCode(p, l)...)
		found = append(found, checkTests(p, l)...)
	}
	for _, l := range layers {
		if !slices.ContainsFunc(mine, func(p *pkg) bool { return matchAny(l.pkgs, rel(p.ImportPath)) }) {
			t.Errorf("layer %s matches no package: a folder was moved or deleted; update layers in layering_test.go", l.name)
		}
	}

	seen := map[edge]bool{}
	for i, v := range found {
		if _, known := knownViolations[v.edge]; known && !v.test {
			seen[v.edge] = true
			continue
		}
		if slices.ContainsFunc(found[:i], func(w violation) bool { return w.edge == v.edge && w.test == v.test }) {
			continue // reported with its first rule
		}
		var rules []string // every rule the import breaks, in one message
		for _, w := range found[i:] {
			if w.edge == v.edge && w.test == v.test {
				rules = append(rules, w.rule)
			}
		}
		kind := "imports"
		if v.test {
			kind = "imports in its tests"
		}
		p := byPath(mine, full(v.from))
		t.Errorf("%s %s %s (%s)\n\t%s", full(v.from), kind, v.to, strings.Join(filesImporting(p, v.to, v.test), ", "),
			strings.Join(rules, "\n\t"))
	}
	for _, e := range sortedEdges(knownViolations) {
		if !seen[e] {
			t.Errorf("known violation %s imports %s no longer happens: delete it from knownViolations in layering_test.go",
				full(e.from), e.to)
		}
	}

	checkBinary(t, all)
}

// checkCode applies every rule to the imports of p's non-test code.
func checkCode(p *pkg, l layer) []violation {
	from := rel(p.ImportPath)
	var vs []violation
	add := func(to, rule string) { vs = append(vs, violation{edge{from, to}, false, rule}) }
	for _, to := range p.Imports {
		if to == "testing" && !isHelper(from) {
			add(to, "only tests and test helper packages (…test) import testing")
		}
		for _, c := range confined {
			if matchAny(c.paths, to) && !matchAny(c.only, from) {
				add(to, fmt.Sprintf("only %s may import it: %s", strings.Join(c.only, ", "), c.why))
			}
		}
		if !inModule(to) {
			continue
		}
		r := rel(to)
		if isHelper(r) && !isHelper(from) {
			add(to, "test helper packages are for tests only")
		}
		if !matchAny(l.pkgs, r) && !matchAny(l.may, r) {
			add(to, fmt.Sprintf("layer %s may import, of the module, %s (DESIGN.md, Layout)", l.name, mayList(l.may)))
		}
		if rule, ok := restrictedRule(from, r, false); ok {
			add(to, rule)
		}
		for _, f := range forbidden {
			if match(f.from, from) && match(f.to, r) {
				add(to, f.why)
			}
		}
	}
	return vs
}

// checkTests applies the looser rules for tests to the imports of p's _test.go files.
func checkTests(p *pkg, l layer) []violation {
	from := rel(p.ImportPath)
	var vs []violation
	for _, to := range slices.Concat(p.TestImports, p.XTestImports) {
		if to == p.ImportPath || !inModule(to) {
			continue
		}
		r := rel(to)
		if rule, ok := restrictedRule(from, r, true); ok {
			vs = append(vs, violation{edge{from, to}, true, rule})
			continue
		}
		if isHelper(r) || match("wasim/...", r) || matchAny(l.pkgs, r) || matchAny(l.may, r) || matchAny(l.testMay, r) {
			continue
		}
		vs = append(vs, violation{edge{from, to}, true, fmt.Sprintf(
			"tests of layer %s may import, of the module, %s, the simulator (wasim/...) and test helpers",
			l.name, mayList(slices.Concat(l.may, l.testMay)))})
	}
	return vs
}

// checkBinary fails when the server binary depends on something it must not carry, naming the chain of imports.
func checkBinary(t *testing.T, all []*pkg) {
	t.Helper()
	index := map[string]*pkg{}
	for _, p := range all {
		index[p.ImportPath] = p
	}
	bad := func(path string) bool {
		if path == "testing" {
			return true
		}
		if !inModule(path) {
			return false
		}
		r := rel(path)
		return isHelper(r) || (match("wasim/...", r) && r != "wasim/simclient")
	}
	// Breadth first, so the chain printed is a shortest one.
	root := full(serverBinary)
	via := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		if bad(path) {
			chain := []string{path}
			for p := via[path]; p != ""; p = via[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			t.Errorf("the server binary %s depends on %s, which it must not carry:\n\t%s",
				serverBinary, path, strings.Join(chain, "\n\t→ "))
			continue
		}
		p, ok := index[path]
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			if _, seen := via[imp]; !seen {
				via[imp] = path
				queue = append(queue, imp)
			}
		}
	}
	if _, ok := index[root]; !ok {
		t.Errorf("%s is not in the module any more: update serverBinary in layering_test.go", root)
	}
}

func restrictedRule(from, to string, test bool) (string, bool) {
	for _, r := range restricted {
		if !match(r.pkg, to) {
			continue
		}
		if (test && !r.tests) || matchAny(r.only, from) {
			return "", false
		}
		return r.why, true
	}
	return "", false
}

// listPackages runs go list once over the module and its dependencies. With -e, a package that does not load
// (an import cycle, a missing file) is still listed, with its Error.
func listPackages() ([]*pkg, error) {
	cmd := exec.Command("go", "list", "-e", "-deps",
		"-json=ImportPath,Dir,DepOnly,Imports,TestImports,XTestImports,GoFiles,TestGoFiles,XTestGoFiles,Error",
		module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w\n%s", err, stderr.Bytes())
	}
	var pkgs []*pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkg)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			return pkgs, nil
		} else if err != nil {
			return nil, fmt.Errorf("decode go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
}

// filesImporting names p's files (relative to the module's root) that import path, for the failure message.
func filesImporting(p *pkg, path string, test bool) []string {
	if p == nil {
		return nil
	}
	files := p.GoFiles
	if test {
		files = slices.Concat(p.TestGoFiles, p.XTestGoFiles)
	}
	var names []string
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ImportsOnly)
		if err != nil {
			continue
		}
		for _, imp := range f.Imports {
			if v, err := strconv.Unquote(imp.Path.Value); err == nil && v == path {
				names = append(names, filepath.ToSlash(filepath.Join(rel(p.ImportPath), name)))
				break
			}
		}
	}
	return names
}

func layerOf(r string) (layer, bool) {
	for _, l := range layers {
		if matchAny(l.pkgs, r) {
			return l, true
		}
	}
	return layer{}, false
}

// isHelper reports whether the module's package r is a test helper package, such as events/eventstest.
func isHelper(r string) bool {
	return r != "." && strings.HasSuffix(r[strings.LastIndex(r, "/")+1:], "test")
}

func inModule(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

// rel is path relative to the module ("." for its root); full is the inverse.
func rel(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

func full(r string) string {
	if r == "." {
		return module
	}
	return module + "/" + r
}

// match reports whether path matches pattern: "x" is x alone, "x/..." is x and below, "..." is anything.
func match(pattern, path string) bool {
	if pattern == "..." {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == prefix || strings.HasPrefix(path, prefix+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, path) })
}

func mayList(may []string) string {
	if len(may) == 0 {
		return "nothing but its own layer"
	}
	return "only its own layer and " + strings.Join(may, ", ")
}

func byPath(pkgs []*pkg, path string) *pkg {
	for _, p := range pkgs {
		if p.ImportPath == path {
			return p
		}
	}
	return nil
}

func sortedEdges(m map[edge]string) []edge {
	edges := make([]edge, 0, len(m))
	for e := range m {
		edges = append(edges, e)
	}
	slices.SortFunc(edges, func(a, b edge) int { return strings.Compare(a.from+" "+a.to, b.from+" "+b.to) })
	return edges
}
