package libct

import "testing"

func TestFilterPsOutput(t *testing.T) {
	out := "UID PID PPID CMD\nroot 1 0 init\nroot 42 1 sleep\nroot 43 1 other\n"
	got, err := filterPsOutput(out, []int{42})
	if err != nil {
		t.Fatal(err)
	}
	if got != "UID PID PPID CMD\nroot 42 1 sleep\n" {
		t.Fatalf("got %q", got)
	}
	if _, err := filterPsOutput("UID CMD\n", nil); err == nil {
		t.Fatal("missing PID column accepted")
	}
}
