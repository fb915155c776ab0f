// Package migwire is the framing rt migrate and rt migrate-receive speak
// over one ssh session: control messages (JSON) and data streams (images,
// archives) interleaved on one byte stream in each direction.
//
// A frame is one kind byte, a big-endian uint32 payload length, and the
// payload. Kinds: 'J' a JSON message; 'D' a chunk of the current data
// stream; 'E' the end of that stream. A stream is sent as any number of
// 'D' frames and one 'E', so the receiver knows where it ends without
// knowing its size in advance, and a connection cut mid-stream is an
// error, never a short stream taken for a whole one. 'C' is a chunk of the
// byte channel (rt migrate --lazy's page-server traffic), which flows both
// ways between messages once Demux has started.
package migwire

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

const (
	KindJSON = 'J'
	KindData = 'D'
	KindEnd  = 'E'
	KindChan = 'C'

	// MaxFrame bounds a frame's payload, so that a corrupt length cannot
	// make the reader allocate gigabytes.
	MaxFrame = 4 << 20
	// chunk is the size of the data frames written.
	chunk = 1 << 20
)

// Message is one control message. Op says what it is; the other fields
// are set as the op needs them.
type Message struct {
	Op    string          `json:"op"`
	Error string          `json:"error,omitempty"`
	N     int             `json:"n,omitempty"`   // a pre-copy round's number
	Pid   int             `json:"pid,omitempty"` // the restored container's init
	Data  json.RawMessage `json:"data,omitempty"`
}

// Conn reads frames from r and writes them to w. Writes may come from
// several goroutines; reads from one, or from Demux's.
type Conn struct {
	r   *bufio.Reader
	wmu sync.Mutex
	w   *bufio.Writer
	// The channel's sink, and what writing to it failed with: the rest
	// of the channel is dropped, messages still flow.
	sink    io.Writer
	sinkErr error
	msgs    chan received // set by Demux
}

type received struct {
	m   Message
	err error
}

func New(r io.Reader, w io.Writer) *Conn {
	return &Conn{r: bufio.NewReaderSize(r, 64<<10), w: bufio.NewWriterSize(w, 64<<10)}
}

func (c *Conn) writeFrame(kind byte, payload []byte) error {
	var hdr [5]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := c.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := c.w.Write(payload)
	return err
}

// readFrame reads the next frame that is not the channel's: those are
// written to the sink as they come.
func (c *Conn) readFrame() (byte, []byte, error) {
	for {
		kind, p, err := c.readOne()
		if err != nil || kind != KindChan {
			return kind, p, err
		}
		if c.sink == nil {
			return 0, nil, errors.New("migration stream: channel data, but no channel is open")
		}
		if c.sinkErr == nil {
			_, c.sinkErr = c.sink.Write(p)
		}
	}
}

// readOne reads one frame. A clean EOF before its first byte is io.EOF;
// anywhere else it is io.ErrUnexpectedEOF.
func (c *Conn) readOne() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(c.r, hdr[:1]); err != nil {
		return 0, nil, err
	}
	if _, err := io.ReadFull(c.r, hdr[1:]); err != nil {
		return 0, nil, unexpected(err)
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxFrame {
		return 0, nil, fmt.Errorf("migration stream: a frame of %d bytes (at most %d): not rt migrate's protocol", n, MaxFrame)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.r, p); err != nil {
		return 0, nil, unexpected(err)
	}
	switch hdr[0] {
	case KindJSON, KindData, KindEnd, KindChan:
	default:
		return 0, nil, fmt.Errorf("migration stream: unknown frame kind %q: not rt migrate's protocol", hdr[0])
	}
	return hdr[0], p, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Send writes m and flushes it.
func (c *Conn) Send(m Message) error {
	p, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeFrame(KindJSON, p); err != nil {
		return err
	}
	return c.w.Flush()
}

// Recv reads the next message. A message with Op "error" is returned as
// an error holding its text.
func (c *Conn) Recv() (Message, error) {
	if c.msgs != nil {
		r, ok := <-c.msgs
		if !ok {
			return Message{}, io.EOF
		}
		return r.m, r.err
	}
	return c.recv()
}

func (c *Conn) recv() (Message, error) {
	kind, p, err := c.readFrame()
	if err != nil {
		return Message{}, err
	}
	if kind != KindJSON {
		return Message{}, fmt.Errorf("migration stream: a %q frame where a message was expected", kind)
	}
	var m Message
	if err := json.Unmarshal(p, &m); err != nil {
		return Message{}, fmt.Errorf("migration stream: bad message: %w", err)
	}
	if m.Op == "error" {
		return m, &RemoteError{Msg: m.Error}
	}
	return m, nil
}

// Expect reads the next message and fails unless its Op is op.
func (c *Conn) Expect(op string) (Message, error) {
	m, err := c.Recv()
	if err != nil {
		return m, err
	}
	if m.Op != op {
		return m, fmt.Errorf("migration stream: got %q where %q was expected", m.Op, op)
	}
	return m, nil
}

// RemoteError is an error the other side reported.
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return e.Msg }

