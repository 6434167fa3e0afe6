package wasim

// SetBusiness makes the account a WhatsApp Business account (or a personal one again). WhatsApp offers labels and
// a product catalog to business accounts only, and refuses them to personal ones.
func (a *Account) SetBusiness(on bool) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.business = on
}

// Business reports whether the account is a WhatsApp Business account.
func (a *Account) Business() bool {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.business
}
