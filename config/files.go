package config

import (
	"crypto/tls"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	promconfig "github.com/prometheus/common/config"
)

// Size limits of the files a config names. A path typed wrong (/dev/zero,
// a log file, a disk image) must cost an error, not the process's memory.
const (
	// MaxSecretFileSize bounds password_file: a password or token is a few hundred bytes.
	MaxSecretFileSize = 64 << 10
	// MaxTLSFileSize bounds ca_file, cert_file and key_file: the whole Mozilla
	// CA bundle is about 230 KB.
	MaxTLSFileSize = 8 << 20
	// MaxConfigFileSize bounds --config.file.
	MaxConfigFileSize = 16 << 20
)

// ReadFile reads a regular file of at most limit bytes. Anything else is an
// error that names the path: a directory, a FIFO (os.ReadFile would wait
// forever for a writer), a device (/dev/zero never ends), a file over the limit.
func ReadFile(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(path, fi, limit); err != nil {
		return nil, err
	}
	// The path may have been replaced since the Stat: O_NONBLOCK keeps open
	// from waiting for a FIFO's writer, and the Stat of the open file decides.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := checkRegular(path, fi, limit); err != nil {
		return nil, err
	}
	// LimitReader: a file that grows while it is read is still bounded.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than the limit of %d bytes", path, limit)
	}
	return data, nil
}

func checkRegular(path string, fi fs.FileInfo, limit int64) error {
	mode := fi.Mode()
	switch {
	case mode.IsRegular():
		if fi.Size() > limit {
			return fmt.Errorf("%s is larger than the limit of %d bytes (%d bytes)", path, limit, fi.Size())
		}
		return nil
	case mode.IsDir():
		return fmt.Errorf("%s is a directory, not a file", path)
	}
	kind := "not a plain file"
	switch {
	case mode&fs.ModeNamedPipe != 0:
		kind = "a FIFO"
	case mode&fs.ModeCharDevice != 0:
		kind = "a character device"
	case mode&fs.ModeDevice != 0:
		kind = "a block device"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	}
	return fmt.Errorf("%s is not a regular file (%s)", path, kind)
}

// newClientTLS builds a module's TLS client config. promconfig reads
// ca_file, cert_file and key_file with os.ReadFile, so the files are read
// here with ReadFile and handed to it as inline PEM; the errors name the field.
func newClientTLS(c promconfig.TLSConfig) (*tls.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("tls_config: %w", err)
	}
	inline, read, err := inlineTLSFiles(c)
	if err != nil {
		return nil, err
	}
	cfg, err := promconfig.NewTLSConfig(&inline)
	if err != nil {
		if len(read) > 0 {
			return nil, fmt.Errorf("tls_config: %w (read from %s)", err, strings.Join(read, ", "))
		}
		return nil, fmt.Errorf("tls_config: %w", err)
	}
	if c.CertFile != "" || c.KeyFile != "" {
		// Like promconfig, read the client certificate at each handshake that
		// asks for one, so a renewed certificate needs no reload.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			in, _, err := inlineTLSFiles(c)
			if err != nil {
				return nil, err
			}
			cert, err := tls.X509KeyPair([]byte(in.Cert), []byte(in.Key))
			if err != nil {
				return nil, err
			}
			return &cert, nil
		}
	}
	return cfg, nil
}

// inlineTLSFiles returns c with each file's content in place of its path,
// and which fields it read ("ca_file /etc/ca.pem").
func inlineTLSFiles(c promconfig.TLSConfig) (promconfig.TLSConfig, []string, error) {
	var read []string
	for _, f := range []struct {
		field      string
		path, text *string
	}{
		{"ca_file", &c.CAFile, &c.CA},
		{"cert_file", &c.CertFile, &c.Cert},
		{"key_file", &c.KeyFile, (*string)(&c.Key)},
	} {
		if *f.path == "" {
			continue
		}
		data, err := ReadFile(*f.path, MaxTLSFileSize)
		if err != nil {
			return c, nil, fmt.Errorf("tls_config.%s: %w", f.field, err)
		}
		read = append(read, f.field+" "+*f.path)
		*f.text, *f.path = string(data), ""
	}
	return c, read, nil
}