// SendStream sends what write writes as one data stream. If write fails,
// the stream is not ended: the caller must drop the connection, so the
// other side never takes a partial stream for a whole one.
func (c *Conn) SendStream(write func(io.Writer) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	sw := &streamWriter{c: c, buf: make([]byte, 0, chunk)}
	if err := write(sw); err != nil {
		return err
	}
	if err := sw.flush(); err != nil {
		return err
	}
	if err := c.writeFrame(KindEnd, nil); err != nil {
		return err
	}
	return c.w.Flush()
}

type streamWriter struct {
	c   *Conn
	buf []byte
}

func (s *streamWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(cap(s.buf)-len(s.buf), len(p))
		s.buf = append(s.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(s.buf) == cap(s.buf) {
			if err := s.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (s *streamWriter) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	err := s.c.writeFrame(KindData, s.buf)
	s.buf = s.buf[:0]
	return err
}

// RecvStream returns a reader of the next data stream; it returns io.EOF
// at the stream's end, and io.ErrUnexpectedEOF if the connection ends
// before. The stream must be read to its end before the next Recv.
func (c *Conn) RecvStream() io.Reader { return &streamReader{c: c} }

type streamReader struct {
	c    *Conn
	cur  []byte
	done bool
}

func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.done {
			return 0, io.EOF
		}
		kind, payload, err := s.c.readFrame()
		if err != nil {
			return 0, unexpected(err)
		}
		switch kind {
		case KindData:
			s.cur = payload
		case KindEnd:
			s.done = true
		default:
			return 0, fmt.Errorf("migration stream: a message in the middle of a data stream")
		}
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// OpenChannel makes sink the destination of the channel's data from the
// other side. Call it before the other side may send any, and before
// Demux.
func (c *Conn) OpenChannel(sink io.Writer) { c.sink = sink }

// Demux starts a goroutine that reads the wire from now on: channel data
// goes to the sink as it arrives, however long the reader of messages
// waits, and Recv takes messages in order. Data streams cannot be
// received after Demux. The goroutine ends at the wire's end or at a
// read error, which Recv then returns.
func (c *Conn) Demux() {
	msgs := make(chan received, 16)
	go func() {
		defer close(msgs)
		for {
			m, err := c.recv()
			var re *RemoteError
			if err != nil && !errors.As(err, &re) {
				msgs <- received{err: err}
				return
			}
			msgs <- received{m, err}
		}
	}()
	c.msgs = msgs
}

// SendChannel writes p as channel data and flushes it: the other side's
// sink gets it at once.
func (c *Conn) SendChannel(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for len(p) > 0 {
		n := min(len(p), chunk)
		if err := c.writeFrame(KindChan, p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return c.w.Flush()
}

// Drain reads the rest of stream r (as returned by RecvStream), so that
// the connection is at the next frame.
func Drain(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
