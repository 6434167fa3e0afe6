package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/k8s"

	"github.com/plugzapi/plugzapi/actors"
)

// ClusterConfig makes the server one node of a cluster (README "Running a cluster"). Without a provider it runs
// alone, as the embedded default does.
type ClusterConfig struct {
	// ClusterProvider keeps the membership: "static" (a fixed list of peers: compose, bare metal) or
	// "kubernetes" (the pods of the deployment). Empty: no cluster.
	ClusterProvider string
	// ClusterName: nodes with the same name form one cluster.
	ClusterName string
	// ClusterAddr is where this node listens for the other nodes (host:port).
	ClusterAddr string
	// ClusterAdvertise is the host the other nodes reach this node at, when ClusterAddr's host is not it.
	ClusterAdvertise string
	// ClusterMembershipPort is where a static node answers its peers' health checks.
	ClusterMembershipPort int
	// ClusterPeers are the membership endpoints (host:port) of every node of a static cluster, this one included.
	ClusterPeers []string
	// ClusterURL is this node's API as the other nodes reach it: they forward requests for its instances there.
	ClusterURL string
	// ClusterSecret is shared by all nodes: forwarded requests carry it.
	ClusterSecret string
	// ClusterLeaseTTL is how long an instance's lease lasts unless renewed: how long a dead node's instances wait
	// before another node runs them.
	ClusterLeaseTTL time.Duration
}

func defaultClusterConfig() ClusterConfig {
	return ClusterConfig{ClusterName: "plugzapi", ClusterAddr: "0.0.0.0:7600", ClusterMembershipPort: 7601,
		ClusterLeaseTTL: actors.DefaultConfig().LeaseTTL}
}

func (c *ClusterConfig) clusterSettings() []setting {
	return []setting{
		{"cluster-provider", "PLUGZAPI_CLUSTER_PROVIDER", "run as a node of a cluster on Postgres: static (PLUGZAPI_CLUSTER_PEERS) or kubernetes; empty runs alone",
			str(&c.ClusterProvider), func() string { return c.ClusterProvider }},
		{"cluster-name", "PLUGZAPI_CLUSTER_NAME", "nodes with the same cluster name form one cluster",
			str(&c.ClusterName), func() string { return c.ClusterName }},
		{"cluster-addr", "PLUGZAPI_CLUSTER_ADDR", "host:port this node listens on for the other nodes",
			str(&c.ClusterAddr), func() string { return c.ClusterAddr }},
		{"cluster-advertise", "PLUGZAPI_CLUSTER_ADVERTISE", "host the other nodes reach this node at (default: the host of the cluster address)",
			str(&c.ClusterAdvertise), func() string { return c.ClusterAdvertise }},
		{"cluster-membership-port", "PLUGZAPI_CLUSTER_MEMBERSHIP_PORT", "port a static node answers its peers' health checks on",
			integer(&c.ClusterMembershipPort), func() string { return strconv.Itoa(c.ClusterMembershipPort) }},
		{"cluster-peers", "PLUGZAPI_CLUSTER_PEERS", "static cluster: host:membership-port of every node, this one included, comma-separated",
			list(&c.ClusterPeers), func() string { return strings.Join(c.ClusterPeers, ",") }},
		{"cluster-url", "PLUGZAPI_CLUSTER_URL", "this node's API as the other nodes reach it (http://host:port): they forward requests for its instances there",
			str(&c.ClusterURL), func() string { return c.ClusterURL }},
		{"cluster-lease-ttl", "PLUGZAPI_CLUSTER_LEASE_TTL", "how long an instance's lease lasts unless renewed (every third of it): a dead node's instances run elsewhere after at most this",
			duration(&c.ClusterLeaseTTL), func() string { return c.ClusterLeaseTTL.String() }},
		{"cluster-secret", "PLUGZAPI_CLUSTER_SECRET", "secret shared by the nodes; a request forwarded between nodes carries it",
			str(&c.ClusterSecret), func() string { return redact(c.ClusterSecret) }},
	}
}

func (c ClusterConfig) validate(databaseURL string) error {
	switch c.ClusterProvider {
	case "":
		return nil
	case "static", "kubernetes":
	default:
		return fmt.Errorf("cluster provider %q: want static or kubernetes", c.ClusterProvider)
	}
	var errs []error
	if databaseURL == "" {
		errs = append(errs, errors.New("a cluster keeps its state in Postgres: set PLUGZAPI_DATABASE_URL"))
	}
	if _, _, err := c.clusterHostPort(); err != nil {
		errs = append(errs, err)
	}
	if u, err := url.Parse(c.ClusterURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("the cluster URL must be this node's API as the others reach it, like http://10.0.0.5:8080"))
	}
	if len(c.ClusterSecret) < 16 {
		errs = append(errs, errors.New("the cluster secret must be at least 16 characters"))
	}
	if c.ClusterProvider == "static" && len(c.ClusterPeers) == 0 {
		errs = append(errs, errors.New("a static cluster needs its peers (PLUGZAPI_CLUSTER_PEERS)"))
	}
	return errors.Join(errs...)
}

func (c ClusterConfig) clusterHostPort() (string, int, error) {
	host, p, err := net.SplitHostPort(c.ClusterAddr)
	if err != nil {
		return "", 0, fmt.Errorf("cluster address %q: %w", c.ClusterAddr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("cluster address %q: bad port", c.ClusterAddr)
	}
	return host, port, nil
}

// actorsCluster is the actors' view of the settings, with the membership provider they name; nil without a
// cluster.
func (c ClusterConfig) actorsCluster() (*actors.ClusterConfig, error) {
	if c.ClusterProvider == "" {
		return nil, nil
	}
	host, port, err := c.clusterHostPort()
	if err != nil {
		return nil, err
	}
	var provider cluster.ClusterProvider
	switch c.ClusterProvider {
	case "static":
		// A peer missing its health checks for refresh is taken out of the membership.
		provider = automanaged.NewWithConfig(2*time.Second, c.ClusterMembershipPort, c.ClusterPeers...)
	case "kubernetes":
		if provider, err = k8s.New(); err != nil {
			return nil, fmt.Errorf("kubernetes cluster provider: %w", err)
		}
	}
	return &actors.ClusterConfig{Name: c.ClusterName, Host: host, Port: port, AdvertiseHost: c.ClusterAdvertise,
		URL: strings.TrimRight(c.ClusterURL, "/"), Provider: provider}, nil
}
