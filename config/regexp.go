package config

import "regexp"

// Regexp is a regular expression from the config, compiled while decoding.
// A pattern that does not compile keeps its error, which the validation
// reports naming the field. The zero Regexp is unset and matches any text.
type Regexp struct {
	src string
	re  *regexp.Regexp
	err error
}

// NewRegexp compiles s (Go's RE2 syntax, unanchored); "" is unset.
func NewRegexp(s string) Regexp {
	r := Regexp{src: s}
	if s != "" {
		r.re, r.err = regexp.Compile(s)
	}
	return r
}

// Matches reports whether text matches; an unset Regexp matches any text.
func (r Regexp) Matches(text string) bool { return r.re == nil || r.re.MatchString(text) }

// String is the pattern as written.
func (r Regexp) String() string { return r.src }

// IsZero makes omitempty leave an unset Regexp out of /config.
func (r Regexp) IsZero() bool { return r.src == "" }

// UnmarshalYAML reads the pattern and compiles it.
func (r *Regexp) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	*r = NewRegexp(s)
	return nil
}

// MarshalYAML writes the pattern as written.
func (r Regexp) MarshalYAML() (any, error) { return r.src, nil }
