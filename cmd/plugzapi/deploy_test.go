package main

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The cluster's deployment files, from this package's directory.
var (
	clusterComposeDir = filepath.Join(repoRoot, "deploy", "cluster")
	kubernetesDir     = filepath.Join(repoRoot, "deploy", "kubernetes")
)

// kubernetesProvider is the package of the membership provider PLUGZAPI_CLUSTER_PROVIDER=kubernetes starts: the
// Role must grant what its source asks the API for.
const kubernetesProvider = "github.com/asynkron/protoactor-go/cluster/clusterproviders/k8s"

// TestClusterDeployFiles: the cluster's compose file and Kubernetes manifests set only the server's settings, to
// values the server accepts; every node has the cluster settings it needs, consistent with the other nodes' (the
// peers are the nodes, each node's address is its own, one secret and one vault key everywhere); the Role grants
// exactly what the pinned Kubernetes provider uses; the ports agree with the Dockerfile's. No Docker engine or
// Kubernetes runs here: nothing is started.
func TestClusterDeployFiles(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	d := parseDockerfile(t, string(raw))
	image := imageEnv(t, d.stages[len(d.stages)-1])
	_, port, err := net.SplitHostPort(image["PLUGZAPI_ADDR"])
	if err != nil {
		t.Fatalf("the image's PLUGZAPI_ADDR %q: %v", image["PLUGZAPI_ADDR"], err)
	}
	t.Run("compose", func(t *testing.T) { checkClusterCompose(t, port) })
	t.Run("kubernetes", func(t *testing.T) { checkKubernetes(t, port) })
}

// nodeConfig loads a node's settings as the server does, from its environment, and requires them valid.
func nodeConfig(t *testing.T, node string, env map[string]string) Config {
	t.Helper()
	known := knownSettings()
	for k := range env {
		if strings.HasPrefix(k, "PLUGZAPI_") && !known[k] {
			t.Errorf("%s sets %s, which is not a setting of the server", node, k)
		}
	}
	c, err := loadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Errorf("%s: the server refuses its settings: %v", node, err)
	}
	if c.ClusterProvider == "" {
		t.Errorf("%s sets no PLUGZAPI_CLUSTER_PROVIDER: it would run alone", node)
	}
	return c
}

// standIn is what a test puts for a secret the deployment leaves to the operator: distinct per name (a value
// put under the wrong name shows), URL-safe, long enough for every check.
func standIn(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:16])
}

// portOf returns the port of a host:port.
func portOf(t *testing.T, what, hostport string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Errorf("%s %q: %v", what, hostport, err)
	}
	return p
}

// checkShutdownGrace: a node stopped with SIGTERM may take the shutdown timeout twice (requests in flight, then
// the instances, whose leases it releases) before it exits; the grace the platform gives it must be longer, or
// it is killed in the middle of handing its instances over.
func checkShutdownGrace(t *testing.T, node string, c Config, before, grace time.Duration) {
	t.Helper()
	if need := before + 2*c.ShutdownTimeout; grace <= need {
		t.Errorf("%s: %v before a forced kill, want more than %v (twice PLUGZAPI_SHUTDOWN_TIMEOUT %v, after %v)",
			node, grace, need, c.ShutdownTimeout, before)
	}
}

// --- compose ---

// composeService is the part of a compose service this test reads.
type composeService struct {
	Build           string
	Image           string
	Restart         string
	Ports           []string
	Volumes         []string
	Environment     map[string]string
	DependsOn       dependsOn `yaml:"depends_on"`
	StopGracePeriod string    `yaml:"stop_grace_period"`
	Healthcheck     *struct{ Test []string }
	Command         []string
	Networks        []string
}

// dependsOn is a service's depends_on, in either of its forms (a list, or a map with conditions): the
// condition per service ("service_started" for the list form).
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	var names []string
	if n.Decode(&names) == nil {
		for _, s := range names {
			(*d)[s] = "service_started"
		}
		return nil
	}
	var m map[string]struct{ Condition string }
	if err := n.Decode(&m); err != nil {
		return err
	}
	for s, c := range m {
		(*d)[s] = cmp.Or(c.Condition, "service_started")
	}
	return nil
}

