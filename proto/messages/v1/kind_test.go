package messagesv1

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Every case of Content.kind has the Kind of its number and name, and every Kind but UNSPECIFIED and OTHER has
// its case: KindOf relies on it.
func TestKindsAreTheCasesOfContent(t *testing.T) {
	cases := (&Content{}).ProtoReflect().Descriptor().Oneofs().ByName("kind").Fields()
	for i := range cases.Len() {
		f := cases.Get(i)
		want := "KIND_" + strings.ToUpper(string(f.Name()))
		if got := Kind(f.Number()).String(); got != want {
			t.Errorf("case %s is number %d, which is Kind %s; want %s", f.Name(), f.Number(), got, want)
		}
	}
	kinds := Kind(0).Descriptor().Values()
	for i := range kinds.Len() {
		v := kinds.Get(i)
		if v.Number() == protoreflect.EnumNumber(Kind_KIND_UNSPECIFIED) || v.Number() == protoreflect.EnumNumber(Kind_KIND_OTHER) {
			continue
		}
		if cases.ByNumber(protoreflect.FieldNumber(v.Number())) == nil {
			t.Errorf("Kind %s has no case %d in Content.kind", v.Name(), v.Number())
		}
	}
	if got := KindOf(&Content{Kind: &Content_Text{Text: &Text{Body: "hi"}}}); got != Kind_KIND_TEXT {
		t.Errorf("KindOf(text) = %s", got)
	}
	if got := KindOf(&Content{}); got != Kind_KIND_UNSPECIFIED {
		t.Errorf("KindOf(empty) = %s", got)
	}
}
