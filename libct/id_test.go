package libct

import (
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "abc-123", "A_b+c.d", strings.Repeat("x", MaxIDLength), ".hidden"} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	for id, want := range map[string]string{
		"":                                 "empty",
		".":                                "must not be",
		"..":                               "must not be",
		"a/b":                              `'/'`,
		"../x":                             `'/'`,
		"a\x00b":                           `'\x00'`,
		"a b":                              `' '`,
		strings.Repeat("x", MaxIDLength+1): "longer than",
	} {
		err := ValidateID(id)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateID(%q) = %v, want error containing %q", id, err, want)
		}
	}
}
