package libct

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestCriuQuoteFilter(t *testing.T) {
	var buf bytes.Buffer
	l := logrus.New()
	l.SetOutput(&buf)
	l.SetFormatter(&criuQuoteFilter{next: &logrus.JSONFormatter{}})
	l.Warn("before")
	l.Warn(`--- Quoting "/stage/dump.log"`)
	l.Warn("12:(00.1) Error (criu/x.c:1): boom")
	l.Warn("---")
	l.Error("checkpoint c: boom")
	out := buf.String()
	if strings.Contains(out, "Quoting") || strings.Contains(out, "criu/x.c") {
		t.Fatalf("quote block not dropped:\n%s", out)
	}
	if !strings.Contains(out, "before") || !strings.Contains(out, "checkpoint c: boom") {
		t.Fatalf("other records dropped:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Fatalf("%d lines, want 2:\n%s", n, out)
	}
}
