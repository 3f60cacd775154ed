package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is the flag name counting bytes, written "65536", "64KiB" or
// "16MiB", and at least min.
type byteSize struct {
	name string
	n    *int
	min  int
}

// maxByteSize bounds every size flag: more than 1 GiB of transcripts is a
// typo, and it fits the int of 32-bit platforms.
const maxByteSize = 1 << 30

var byteUnits = []struct {
	suffix string
	mult   int
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

func (b byteSize) Set(s string) error {
	num, mult := s, 1
	for _, u := range byteUnits {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = v, u.mult
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 || n > maxByteSize/mult {
		return fmt.Errorf("--%s: %q is not a size in bytes from 0 to 1GiB (65536, 64KiB, 16MiB)", b.name, s)
	}
	if n*mult < b.min {
		return fmt.Errorf("--%s: %q is below the minimum of %d bytes", b.name, s, b.min)
	}
	*b.n = n * mult
	return nil
}

func (b byteSize) String() string { return strconv.Itoa(*b.n) }
