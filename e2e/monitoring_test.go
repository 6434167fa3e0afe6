package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The monitoring files shipped for operators, relative to this package.
var (
	grafanaDashboard = filepath.Join("..", "deploy", "grafana", "plugzapi.json")
	alertRules       = filepath.Join("..", "deploy", "prometheus", "alerts.yml")
	prometheusConfig = filepath.Join("..", "deploy", "prometheus", "prometheus.yml")
)

// scrapeJob is the job name the dashboard and the alerts select plugzapi by.
const scrapeJob = "plugzapi"

// prometheusOwn are series Prometheus makes itself while scraping: they never appear in /metrics.
var prometheusOwn = map[string]bool{"up": true}

// checkMonitoring checks that the Grafana dashboard, the alert rules and the compose monitoring profile's
// Prometheus config are well formed and name the same scrape job, and that every metric the dashboard's and the
// alerts' PromQL names is in the server's /metrics (scrape returns its body). It polls: a family such as a
// histogram with labels appears only after its first observation.
func checkMonitoring(t *testing.T, scrape func() string) {
	t.Helper()
	var exprs []string
	t.Run("dashboard", func(t *testing.T) { exprs = append(exprs, dashboardExprs(t)...) })
	t.Run("alert rules", func(t *testing.T) { exprs = append(exprs, alertExprs(t)...) })
	t.Run("prometheus config", checkPrometheusConfig)
	t.Run("promtool", func(t *testing.T) { checkWithPromtool(t, exprs) })
	for _, e := range exprs {
		for _, job := range regexp.MustCompile(`job="([^"]*)"`).FindAllStringSubmatch(e, -1) {
			if job[1] != scrapeJob {
				t.Errorf("%s selects job %q, not %q", e, job[1], scrapeJob)
			}
		}
	}
	var names []string
	for _, e := range exprs {
		for _, n := range promQLMetricNames(e) {
			if !prometheusOwn[n] && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) < 10 {
		t.Fatalf("only %d metric names found in the dashboard and the alerts: %v", len(names), names)
	}
	eventually(t, 10*time.Second, "every metric of the dashboard and the alerts in /metrics", func() error {
		exported := exportedNames(scrape())
		var missing []string
		for _, n := range names {
			if !exported[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("not in /metrics: %v", missing)
		}
		return nil
	})
}

// checkPrometheusConfig: the compose monitoring profile's Prometheus scrapes plugzapi under the job name the
// dashboard and the alerts use, and loads the alert rules.
func checkPrometheusConfig(t *testing.T) {
	raw, err := os.ReadFile(prometheusConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("%s: %v", prometheusConfig, err)
	}
	if !slices.Contains(cfg.RuleFiles, filepath.Base(alertRules)) {
		t.Errorf("%s loads rules %v, not %s", prometheusConfig, cfg.RuleFiles, filepath.Base(alertRules))
	}
	if len(cfg.ScrapeConfigs) != 1 || cfg.ScrapeConfigs[0].JobName != scrapeJob {
		t.Errorf("%s scrapes %+v, want the one job %s", prometheusConfig, cfg.ScrapeConfigs, scrapeJob)
	}
}

// checkWithPromtool has Prometheus' own parser check the alert rules and every expression (the checks above do
// not parse PromQL), with the promtool of Debian's prometheus package (scripts/promtool installs it when missing).
func checkWithPromtool(t *testing.T, exprs []string) {
	promtool := filepath.Join("..", "scripts", "promtool")
	// Grafana's interval variables are not PromQL; any duration stands in for them.
	rules := map[string]any{"groups": []map[string]any{{"name": "expressions", "rules": func() []map[string]string {
		var r []map[string]string
		for i, e := range exprs {
			r = append(r, map[string]string{"record": fmt.Sprintf("check:expr%d", i), "expr": strings.ReplaceAll(e, "$__rate_interval", "5m")})
		}
		return r
	}()}}}
	raw, err := yaml.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	exprFile := filepath.Join(t.TempDir(), "expressions.yml")
	if err := os.WriteFile(exprFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", alertRules, exprFile).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, "check", "config", prometheusConfig).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

// dashboardExprs checks the dashboard's shape and returns its queries.
func dashboardExprs(t *testing.T) []string {
	raw, err := os.ReadFile(grafanaDashboard)
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr       string
		Datasource struct{ UID string }
	}
	type panel struct {
		ID         int
		Type       string
		Title      string
		GridPos    struct{ X, Y, W, H int }
		Datasource struct{ UID string }
		Targets    []target
	}
	var d struct {
		Title, UID string
		Templating struct {
			List []struct{ Name, Type, Query string }
		}
		Panels []panel
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", grafanaDashboard, err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("the dashboard has no title or uid")
	}
	// One variable, for the datasource, so that an import asks for nothing but the Prometheus to use.
	if v := d.Templating.List; len(v) != 1 || v[0].Type != "datasource" || v[0].Query != "prometheus" {
		t.Errorf("variables = %+v, want one Prometheus datasource variable", v)
	}
	const ds = "${datasource}"
	var exprs []string
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d is used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v is outside Grafana's 24 columns", p.Title, g)
		}
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || len(p.Targets) == 0 || p.Datasource.UID != ds {
			t.Errorf("panel %d %q: needs a title, queries and the datasource variable", p.ID, p.Title)
		}
		for _, q := range p.Targets {
			if strings.TrimSpace(q.Expr) == "" || q.Datasource.UID != ds {
				t.Errorf("panel %q: a query without an expression or the datasource variable", p.Title)
			}
			exprs = append(exprs, q.Expr)
		}
	}
	// What an operator looks at first must be there.
	used := map[string]bool{}
	for _, e := range exprs {
		for _, n := range promQLMetricNames(e) {
			used[n] = true
		}
	}
	for _, n := range []string{"plugzapi_instances_connected", "plugzapi_queue_depth", "plugzapi_send_latency_seconds_bucket",
		"plugzapi_webhook_backlog", "plugzapi_webhook_failures_total", "plugzapi_webhook_latency_seconds_bucket",
		"plugzapi_event_consumer_lag"} {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
	return exprs
}

// alertExprs checks the alert rules' structure and returns their expressions.
func alertExprs(t *testing.T) []string {
	raw, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string
			Rules []map[string]any
		}
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("%s: %v", alertRules, err)
	}
	if len(file.Groups) == 0 {
		t.Fatalf("%s has no rule groups", alertRules)
	}
	alertName := regexp.MustCompile(`^Plugzapi[A-Z][A-Za-z]+$`)
	known := map[string]bool{"alert": true, "expr": true, "for": true, "labels": true, "annotations": true}
	var exprs []string
	seen := map[string]bool{}
	for _, g := range file.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: needs a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			name, _ := r["alert"].(string)
			if !alertName.MatchString(name) || seen[name] {
				t.Errorf("alert %q: not a PlugzapiCamelCase name, or used twice", name)
			}
			seen[name] = true
			for k := range r {
				if !known[k] {
					t.Errorf("alert %s: unknown field %q", name, k)
				}
			}
			expr, _ := r["expr"].(string)
			if strings.TrimSpace(expr) == "" {
				t.Errorf("alert %s: no expr", name)
			}
			exprs = append(exprs, expr)
			if f, ok := r["for"]; ok {
				if d, err := time.ParseDuration(fmt.Sprint(f)); err != nil || d <= 0 {
					t.Errorf("alert %s: for %v is not a positive duration", name, f)
				}
			}
			labels, _ := r["labels"].(map[string]any)
			if s := labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("alert %s: severity %v, want critical, warning or info", name, s)
			}
			annotations, _ := r["annotations"].(map[string]any)
			for _, a := range []string{"summary", "description"} {
				if s, _ := annotations[a].(string); strings.TrimSpace(s) == "" {
					t.Errorf("alert %s: no %s annotation", name, a)
				}
			}
		}
	}
	return exprs
}

