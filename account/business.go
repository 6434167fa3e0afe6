package account

// Business is what a Client answers about business: labels (tags) and the catalog of a WhatsApp Business account.
type Business interface {
	Labels
}
