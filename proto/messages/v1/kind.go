package messagesv1

// PollSecretLen is the length of a poll's message secret (Poll.secret).
const PollSecretLen = 32

// KindOf is the kind of a content: the number of its case of Content.kind (see Kind), or KIND_UNSPECIFIED for
// nil or an empty content.
func KindOf(c *Content) Kind {
	if c == nil {
		return Kind_KIND_UNSPECIFIED
	}
	m := c.ProtoReflect()
	f := m.WhichOneof(m.Descriptor().Oneofs().ByName("kind"))
	if f == nil {
		return Kind_KIND_UNSPECIFIED
	}
	return Kind(f.Number())
}
