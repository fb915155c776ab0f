package libct

import (
	"strings"
	"testing"

	"github.com/rt-runtime/rt/libct/ckpt"
)

func TestPreflightJudgeAndErr(t *testing.T) {
	p := &Preflight{ID: "c1", Findings: []Finding{
		{Pid: 7, Comm: "nc", What: "has a TCP connection", Option: "tcp-established"},
		{Pid: 8, Comm: "sh", What: "has the deleted file /tmp/big open", Option: "ghost-limit"},
		{Pid: 9, Comm: "sleep", What: "holds a FLOCK lock", Option: "file-locks"},
		{Pid: 9, Comm: "sleep", What: "shares a pipe", Note: true},
	}}
	var given ckpt.Options
	_ = given.Set(ckpt.Lookup("file-locks"), true)
	p.judge(given, map[string]string{ckpt.AnnotationPrefix + "file-locks": "true"})
	if p.Verdict != VerdictWithFlags || strings.Join(p.Flags, " ") != "--tcp-established --ghost-limit 1G" {
		t.Fatalf("verdict %q, flags %q", p.Verdict, p.Flags)
	}
	if len(p.Covered) != 1 || !strings.Contains(p.Covered[0], "annotation "+ckpt.AnnotationPrefix+"file-locks") {
		t.Fatalf("covered %q", p.Covered)
	}
	msg := p.Err().Error()
	for _, want := range []string{
		"would fail without --tcp-established --ghost-limit 1G",
		"pid 7 (nc): has a TCP connection: needs --tcp-established",
		"annotation " + ckpt.AnnotationPrefix + "ghost-limit=1G on the container, or \"ghostLimit\": \"1G\"",
		"\"tcpEstablished\": true under \"checkpoint\"",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "FLOCK") {
		t.Errorf("a covered need is listed as missing:\n%s", msg)
	}

	p = &Preflight{ID: "c2", Findings: []Finding{{Pid: 1, Comm: "x", What: "has /dev/fuse open", Cannot: true, Why: "no"}}}
	p.judge(ckpt.Options{}, nil)
	if p.Verdict != VerdictCannot || !strings.Contains(p.Err().Error(), "CRIU cannot checkpoint it") {
		t.Fatalf("cannot: %q %v", p.Verdict, p.Err())
	}
	p = &Preflight{ID: "c3"}
	p.judge(ckpt.Options{}, nil)
	if p.Verdict != VerdictOK || p.Err() != nil {
		t.Fatalf("ok: %q %v", p.Verdict, p.Err())
	}
}
