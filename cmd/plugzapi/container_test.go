package main

import (
	"debug/elf"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// repoRoot is where the Dockerfile, the compose file and go.mod are, from this package's directory.
const repoRoot = "../.."

// dockerfile is the part of a Dockerfile this test reads: per stage, its base image and instructions.
type dockerfile struct {
	stages []dockerStage
}

type dockerStage struct {
	from, name   string
	instructions []dockerInstruction
}

type dockerInstruction struct {
	keyword, args string
}

// parseDockerfile reads instructions, joining continued lines and dropping comments.
func parseDockerfile(t *testing.T, text string) dockerfile {
	t.Helper()
	var d dockerfile
	var logical []string
	var cur strings.Builder
	for line := range strings.SplitSeq(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || trimmed == "" && cur.Len() == 0 {
			continue
		}
		if rest, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(trimmed)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	for _, l := range logical {
		keyword, args, _ := strings.Cut(l, " ")
		keyword = strings.ToUpper(keyword)
		args = strings.TrimSpace(args)
		if keyword == "FROM" {
			f := strings.Fields(args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := dockerStage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			d.stages = append(d.stages, st)
			continue
		}
		if len(d.stages) == 0 {
			continue // ARGs before the first FROM
		}
		st := &d.stages[len(d.stages)-1]
		st.instructions = append(st.instructions, dockerInstruction{keyword, args})
	}
	if len(d.stages) < 2 {
		t.Fatalf("the Dockerfile has %d stages, want a build stage and a final one", len(d.stages))
	}
	return d
}

// all returns the arguments of every instruction of the stage with this keyword.
func (s dockerStage) all(keyword string) []string {
	var out []string
	for _, in := range s.instructions {
		if in.keyword == keyword {
			out = append(out, in.args)
		}
	}
	return out
}

// shellWords splits a shell command line into words, honouring double and single quotes; no expansion.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// knownSettings are the server's settings, by environment variable.
func knownSettings() map[string]bool {
	known := map[string]bool{}
	var c Config
	for _, s := range c.settings() {
		known[s.env] = true
	}
	return known
}

// imageEnv returns the settings the image's final stage sets; each must be the server's own.
func imageEnv(t *testing.T, final dockerStage) map[string]string {
	t.Helper()
	known := knownSettings()
	env := map[string]string{}
	for _, args := range final.all("ENV") {
		for _, kv := range shellWords(args) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || !known[k] {
				t.Errorf("ENV %s: not a setting of the server", kv)
			}
			env[k] = v
		}
	}
	return env
}

// TestContainerFiles: the Dockerfile's build command builds a static binary from this repository, the image
// keeps its state where the server is told to, checks its health with the binary's own healthcheck, and runs
// as a non-root user; the compose file and .dockerignore agree with it. No Docker engine runs here: the image
// itself is not built.
func TestContainerFiles(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	d := parseDockerfile(t, string(raw))
	build, final := d.stages[0], d.stages[len(d.stages)-1]

	env := imageEnv(t, final)
	dataDir, addr := env["PLUGZAPI_DATA"], env["PLUGZAPI_ADDR"]
	_, port, err := net.SplitHostPort(addr)
	if err != nil || dataDir == "" {
		t.Fatalf("the image must set PLUGZAPI_DATA and PLUGZAPI_ADDR: %v", env)
	}
	if got := final.all("EXPOSE"); !slices.Equal(got, []string{port}) {
		t.Errorf("EXPOSE %v, want the listen port %s", got, port)
	}
	var volumes []string
	for _, v := range final.all("VOLUME") {
		if err := json.Unmarshal([]byte(v), &volumes); err != nil {
			t.Errorf("VOLUME %s: want a JSON list: %v", v, err)
		}
	}
	if !slices.Equal(volumes, []string{dataDir}) {
		t.Errorf("VOLUME %v, want the data directory %s", volumes, dataDir)
	}

	// Non-root, on an image without a shell.
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %s, want distroless static or scratch", final.from)
	}
	users := final.all("USER")
	if len(users) == 0 || slices.ContainsFunc(users, func(u string) bool {
		name, _, _ := strings.Cut(u, ":")
		return name == "root" || name == "0"
	}) {
		t.Errorf("USER %v: the image must run as a non-root user", users)
	}
	// The data directory must be the user's, or the server cannot write to a new volume mounted on it.
	if len(users) > 0 && !slices.ContainsFunc(final.all("COPY"), func(c string) bool {
		return strings.HasPrefix(c, "--from=") && strings.Contains(c, "--chown="+users[len(users)-1]+" ")
	}) {
		t.Errorf("nothing in the final stage is copied as the user %s: the data directory would be root's", users[len(users)-1])
	}
	var entrypoint, health []string
	for _, e := range final.all("ENTRYPOINT") {
		if err := json.Unmarshal([]byte(e), &entrypoint); err != nil {
			t.Errorf("ENTRYPOINT %s: %v", e, err)
		}
	}
	for _, h := range final.all("HEALTHCHECK") {
		_, cmd, _ := strings.Cut(h, "CMD ")
		if err := json.Unmarshal([]byte(cmd), &health); err != nil {
			t.Errorf("HEALTHCHECK %s: want CMD as a JSON list (no shell): %v", h, err)
		}
	}
	if len(entrypoint) != 1 || !slices.Equal(health, []string{entrypoint[0], "healthcheck"}) {
		t.Errorf("ENTRYPOINT %v, HEALTHCHECK %v: want the binary, and the binary's healthcheck", entrypoint, health)
	}

	// The build stage's go build line, as it is written, builds a static binary here.
	var line string
	for _, run := range build.all("RUN") {
		if strings.Contains(run, "go build") {
			line = run
		}
	}
	words := slices.DeleteFunc(shellWords(line), func(w string) bool { return strings.HasPrefix(w, "--mount=") })
	var buildEnv []string
	for len(words) > 0 && strings.Contains(words[0], "=") {
		buildEnv = append(buildEnv, os.Expand(words[0], func(v string) string {
			return map[string]string{"TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH}[v]
		}))
		words = words[1:]
	}
	if !slices.Contains(buildEnv, "CGO_ENABLED=0") || len(words) < 3 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("the build stage's go build line is %q: want CGO_ENABLED=0 go build …", line)
	}
	out := slices.Index(words, "-o")
	if out < 0 || out+1 >= len(words) {
		t.Fatalf("the go build line names no -o output: %q", line)
	}
	if !slices.Contains(final.all("COPY"), "--from="+build.name+" "+words[out+1]+" "+entrypoint[0]) {
		t.Errorf("the final stage does not copy %s from the %s stage to %s", words[out+1], build.name, entrypoint[0])
	}
	checkCompose(t, env, port, dataDir)
	checkDockerignore(t)
	bin := filepath.Join(t.TempDir(), "plugzapi")
	words[out+1] = bin
	cmd := exec.Command(words[0], words[1:]...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), buildEnv...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, b)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, _ := f.ImportedLibraries()
	dynamic := slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
	if dynamic || len(libs) > 0 {
		t.Errorf("the binary is not static: interpreter %v, libraries %v", dynamic, libs)
	}

	// The healthcheck of the binary that was built: it asks the server the same settings name.
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer healthy.Close()
	check := func(addr string) error {
		cmd := exec.Command(bin, "healthcheck")
		cmd.Env = append(os.Environ(), "PLUGZAPI_ADDR="+addr)
		return cmd.Run()
	}
	if err := check(healthy.Listener.Addr().String()); err != nil {
		t.Errorf("healthcheck of a healthy server: %v", err)
	}
	healthy.Close()
	if err := check(healthy.Listener.Addr().String()); err == nil {
		t.Error("healthcheck of a stopped server succeeded")
	}
}

