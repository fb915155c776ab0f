package libct

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// LogOptions are the global logging flags, which follow runc's because
// engines depend on them: containerd's shim passes --log <bundle>/log.json
// --log-format json and decodes the file as a stream of JSON objects.
type LogOptions struct {
	File   string // --log; empty means stderr
	Format string // --log-format: "text" or "json"
	Debug  bool   // --debug
}

// ConfigureLogging sets up logrus for the whole process. It is also used by
// "rt init" children indirectly: libcontainer forwards their log records to
// the parent, which writes them through the logger configured here.
func ConfigureLogging(o LogOptions) error {
	if o.Debug {
		logrus.SetLevel(logrus.DebugLevel)
		logrus.SetReportCaller(true)
		_, self, _, _ := runtime.Caller(0)
		trim := filepath.Dir(filepath.Dir(self)) + "/"
		logrus.SetFormatter(&logrus.TextFormatter{
			CallerPrettyfier: func(f *runtime.Frame) (string, string) {
				return strings.TrimPrefix(f.Function, trim) + "()",
					strings.TrimPrefix(f.File, trim) + ":" + strconv.Itoa(f.Line)
			},
		})
	}
	switch o.Format {
	case "", "text":
	case "json":
		// RFC3339 with nanoseconds still parses as RFC3339 (Go's
		// time.Parse accepts fractional seconds), which is what the shim
		// requires; the fraction keeps records of one call ordered.
		logrus.SetFormatter(&logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano})
	default:
		return fmt.Errorf("invalid --log-format %q: use 'text' or 'json'", o.Format)
	}
	logrus.SetFormatter(&criuQuoteFilter{next: logrus.StandardLogger().Formatter})
	if o.File != "" {
		f, err := os.OpenFile(o.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("cannot open --log file: %w", err)
		}
		logrus.SetOutput(f)
	}
	return nil
}

// LogToStderr reports whether log records already go to stderr, in which
// case fatal errors must not be printed twice.
func LogToStderr() bool {
	f, ok := logrus.StandardLogger().Out.(*os.File)
	return ok && f.Fd() == os.Stderr.Fd()
}

// criuQuoteFilter drops the block of warnings in which libcontainer quotes
// a CRIU log after a failure ("--- Quoting <log>" ... "---"): rt's own
// error quotes the same lines, with the path where the log is kept (the
// quoted path may be a staging directory that rt removes). With --debug
// the block is kept.
type criuQuoteFilter struct {
	next    logrus.Formatter
	quoting bool
}

func (f *criuQuoteFilter) Format(e *logrus.Entry) ([]byte, error) {
	if e.Level == logrus.WarnLevel && logrus.GetLevel() < logrus.DebugLevel {
		switch {
		case strings.HasPrefix(e.Message, "--- Quoting "):
			f.quoting = true
			return nil, nil
		case f.quoting && e.Message == "---":
			f.quoting = false
			return nil, nil
		case f.quoting:
			return nil, nil
		}
	}
	return f.next.Format(e)
}