// interpolation is compose's ${NAME}, ${NAME:-default} or ${NAME:?error} (and $$, a literal $).
var interpolation = regexp.MustCompile(`\$\$|\$\{(\w+)(?:(:[-?])([^}]*))?\}`)

// interpolate does what compose does to a value with the variables of .env; it reports a required variable
// that is missing.
func interpolate(s string, vars map[string]string) (string, error) {
	var err error
	out := interpolation.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		g := interpolation.FindStringSubmatch(m)
		v := vars[g[1]]
		switch {
		case v != "":
			return v
		case g[2] == ":-":
			return g[3]
		case g[2] == ":?":
			err = errors.Join(err, fmt.Errorf("%s is required: %s", g[1], g[3]))
		}
		return ""
	})
	return out, err
}

// readEnvExample returns the variables .env.example names: those it sets (to be filled in) and those it shows
// commented out (optional).
func readEnvExample(t *testing.T, path string) (set, optional []string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	assignment := regexp.MustCompile(`^(#\s*)?([A-Z][A-Z0-9_]*)=`)
	for line := range strings.SplitSeq(string(raw), "\n") {
		m := assignment.FindStringSubmatch(strings.TrimSpace(line))
		switch {
		case m == nil:
		case m[1] != "":
			optional = append(optional, m[2])
		default:
			set = append(set, m[2])
		}
	}
	return set, optional
}

// gitignored reports whether dir's .gitignore names the file (as /name).
func gitignored(t *testing.T, dir, name string) bool {
	raw, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if err != nil {
		t.Error(err)
		return false
	}
	return slices.Contains(strings.Fields(string(raw)), "/"+name)
}