// checkCompose: docker-compose.yml builds this image, publishes its port, mounts a volume on its data
// directory, sets only the server's settings (those the image sets, to the same values), and starts a webhook
// viewer beside it.
func checkCompose(t *testing.T, imageEnv map[string]string, port, dataDir string) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	type service struct {
		Build       string
		Image       string
		Ports       []string
		Volumes     []string
		Environment map[string]string
	}
	var compose struct {
		Services map[string]service
		Volumes  map[string]any
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	pz, ok := compose.Services["plugzapi"]
	if !ok || pz.Build != "." {
		t.Fatalf("docker-compose.yml: want a plugzapi service built from this repository: %+v", compose.Services)
	}
	known := knownSettings()
	for k, v := range pz.Environment {
		if !known[k] {
			t.Errorf("compose sets %s, which is not a setting of the server", k)
		}
		if want, set := imageEnv[k]; set && v != want {
			t.Errorf("compose sets %s=%s, the image %s", k, v, want)
		}
	}
	hostPorts := map[string]string{}
	for name, s := range compose.Services {
		for _, p := range s.Ports {
			host, _, _ := strings.Cut(p, ":")
			if other, dup := hostPorts[host]; dup {
				t.Errorf("host port %s is published by %s and %s", host, other, name)
			}
			hostPorts[host] = name
		}
	}
	if !slices.ContainsFunc(pz.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+port) }) {
		t.Errorf("compose publishes %v, not the image's port %s", pz.Ports, port)
	}
	mounted := false
	for _, v := range pz.Volumes {
		name, target, _ := strings.Cut(v, ":")
		if _, declared := compose.Volumes[name]; declared && target == dataDir {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("compose mounts %v: want a named volume on %s", pz.Volumes, dataDir)
	}
	if viewer := compose.Services["webhooks"]; viewer.Image == "" || len(viewer.Ports) == 0 {
		t.Error("compose starts no webhook viewer beside the server")
	}
	// Files of the repository mounted into services (the monitoring profile's) must exist.
	for name, s := range compose.Services {
		for _, v := range s.Volumes {
			if src, _, _ := strings.Cut(v, ":"); strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			}
		}
	}
}

