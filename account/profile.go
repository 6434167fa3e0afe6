package account

// Profile is what a Client answers about profile: the account's own name, picture and description.
type Profile interface {
}