func checkClusterCompose(t *testing.T, imagePort string) {
	raw, err := os.ReadFile(filepath.Join(clusterComposeDir, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]composeService
		Volumes  map[string]any
		Networks map[string]struct {
			Ipam struct{ Config []struct{ Subnet string } }
		}
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}

	// The secrets come from .env, whose example names every variable the file uses, and no other; a filled-in
	// .env gives each its stand-in.
	envFile, optional := readEnvExample(t, filepath.Join(clusterComposeDir, ".env.example"))
	if !gitignored(t, clusterComposeDir, ".env") {
		t.Error("deploy/cluster/.gitignore does not keep .env (the secrets) out of git")
	}
	vars := map[string]string{}
	for _, k := range envFile {
		vars[k] = standIn(k)
	}
	used := map[string]bool{}
	for _, m := range interpolation.FindAllStringSubmatch(string(raw), -1) {
		if m[1] != "" {
			used[m[1]] = true
			if !slices.Contains(envFile, m[1]) && !slices.Contains(optional, m[1]) {
				t.Errorf("docker-compose.yml uses ${%s}, which .env.example does not name", m[1])
			}
		}
	}
	for _, k := range append(slices.Clone(envFile), optional...) {
		if !used[k] {
			t.Errorf(".env.example names %s, which docker-compose.yml does not use", k)
		}
	}
	env := func(service, key string) string {
		v, err := interpolate(compose.Services[service].Environment[key], vars)
		if err != nil {
			t.Errorf("%s's %s: %v", service, key, err)
		}
		return v
	}
	// secretFromEnv: a secret must be a required variable of .env, never written in the file.
	required := regexp.MustCompile(`\$\{\w+:\?`)
	secretFromEnv := func(service, key string) {
		if v := compose.Services[service].Environment[key]; !required.MatchString(v) {
			t.Errorf("%s's %s is %q: want it from .env, required (${NAME:?…})", service, key, v)
		}
	}

	// The nodes: the services built from this repository's Dockerfile.
	var nodes []string
	for name, s := range compose.Services {
		if s.Build != "" {
			if filepath.Clean(filepath.Join(clusterComposeDir, s.Build)) != filepath.Clean(repoRoot) {
				t.Errorf("%s builds %s, not the repository's Dockerfile", name, s.Build)
			}
			nodes = append(nodes, name)
		}
	}
	slices.Sort(nodes)
	if len(nodes) != 3 {
		t.Fatalf("docker-compose.yml builds %d nodes %v, want 3", len(nodes), nodes)
	}
	configs := map[string]Config{}
	for _, n := range nodes {
		e := map[string]string{}
		for k := range compose.Services[n].Environment {
			e[k] = env(n, k)
		}
		configs[n] = nodeConfig(t, n, e)
	}

	// The peers are the nodes' membership endpoints, each on the port that node answers on, and nothing else.
	var peers []string
	for _, n := range nodes {
		peers = append(peers, net.JoinHostPort(n, strconv.Itoa(configs[n].ClusterMembershipPort)))
	}
	first := configs[nodes[0]]
	for _, n := range nodes {
		c, s := configs[n], compose.Services[n]
		if c.ClusterProvider != "static" {
			t.Errorf("%s: provider %q, want static", n, c.ClusterProvider)
		}
		if got := slices.Sorted(slices.Values(c.ClusterPeers)); !slices.Equal(got, peers) {
			t.Errorf("%s's peers are %v, want the three nodes' membership endpoints %v", n, got, peers)
		}
		// Its own address, where the others reach it: its service name, on the ports it listens on.
		if c.ClusterAdvertise != n {
			t.Errorf("%s advertises %q, want its own service name", n, c.ClusterAdvertise)
		}
		apiPort := portOf(t, n+"'s address", c.Addr)
		if u, err := url.Parse(c.ClusterURL); err != nil || u.Hostname() != n || u.Port() != apiPort {
			t.Errorf("%s's cluster URL is %q, want its own API: http://%s:%s", n, c.ClusterURL, n, apiPort)
		}
		if apiPort != imagePort {
			t.Errorf("%s listens on port %s, the image exposes %s", n, apiPort, imagePort)
		}
		// One cluster, one database, one secret, one admin token; all from .env.
		for _, k := range []string{"PLUGZAPI_CLUSTER_SECRET", "PLUGZAPI_ADMIN_TOKEN", "PLUGZAPI_DATABASE_URL"} {
			secretFromEnv(n, k)
		}
		if c.ClusterName != first.ClusterName || c.ClusterSecret != first.ClusterSecret ||
			c.AdminToken != first.AdminToken || c.DatabaseURL != first.DatabaseURL || c.DataDir != first.DataDir {
			t.Errorf("%s's cluster name, secret, admin token, database or data directory differ from %s's", n, nodes[0])
		}
		// A node cut off from the cluster past its lease exits with an error, to be started again as a new member.
		if !slices.Contains([]string{"always", "unless-stopped", "on-failure"}, s.Restart) {
			t.Errorf("%s: restart %q: a node that stops with an error must be started again", n, s.Restart)
		}
		if len(s.Ports) > 0 {
			t.Errorf("%s publishes %v: only the load balancer is reached from outside (the cluster ports have no authentication)", n, s.Ports)
		}
		grace, err := time.ParseDuration(s.StopGracePeriod)
		if err != nil {
			t.Errorf("%s: stop_grace_period %q: %v (docker's default, 10s, kills a draining node)", n, s.StopGracePeriod, err)
		}
		checkShutdownGrace(t, n, c, 0, grace)
	}

	// The database: the Postgres service, healthy before the nodes start, on a volume.
	db, err := url.Parse(first.DatabaseURL)
	if err != nil {
		t.Fatalf("database URL %q: %v", first.DatabaseURL, err)
	}
	pg, ok := compose.Services[db.Hostname()]
	password, _ := db.User.Password()
	if !ok || !strings.HasPrefix(pg.Image, "postgres:") {
		t.Errorf("the database URL names %s, not a Postgres service", db.Hostname())
	} else {
		pgEnv := func(k string) string {
			v, _ := interpolate(pg.Environment[k], vars)
			return v
		}
		if db.User.Username() != pgEnv("POSTGRES_USER") || password != pgEnv("POSTGRES_PASSWORD") ||
			strings.TrimPrefix(db.Path, "/") != pgEnv("POSTGRES_DB") {
			t.Errorf("the database URL's user, password or database are not the Postgres service's")
		}
		secretFromEnv(db.Hostname(), "POSTGRES_PASSWORD")
		if pg.Healthcheck == nil || len(pg.Healthcheck.Test) == 0 {
			t.Error("the Postgres service has no healthcheck: the nodes cannot wait for it")
		}
		if !slices.ContainsFunc(pg.Volumes, func(v string) bool {
			name, _, _ := strings.Cut(v, ":")
			_, declared := compose.Volumes[name]
			return declared
		}) {
			t.Errorf("the Postgres service keeps its data on no named volume: %v", pg.Volumes)
		}
		for _, n := range nodes {
			if compose.Services[n].DependsOn[db.Hostname()] != "service_healthy" {
				t.Errorf("%s does not wait for Postgres to be healthy", n)
			}
		}
	}

	// One vault key: every node's data directory is the same volume, read-only, which a service that ran to
	// completion before them filled with vault.key.
	var keyVolume string
	for _, n := range nodes {
		var mounted string
		for _, v := range compose.Services[n].Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 && parts[1] == configs[n].DataDir {
				mounted = parts[0]
				if len(parts) < 3 || parts[2] != "ro" {
					t.Errorf("%s mounts %s read-write: a node could write a vault key of its own there", n, v)
				}
			}
		}
		if _, declared := compose.Volumes[mounted]; !declared {
			t.Errorf("%s mounts no named volume on its data directory %s: %v", n, configs[n].DataDir, compose.Services[n].Volumes)
		}
		if keyVolume == "" {
			keyVolume = mounted
		} else if mounted != keyVolume {
			t.Errorf("%s's data directory is the volume %q, %s's %q: the nodes must share one vault key", n, mounted, nodes[0], keyVolume)
		}
	}
	var keyMaker string
	for name, s := range compose.Services {
		if slices.Contains(nodes, name) {
			continue
		}
		for _, v := range s.Volumes {
			vol, target, _ := strings.Cut(v, ":")
			target, _, _ = strings.Cut(target, ":")
			if vol == keyVolume && strings.Contains(strings.Join(s.Command, " "), target+"/vault.key") {
				keyMaker = name
			}
		}
	}
	if keyMaker == "" {
		t.Errorf("no service writes vault.key into the nodes' shared volume %q", keyVolume)
	}
	for _, n := range nodes {
		if keyMaker != "" && compose.Services[n].DependsOn[keyMaker] != "service_completed_successfully" {
			t.Errorf("%s starts without waiting for %s to have made the vault key", n, keyMaker)
		}
	}

	// The load balancer: the one service published, round robin over every node's API port.
	var balancers []string
	for name, s := range compose.Services {
		if len(s.Ports) > 0 {
			balancers = append(balancers, name)
		}
	}
	if len(balancers) != 1 || len(compose.Services[balancers[0]].Ports) != 1 {
		t.Fatalf("services publishing ports: %v, want one load balancer publishing one port", balancers)
	}
	lb := compose.Services[balancers[0]]
	published := lb.Ports[0][strings.LastIndex(lb.Ports[0], ":")+1:]
	var caddyfile string
	for _, v := range lb.Volumes {
		src, target, _ := strings.Cut(v, ":")
		if strings.HasPrefix(target, "/etc/caddy/Caddyfile") {
			caddyfile = filepath.Join(clusterComposeDir, src)
		}
	}
	if caddyfile == "" {
		t.Fatalf("the load balancer %s mounts no Caddyfile: %v", balancers[0], lb.Volumes)
	}
	listen, upstreams, directives := parseCaddyfile(t, caddyfile)
	if listen != ":"+published {
		t.Errorf("the Caddyfile serves %q, the compose file publishes port %s", listen, published)
	}
	var want []string
	for _, n := range nodes {
		want = append(want, net.JoinHostPort(n, portOf(t, n+"'s address", configs[n].Addr)))
	}
	if got := slices.Sorted(slices.Values(upstreams)); !slices.Equal(got, want) {
		t.Errorf("the load balancer proxies to %v, want every node's API %v", got, want)
	}
	if directives["lb_policy"] != "round_robin" || directives["health_uri"] != "/healthz" {
		t.Errorf("the load balancer's lb_policy %q, health_uri %q: want round_robin and /healthz",
			directives["lb_policy"], directives["health_uri"])
	}

	// The nodes trust the load balancer's X-Forwarded-For: the network they share with it is what they trust.
	var subnets []string
	for _, nw := range lb.Networks {
		for _, c := range compose.Networks[nw].Ipam.Config {
			subnets = append(subnets, c.Subnet)
		}
	}
	for _, n := range nodes {
		if tp := configs[n].TrustedProxies; len(tp) == 0 || !slices.ContainsFunc(tp, func(p string) bool { return slices.Contains(subnets, p) }) {
			t.Errorf("%s trusts the proxies %v, not the load balancer's network %v", n, tp, subnets)
		}
	}
}

