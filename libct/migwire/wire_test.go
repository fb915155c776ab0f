package migwire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestMessagesAndStreams(t *testing.T) {
	var buf bytes.Buffer
	c := New(nil, &buf)
	big := bytes.Repeat([]byte("0123456789abcdef"), chunk/16*2+3) // more than two chunks
	if err := c.Send(Message{Op: "round", N: 2}); err != nil {
		t.Fatal(err)
	}
	if err := c.SendStream(func(w io.Writer) error { _, err := w.Write(big); return err }); err != nil {
		t.Fatal(err)
	}
	if err := c.SendStream(func(io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(Message{Op: "error", Error: "disk full"}); err != nil {
		t.Fatal(err)
	}

	r := New(&buf, io.Discard)
	m, err := r.Expect("round")
	if err != nil || m.N != 2 {
		t.Fatalf("Expect(round) = %+v, %v", m, err)
	}
	got, err := io.ReadAll(r.RecvStream())
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("stream: %d bytes (want %d), %v", len(got), len(big), err)
	}
	got, err = io.ReadAll(r.RecvStream())
	if err != nil || len(got) != 0 {
		t.Fatalf("empty stream: %q, %v", got, err)
	}
	_, err = r.Recv()
	var re *RemoteError
	if !errors.As(err, &re) || re.Msg != "disk full" {
		t.Fatalf("error message: %v", err)
	}
	if _, err := r.Recv(); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

// A connection cut inside a stream must never look like its end.
func TestCutStreamIsAnError(t *testing.T) {
	var buf bytes.Buffer
	c := New(nil, &buf)
	_ = c.SendStream(func(w io.Writer) error { _, err := w.Write(make([]byte, chunk+10)); return err })
	whole := buf.Bytes()
	for _, cut := range []int{len(whole) - 5, len(whole) - 1, chunk / 2, 3} {
		r := New(bytes.NewReader(whole[:cut]), io.Discard)
		if _, err := io.ReadAll(r.RecvStream()); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d of %d: %v, want io.ErrUnexpectedEOF", cut, len(whole), err)
		}
	}
	// A message cut in its header or body.
	buf.Reset()
	_ = c.Send(Message{Op: "commit"})
	for _, cut := range []int{2, buf.Len() - 1} {
		r := New(bytes.NewReader(buf.Bytes()[:cut]), io.Discard)
		if _, err := r.Recv(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("message cut at %d: %v", cut, err)
		}
	}
}

func TestFailedWriterEndsNoStream(t *testing.T) {
	var buf bytes.Buffer
	c := New(nil, &buf)
	err := c.SendStream(func(w io.Writer) error {
		_, _ = w.Write([]byte("partial"))
		return errors.New("tar failed")
	})
	if err == nil {
		t.Fatal("SendStream returned no error")
	}
	_ = c.w.Flush()
	if bytes.Contains(buf.Bytes(), []byte{KindEnd, 0, 0, 0, 0}) {
		t.Fatal("a failed stream was ended")
	}
}

func TestRejectsForeignInput(t *testing.T) {
	for name, in := range map[string]string{
		"unknown kind": "X\x00\x00\x00\x00",
		"huge frame":   "J\xff\xff\xff\xff",
		"not json":     "J\x00\x00\x00\x03abc",
	} {
		r := New(strings.NewReader(in), io.Discard)
		if _, err := r.Recv(); err == nil || errors.Is(err, io.EOF) {
			t.Errorf("%s: %v", name, err)
		}
	}
	r := New(strings.NewReader("D\x00\x00\x00\x01x"), io.Discard)
	if _, err := r.Recv(); err == nil || !strings.Contains(err.Error(), "where a message was expected") {
		t.Errorf("data where a message belongs: %v", err)
	}
}

// Channel data interleaved with messages goes to the sink as it comes,
// while the messages wait for Recv, in order.
func TestChannelAndDemux(t *testing.T) {
	var buf bytes.Buffer
	w := New(nil, &buf)
	if err := w.SendChannel([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	if err := w.Send(Message{Op: "one"}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{7}, chunk+5) // two frames
	if err := w.SendChannel(big); err != nil {
		t.Fatal(err)
	}
	if err := w.Send(Message{Op: "two"}); err != nil {
		t.Fatal(err)
	}
	var sink bytes.Buffer
	r := New(&buf, io.Discard)
	r.OpenChannel(&sink)
	r.Demux()
	for _, op := range []string{"one", "two"} {
		if _, err := r.Expect(op); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last message: %v, want EOF", err)
	}
	if want := append([]byte("ab"), big...); !bytes.Equal(sink.Bytes(), want) {
		t.Fatalf("the sink got %d bytes, want %d", sink.Len(), len(want))
	}
	// Channel data with no channel open is an error, not dropped data.
	buf.Reset()
	_ = w.SendChannel([]byte("x"))
	if _, err := New(&buf, io.Discard).Recv(); err == nil || !strings.Contains(err.Error(), "no channel") {
		t.Fatalf("channel data without a channel: %v", err)
	}
}
