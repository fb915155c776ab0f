package libct

import (
	"reflect"
	"testing"
)

func TestParseSubCgroups(t *testing.T) {
	got, err := ParseSubCgroups([]string{"cpu,memory:sub", "pids:p"})
	want := map[string]string{"cpu": "sub", "memory": "sub", "pids": "p"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, %v", got, err)
	}
	got, err = ParseSubCgroups([]string{"only"})
	if err != nil || got[""] != "only" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range [][]string{{"a", "b"}, {":x"}, {"cpu:a", "cpu:b"}} {
		if _, err := ParseSubCgroups(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