// exportedNames returns the metric names of a text-format exposition: every sample's name (a histogram's
// _bucket, _sum and _count) and every described family.
func exportedNames(exposition string) map[string]bool {
	names := map[string]bool{}
	for line := range strings.SplitSeq(exposition, "\n") {
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, _, _ := strings.Cut(rest, " ")
			names[name] = true
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end < 0 {
			end = len(line)
		}
		names[line[:end]] = true
	}
	return names
}

// promQLKeywords are PromQL's words that are not metric names when not followed by a parenthesis: operators,
// modifiers, number words, and the aggregations (which may come before their by or without clause).
var promQLKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true, "atan2": true, "sum": true, "min": true, "max": true, "avg": true, "group": true,
	"stddev": true, "stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true,
	"quantile": true, "limitk": true, "limit_ratio": true}

// promQLGrouping are the words followed by a parenthesised list of label names.
var promQLGrouping = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true}

// promQLMetricNames returns the metric names a PromQL expression selects: identifiers outside strings, label
// matchers ({…}), ranges ([…]) and grouping lists, that are neither keywords nor function calls.
func promQLMetricNames(expr string) []string {
	var names []string
	isIdent := func(c byte, first bool) bool {
		return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
	}
	// skip returns the index after the bracket closing the one at i, passing over strings.
	skip := func(i int, closing byte) int {
		for i++; i < len(expr) && expr[i] != closing; i++ {
			if q := expr[i]; q == '"' || q == '\'' || q == '`' {
				for i++; i < len(expr) && expr[i] != q; i++ {
					if expr[i] == '\\' && q != '`' {
						i++
					}
				}
			}
		}
		return i + 1
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skip(i, c)
		case c == '{':
			i = skip(i, '}')
		case c == '[':
			i = skip(i, ']')
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i], false) || expr[i] == '.') {
				i++
			}
		case isIdent(c, true):
			start := i
			for i < len(expr) && isIdent(expr[i], false) {
				i++
			}
			word := expr[start:i]
			next := i
			for next < len(expr) && strings.ContainsRune(" \t\n", rune(expr[next])) {
				next++
			}
			call := next < len(expr) && expr[next] == '('
			switch {
			case promQLGrouping[word] && call:
				i = skip(next, ')')
			case call || promQLKeywords[word]:
			default:
				names = append(names, word)
			}
		default:
			i++
		}
	}
	return names
}

func TestPromQLMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up{job="plugzapi"} == 0`, []string{"up"}},
		{`histogram_quantile(0.95, sum by (le, callback) (rate(a_bucket{x="}[y"}[$__rate_interval])))`, []string{"a_bucket"}},
		{"sum without (instance) (b) > 0\n  and on() group_left(c) sum(increase(d[10m]) + e offset 5m) == bool 1e3",
			[]string{"b", "d", "e"}},
		{`max by (group) (f:recorded) / ignoring(x) g > inf`, []string{"f:recorded", "g"}},
	} {
		if got := promQLMetricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("promQLMetricNames(%q) = %v, want %v", tc.expr, got, tc.want)
		}
	}
}
