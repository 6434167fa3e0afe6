package account

// Groups is what a Client answers about groups: creating and running groups, their participants, settings and invite links.
type Groups interface {
}