// checkDockerignore: the build context leaves out version control and local state, and keeps what go build
// needs.
func checkDockerignore(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var rooted, anywhere []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "**/"):
			anywhere = append(anywhere, strings.TrimPrefix(line, "**/"))
		default:
			rooted = append(rooted, strings.TrimPrefix(line, "/"))
		}
	}
	// ignored reports whether a pattern matches the path or a directory above it, as Docker reads them: from
	// the context's root, or at any depth for a **/ pattern.
	ignored := func(path string) bool {
		parts := strings.Split(path, "/")
		for i := range parts {
			for j := i + 1; j <= len(parts); j++ {
				patterns := anywhere
				if i == 0 {
					patterns = append(slices.Clone(rooted), anywhere...)
				}
				for _, p := range patterns {
					if ok, _ := filepath.Match(p, strings.Join(parts[i:j], "/")); ok {
						return true
					}
				}
			}
		}
		return false
	}
	for _, must := range []string{".git", "data/plugzapi.db", "bin/plugzapi", "wasim/baileys/node_modules/x"} {
		if !ignored(must) {
			t.Errorf(".dockerignore lets %s into the build context", must)
		}
	}
	list := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./cmd/plugzapi")
	list.Dir = repoRoot
	dirs, err := list.Output()
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs(repoRoot)
	needed := []string{"go.mod", "go.sum"}
	for dir := range strings.SplitSeq(strings.TrimSpace(string(dirs)), "\n") {
		if rel, err := filepath.Rel(root, dir); err == nil && !strings.HasPrefix(rel, "..") {
			needed = append(needed, filepath.ToSlash(rel)+"/x.go")
		}
	}
	for _, n := range needed {
		if ignored(n) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", n)
		}
	}
}