// parseCaddyfile reads the one site of a Caddyfile that load-balances: its address, its reverse_proxy's
// upstreams and that directive's subdirectives (name → arguments).
func parseCaddyfile(t *testing.T, path string) (listen string, upstreams []string, sub map[string]string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sub = map[string]string{}
	depth, proxyDepth := 0, -1
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		opens := f[len(f)-1] == "{"
		if opens {
			f = f[:len(f)-1]
		}
		switch {
		case len(f) > 0 && f[0] == "}":
			depth--
			if depth < proxyDepth {
				proxyDepth = -1
			}
			continue
		case depth == 0 && len(f) == 1 && opens:
			listen = f[0]
		case len(f) > 0 && f[0] == "reverse_proxy":
			upstreams = append(upstreams, f[1:]...)
			proxyDepth = depth + 1
		case proxyDepth == depth && len(f) > 0:
			sub[f[0]] = strings.Join(f[1:], " ")
		}
		if opens {
			depth++
		}
	}
	if listen == "" || len(upstreams) == 0 {
		t.Fatalf("%s: no site address or no reverse_proxy upstreams", path)
	}
	return listen, upstreams, sub
}

// --- Kubernetes ---

// intOrString is a Kubernetes port or count: a number or a name.
type intOrString string

func (s *intOrString) UnmarshalYAML(n *yaml.Node) error { *s = intOrString(n.Value); return nil }

// labelSelector selects pods by their labels: matchLabels, or a Service's plain map.
type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

func (l *labelSelector) UnmarshalYAML(n *yaml.Node) error {
	var m struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	if m.MatchLabels == nil {
		return n.Decode(&l.MatchLabels)
	}
	l.MatchLabels = m.MatchLabels
	return nil
}

type k8sVolumeMount struct {
	Name      string
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly"`
}

// k8sIngressRule is a rule of a NetworkPolicy: from these pods (anyone when none), to these ports.
type k8sIngressRule struct {
	From []struct {
		PodSelector *labelSelector `yaml:"podSelector"`
	}
	Ports []struct{ Port intOrString }
}

type k8sEnvVar struct {
	Name, Value string
	ValueFrom   *struct {
		SecretKeyRef *struct{ Name, Key string } `yaml:"secretKeyRef"`
		FieldRef     *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	} `yaml:"valueFrom"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string
		Port intOrString
	} `yaml:"httpGet"`
}

type k8sContainer struct {
	Name  string
	Ports []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
	}
	Env            []k8sEnvVar
	VolumeMounts   []k8sVolumeMount `yaml:"volumeMounts"`
	ReadinessProbe *k8sProbe        `yaml:"readinessProbe"`
	LivenessProbe  *k8sProbe        `yaml:"livenessProbe"`
	Lifecycle      struct {
		PreStop *struct {
			Sleep *struct{ Seconds int }
		} `yaml:"preStop"`
	}
}

// port resolves a probe's or a Service's port, a number or the name of one of the container's ports.
func (c k8sContainer) port(p intOrString) string {
	for _, cp := range c.Ports {
		if cp.Name == string(p) {
			return strconv.Itoa(cp.ContainerPort)
		}
	}
	return string(p)
}

// k8sObject is the part of the manifests' objects this test reads, whatever their kind.
type k8sObject struct {
	Kind     string
	Metadata struct{ Name string }
	// Secret
	StringData map[string]string `yaml:"stringData"`
	// Role
	Rules []struct {
		APIGroups []string `yaml:"apiGroups"`
		Resources []string
		Verbs     []string
	}
	// RoleBinding
	RoleRef  struct{ Kind, Name string } `yaml:"roleRef"`
	Subjects []struct{ Kind, Name, Namespace string }
	Spec     struct {
		// Deployment
		Replicas int
		Selector labelSelector
		Template struct {
			Metadata struct{ Labels map[string]string }
			Spec     struct {
				ServiceAccountName            string `yaml:"serviceAccountName"`
				AutomountServiceAccountToken  *bool  `yaml:"automountServiceAccountToken"`
				EnableServiceLinks            *bool  `yaml:"enableServiceLinks"`
				TerminationGracePeriodSeconds int    `yaml:"terminationGracePeriodSeconds"`
				Hostname, Subdomain           string
				HostNetwork                   bool `yaml:"hostNetwork"`
				Containers                    []k8sContainer
				Volumes                       []struct {
					Name   string
					Secret *struct {
						SecretName string `yaml:"secretName"`
						Items      []struct{ Key, Path string }
					}
				}
			}
		}
		// Service, PodDisruptionBudget, NetworkPolicy
		Ports []struct {
			Port       int
			TargetPort intOrString `yaml:"targetPort"`
		}
		MaxUnavailable intOrString      `yaml:"maxUnavailable"`
		PodSelector    labelSelector    `yaml:"podSelector"`
		Ingress        []k8sIngressRule `yaml:"ingress"`
	}
}

// readManifests reads the objects of kustomization.yaml's resources, by kind; secret.yaml, which the
// operator makes, is read from its example.
func readManifests(t *testing.T) (namespace string, objects map[string][]k8sObject) {
	raw, err := os.ReadFile(filepath.Join(kubernetesDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Namespace string
		Resources []string
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	objects = map[string][]k8sObject{}
	for _, r := range k.Resources {
		path := filepath.Join(kubernetesDir, r)
		if r == "secret.yaml" {
			if !gitignored(t, kubernetesDir, r) {
				t.Error("deploy/kubernetes/.gitignore does not keep secret.yaml (the secrets) out of git")
			}
			path = filepath.Join(kubernetesDir, "secret.example.yaml")
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", r, err)
			}
			objects[o.Kind] = append(objects[o.Kind], o)
		}
	}
	return k.Namespace, objects
}

// one returns the only object of a kind.
func one(t *testing.T, objects map[string][]k8sObject, kind string) k8sObject {
	t.Helper()
	if len(objects[kind]) != 1 {
		t.Fatalf("the manifests hold %d %s, want 1", len(objects[kind]), kind)
	}
	return objects[kind][0]
}

// providerVerbs returns what the pinned Kubernetes provider does with pods (the client-go calls on
// CoreV1().Pods(…)), as RBAC verbs, from its source; and reports any other resource it touches.
func providerVerbs(t *testing.T) []string {
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", kubernetesProvider).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", kubernetesProvider, err)
	}
	files, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "*.go"))
	call := regexp.MustCompile(`CoreV1\(\)\.(\w+)\(.*?\)\.(\w+)\(`)
	var verbs []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(src), -1) {
			if m[1] != "Pods" {
				t.Errorf("the Kubernetes provider calls CoreV1().%s: the Role grants pods only", m[1])
			}
			if v := strings.ToLower(m[2]); !slices.Contains(verbs, v) {
				verbs = append(verbs, v)
			}
		}
	}
	if len(verbs) == 0 {
		t.Fatalf("found no call on pods in %s: the pattern no longer matches its source", kubernetesProvider)
	}
	slices.Sort(verbs)
	return verbs
}

// podEnvReference is a reference to an earlier variable in a container's env value: $(NAME).
var podEnvReference = regexp.MustCompile(`\$\((\w+)\)`)

func checkKubernetes(t *testing.T, imagePort string) {
	namespace, objects := readManifests(t)
	dep := one(t, objects, "Deployment")
	pod := dep.Spec.Template.Spec
	secret := one(t, objects, "Secret")

	if dep.Spec.Replicas != 3 {
		t.Errorf("the Deployment runs %d replicas, want 3", dep.Spec.Replicas)
	}
	selector := dep.Spec.Selector.MatchLabels
	for k, v := range selector {
		if dep.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("the Deployment's selector %v does not select its pods %v", selector, dep.Spec.Template.Metadata.Labels)
		}
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("the pod has %d containers, want 1", len(pod.Containers))
	}
	ctr := pod.Containers[0]

	// The environment, as the kubelet makes it: literal values, $(NAME) of an earlier variable, the pod's IP,
	// the Secret's keys (stand-ins here).
	env := map[string]string{}
	source := map[string]string{} // how each variable is set: "value", "secret:KEY" or "field:PATH"
	for _, e := range ctr.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("the container sets %s twice", e.Name)
		}
		switch {
		case e.ValueFrom == nil:
			v := podEnvReference.ReplaceAllStringFunc(e.Value, func(m string) string {
				name := podEnvReference.FindStringSubmatch(m)[1]
				if _, earlier := env[name]; !earlier {
					t.Errorf("%s refers to $(%s), which is not set before it: the kubelet leaves it as it is", e.Name, name)
				}
				return env[name]
			})
			env[e.Name], source[e.Name] = v, "value"
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			if _, ok := secret.StringData[ref.Key]; !ok || ref.Name != secret.Metadata.Name {
				t.Errorf("%s comes from the key %s of the Secret %s, which the Secret %s does not hold", e.Name, ref.Key, ref.Name, secret.Metadata.Name)
			}
			env[e.Name], source[e.Name] = standIn(ref.Key), "secret:"+ref.Key
		case e.ValueFrom.FieldRef != nil:
			// A documentation address (RFC 5737) for the pod's.
			env[e.Name], source[e.Name] = "192.0.2.7", "field:"+e.ValueFrom.FieldRef.FieldPath
		}
	}
	c := nodeConfig(t, "the Deployment", env)
	if c.ClusterProvider != "kubernetes" {
		t.Errorf("the Deployment's provider is %q, want kubernetes", c.ClusterProvider)
	}
	// Every pod is reached at its own IP: the provider lists members by pod IP.
	if source["PLUGZAPI_CLUSTER_ADVERTISE"] != "field:status.podIP" {
		t.Errorf("PLUGZAPI_CLUSTER_ADVERTISE is set by %q, want the pod's IP (fieldRef status.podIP)", source["PLUGZAPI_CLUSTER_ADVERTISE"])
	}
	apiPort := portOf(t, "the Deployment's address", c.Addr)
	if u, err := url.Parse(c.ClusterURL); err != nil || u.Hostname() != c.ClusterAdvertise || u.Port() != apiPort {
		t.Errorf("PLUGZAPI_CLUSTER_URL is %q, want the pod's own API, http://<its IP>:%s", c.ClusterURL, apiPort)
	}
	// The secrets come from the Secret, never written in the manifest.
	for _, k := range []string{"PLUGZAPI_DATABASE_URL", "PLUGZAPI_CLUSTER_SECRET", "PLUGZAPI_ADMIN_TOKEN"} {
		if !strings.HasPrefix(source[k], "secret:") {
			t.Errorf("%s is set by %q, want it from the Secret", k, cmp.Or(source[k], "nothing"))
		}
	}

	// The ports: the image's, named, probed, served and let through.
	ports := map[string]string{}
	for _, p := range ctr.Ports {
		ports[p.Name] = strconv.Itoa(p.ContainerPort)
	}
	clusterPort := portOf(t, "the cluster address", c.ClusterAddr)
	if apiPort != imagePort || ports["http"] != imagePort || ports["cluster"] != clusterPort {
		t.Errorf("the container listens on %s (API) and %s (cluster), declares ports %v; the image exposes %s",
			apiPort, clusterPort, ports, imagePort)
	}
	for name, p := range map[string]*k8sProbe{"readiness": ctr.ReadinessProbe, "liveness": ctr.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || ctr.port(p.HTTPGet.Port) != imagePort {
			t.Errorf("the %s probe is not GET /healthz on port %s", name, imagePort)
		}
	}
	svc := one(t, objects, "Service")
	if len(svc.Spec.Ports) != 1 || ctr.port(svc.Spec.Ports[0].TargetPort) != imagePort {
		t.Errorf("the Service's ports %+v: want one, to the API port %s", svc.Spec.Ports, imagePort)
	}
	// The cluster port carries no authentication: only the nodes may reach it.
	np := one(t, objects, "NetworkPolicy")
	reached := false
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			if ctr.port(p.Port) != clusterPort {
				continue
			}
			reached = true
			if len(rule.From) == 0 || slices.ContainsFunc(rule.From, func(f struct {
				PodSelector *labelSelector `yaml:"podSelector"`
			}) bool {
				return f.PodSelector == nil || !maps.Equal(f.PodSelector.MatchLabels, selector)
			}) {
				t.Errorf("the network policy lets others than the nodes reach the cluster port %s", clusterPort)
			}
		}
	}
	if !reached {
		t.Errorf("the network policy does not let the nodes reach each other's cluster port %s", clusterPort)
	}

	// The Service, the budget and the policy select the Deployment's pods.
	pdb := one(t, objects, "PodDisruptionBudget")
	for what, sel := range map[string]map[string]string{"Service": svc.Spec.Selector.MatchLabels,
		"PodDisruptionBudget": pdb.Spec.Selector.MatchLabels, "NetworkPolicy": np.Spec.PodSelector.MatchLabels} {
		if !maps.Equal(sel, selector) {
			t.Errorf("the %s selects %v, the Deployment %v", what, sel, selector)
		}
	}
	if n, err := strconv.Atoi(string(pdb.Spec.MaxUnavailable)); err != nil || n < 1 || n >= dep.Spec.Replicas {
		t.Errorf("the PodDisruptionBudget's maxUnavailable is %q: want one node at a time, at least one", pdb.Spec.MaxUnavailable)
	}

	// One vault key: the Secret's vault.key, mounted read-only as PLUGZAPI_DATA/vault.key in every pod.
	if _, ok := secret.StringData["vault.key"]; !ok {
		t.Error("the Secret holds no vault.key")
	}
	keyVolume := ""
	for _, v := range pod.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secret.Metadata.Name &&
			slices.Contains(v.Secret.Items, struct{ Key, Path string }{"vault.key", "vault.key"}) {
			keyVolume = v.Name
		}
	}
	if !slices.ContainsFunc(ctr.VolumeMounts, func(m k8sVolumeMount) bool {
		return keyVolume != "" && m.Name == keyVolume && m.MountPath == c.DataDir && m.ReadOnly
	}) {
		t.Errorf("the Secret's vault.key is not mounted read-only as %s/vault.key", c.DataDir)
	}

	// What the provider needs of the pod: its service account (bound to the Role), its name as hostname.
	sa := one(t, objects, "ServiceAccount")
	role := one(t, objects, "Role")
	binding := one(t, objects, "RoleBinding")
	if pod.ServiceAccountName != sa.Metadata.Name || (pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken) {
		t.Errorf("the pods run as %q (token mounted: %v), want the ServiceAccount %s with its token", pod.ServiceAccountName,
			pod.AutomountServiceAccountToken, sa.Metadata.Name)
	}
	if binding.RoleRef.Kind != "Role" || binding.RoleRef.Name != role.Metadata.Name || len(binding.Subjects) != 1 ||
		binding.Subjects[0].Kind != "ServiceAccount" || binding.Subjects[0].Name != sa.Metadata.Name ||
		(binding.Subjects[0].Namespace != "" && binding.Subjects[0].Namespace != namespace) {
		t.Errorf("the RoleBinding binds %+v to %+v, want the ServiceAccount %s/%s to the Role %s", binding.Subjects, binding.RoleRef,
			namespace, sa.Metadata.Name, role.Metadata.Name)
	}
	if pod.Hostname != "" || pod.Subdomain != "" || pod.HostNetwork {
		t.Error("the pod's hostname is not its name: the provider finds its own pod by hostname")
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("enableServiceLinks is on: the Service plugzapi would put PLUGZAPI_* variables into the environment")
	}
	want := providerVerbs(t)
	if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].APIGroups, []string{""}) ||
		!slices.Equal(role.Rules[0].Resources, []string{"pods"}) ||
		!slices.Equal(slices.Sorted(slices.Values(role.Rules[0].Verbs)), want) {
		t.Errorf("the Role grants %+v, want exactly %v on pods, what the provider does", role.Rules, want)
	}

	// A drain ends before Kubernetes kills the pod.
	var preStop time.Duration
	if ps := ctr.Lifecycle.PreStop; ps != nil && ps.Sleep != nil {
		preStop = time.Duration(ps.Sleep.Seconds) * time.Second
	}
	checkShutdownGrace(t, "the Deployment", c, preStop, time.Duration(pod.TerminationGracePeriodSeconds)*time.Second)
}
